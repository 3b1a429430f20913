//! Host tool: build a signed, dm-verity-protected microdroid-vendor image, its GPT disk and the guest device tree
