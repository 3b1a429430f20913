//! The boot phase timeline: one `first_stage: phase=<name> t_ms=<n>` line per phase,
//! `t_ms` being `CLOCK_MONOTONIC` in milliseconds (time since the kernel started).

use std::time::Duration;

/// Records and prints boot phases.
#[derive(Debug, Default)]
pub struct Timeline {
    phases: Vec<(&'static str, u128)>,
}

impl Timeline {
    /// Marks the end of phase `name` at monotonic time `now`, and logs its line.
    pub fn mark(&mut self, name: &'static str, now: Duration) {
        let ms = now.as_millis();
        log::info!("phase={name} t_ms={ms}");
        self.phases.push((name, ms));
    }

    /// The phases marked so far with their times.
    pub fn phases(&self) -> &[(&'static str, u128)] {
        &self.phases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_order() {
        let mut t = Timeline::default();
        t.mark("start", Duration::from_millis(5));
        t.mark("early_mounts", Duration::from_micros(7900));
        assert_eq!(t.phases(), &[("start", 5), ("early_mounts", 7)]);
    }
}
