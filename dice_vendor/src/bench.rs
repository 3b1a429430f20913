//! Timing helper for `cargo xtask bench dice`: vendor-node derivation and verification of a
//! six-certificate chain, median over a number of runs.

use std::time::{Duration, Instant};

use crate::dice::{Config, InputValues, Mode};
use crate::error::DiceError;
use crate::handover::{main_flow, Handover};
use crate::vendor::{derive_vendor_node, VendorMeasurement};
use crate::verify::verify_chain_bytes;

/// Median timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchReport {
    /// Runs per measurement.
    pub iterations: usize,
    /// Median time of [`derive_vendor_node`] from the sample handover.
    pub derive_median: Duration,
    /// Median time of [`verify_chain_bytes`] on a handover whose chain has six certificates.
    pub verify_6_node_median: Duration,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn time<T>(
    iterations: usize,
    mut f: impl FnMut() -> Result<T, DiceError>,
) -> Result<Duration, DiceError> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        std::hint::black_box(f()?);
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

/// Runs both measurements `iterations` times (at least once each).
pub fn bench(iterations: usize) -> Result<BenchReport, DiceError> {
    let iterations = iterations.max(1);
    let parent = crate::sample::sample_handover_parsed()?;
    let key_blob = [0x5au8; 1032];
    let root_digest = [0xa5u8; 32];
    let m = VendorMeasurement {
        public_key_blob: &key_blob,
        root_digest: &root_digest,
        rollback_index: 1,
    };
    let derive_median = time(iterations, || derive_vendor_node(&parent, &m))?;

    // The sample chain has three certificates; extend it three times.
    let mut handover: Handover = parent;
    for layer in 0u8..3 {
        let input = InputValues {
            code_hash: [layer; 64],
            config: Config::Inline([layer; 64]),
            authority_hash: [layer; 64],
            code_descriptor: None,
            authority_descriptor: None,
            mode: Mode::Normal,
            hidden: [0; 64],
        };
        handover = main_flow(&handover, &input)?;
    }
    let bytes = handover.to_bytes();
    let verify_6_node_median = time(iterations, || {
        verify_chain_bytes(&bytes).map_err(|e| DiceError::Derive {
            what: "verify",
            detail: e.to_string(),
        })
    })?;
    Ok(BenchReport {
        iterations,
        derive_median,
        verify_6_node_median,
    })
}
