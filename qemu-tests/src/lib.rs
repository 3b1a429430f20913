//! QEMU boot harness: real Debian kernels, guest artifacts, device trees and console assertions
