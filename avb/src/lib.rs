//! AVB (Android Verified Boot) vbmeta/footer formats, signature verification, dm-verity hash trees and tables
