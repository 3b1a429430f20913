//! `/init`: the multi-call entry point (see the library for everything), the global
//! allocator (a failed allocation takes the fatal path, [`first_stage_init::oom`]), plus
//! the one link-time adjustment the static binary needs.

use std::ffi::{c_int, c_void};

#[global_allocator]
static ALLOCATOR: first_stage_init::oom::FatalOnFailure = first_stage_init::oom::FatalOnFailure;

fn main() {
    std::process::exit(first_stage_init::multicall::main());
}

// Keeps libssl out of the static PID 1 (about 430 KB of its 5 MiB budget).
//
// The guest uses only libcrypto (SHA-2, HKDF, Ed25519, RSA verification), but the
// `openssl` crate's one-time initialisation calls `OPENSSL_init_ssl`, and that single
// reference makes the static link pull in all of libssl.a. Defining the symbol here
// satisfies it first, so no libssl object is linked: the call initialises libcrypto
// only, which is all `OPENSSL_init_ssl` would have done for us besides loading TLS
// error strings.
extern "C" {
    fn OPENSSL_init_crypto(opts: u64, settings: *const c_void) -> c_int;
}

/// `OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_NO_LOAD_SSL_STRINGS`: libssl's own
/// option bits, meaningless to libcrypto.
const SSL_ONLY_OPTIONS: u64 = 0x0020_0000 | 0x0010_0000;

/// libcrypto-only stand-in for libssl's initialiser (see above).
///
/// # Safety
/// `settings` must be null or point to a valid `OPENSSL_INIT_SETTINGS`, as for the real
/// function (openssl-sys passes null).
#[no_mangle]
pub unsafe extern "C" fn OPENSSL_init_ssl(opts: u64, settings: *const c_void) -> c_int {
    // SAFETY: OPENSSL_init_crypto accepts any option bits; `settings` is null or valid
    // per this function's contract. We forward what openssl-sys's init passed, minus
    // libssl's bits.
    unsafe { OPENSSL_init_crypto(opts & !SSL_ONLY_OPTIONS, settings) }
}
