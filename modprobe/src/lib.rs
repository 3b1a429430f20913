//! Kernel module loading: modules.* parsers, dependency-ordered load plans, parallel finit_module loader, AOSP-style modprobe CLI
