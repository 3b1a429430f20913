//! SELinux for the guest boot: file_contexts with libselinux semantics, labelling, policy load
