//! Reproducible newc cpio initramfs builder
