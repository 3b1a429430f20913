//! Host tool library: build a signed, dm-verity-protected `microdroid-vendor` image
//! (deterministic ext4 + avbtool-style hashtree footer), put images on a GPT disk, and
//! make the guest's device tree with the `/avf` digest and strict-boot flag.

mod bench;
pub mod dtb;
mod error;
pub mod explain;
mod ext4;
mod gpt;
mod image;

pub use bench::{bench_hashtree, bench_hashtree_with};
pub use error::{Error, Result};
pub use ext4::{
    build_ext4, build_ext4_labelled, extract, Extracted, Labels, DEFAULT_EPOCH, FS_UUID,
};
pub use gpt::{make_gpt_disk, PartitionPlacement, ALIGNMENT, LINUX_FS_TYPE};
pub use image::{
    build_vendor_image, read_vendor_image, VendorImageInfo, VendorImageOptions,
    DEFAULT_PARTITION_NAME,
};
