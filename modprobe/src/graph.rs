//! The executor's view of a [`Plan`] as a graph: which modules each module waits for,
//! which wait for it, and the critical-path priority that decides which ready module a
//! free worker takes.
//!
//! Edges only ever point from a smaller plan index to a larger one: a hard dependency
//! that is not earlier in the plan (possible only in a hand-made plan) is recorded as
//! invalid and makes its module skip, an `after` entry that is not earlier is ignored,
//! and a module whose name repeats an earlier entry waits for that entry (so one module
//! is never inserted twice at once).
//!
//! The priority of a module is the largest cost sum over any chain of modules starting
//! with it and following "is waited for by" edges ([`Plan::priorities`]): the classic
//! critical-path (bottom level) list-scheduling rule. A module's cost is its file size
//! plus [`PER_MODULE_COST`], because the kernel's work (reading, relocating and
//! linking the module) grows with the file, and every load has a fixed overhead on top.
//! Starting the longest chains first keeps a long chain (e.g. `zstd_compress`,
//! `raid6_pq`, `xor` → `btrfs`) from waiting behind short independent modules.

use std::collections::HashMap;
use std::time::Duration;

use crate::plan::Plan;

/// Fixed cost of one load, in bytes of module file: the per-load overhead (system
/// call, module allocation, sysfs entries, init call) expressed as file size, so that a
/// chain of several small modules outranks one small module. On the Debian arm64 cloud
/// kernel under QEMU TCG a load took about 9 ms plus 0.15 ms per KiB of module (from
/// 9 ms for a 10 KiB module to 430 ms for btrfs' 2.7 MiB), so the fixed part is worth
/// about 60 KiB of file.
pub const PER_MODULE_COST: u64 = 64 * 1024;

/// The graph of one plan (all vectors are indexed by plan index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Graph {
    /// Valid hard dependencies (earlier indices only), per module.
    pub(crate) deps: Vec<Vec<usize>>,
    /// The first hard dependency that is not earlier in the plan, per module.
    pub(crate) invalid: Vec<Option<usize>>,
    /// [`crate::PlannedModule::post_of`] when it is earlier in the plan (otherwise
    /// ignored, like a later `after` entry), per module.
    pub(crate) gate: Vec<Option<usize>>,
    /// The modules waiting for each module (larger indices only, each once).
    pub(crate) dependents: Vec<Vec<usize>>,
    /// How many modules each module waits for.
    pub(crate) waiting: Vec<usize>,
}

impl Graph {
    /// Builds the graph of `plan`.
    pub(crate) fn new(plan: &Plan) -> Graph {
        let n = plan.modules.len();
        let mut g = Graph {
            deps: Vec::with_capacity(n),
            invalid: Vec::with_capacity(n),
            gate: Vec::with_capacity(n),
            dependents: vec![Vec::new(); n],
            waiting: Vec::with_capacity(n),
        };
        let mut first_by_name: HashMap<&str, usize> = HashMap::new();
        for (i, module) in plan.modules.iter().enumerate() {
            let mut hard: Vec<usize> = Vec::new();
            let mut bad = None;
            for &d in &module.deps {
                if d < i {
                    hard.push(d);
                } else if bad.is_none() {
                    bad = Some(d);
                }
            }
            let mut preds: Vec<usize> = hard.clone();
            let gate = module.post_of.filter(|&g| g < i);
            preds.extend(module.after.iter().copied().filter(|&a| a < i));
            preds.extend(gate);
            if let Some(&first) = first_by_name.get(module.name.as_str()) {
                preds.push(first);
            } else {
                first_by_name.insert(&module.name, i);
            }
            preds.sort_unstable();
            preds.dedup();
            for &p in &preds {
                if let Some(list) = g.dependents.get_mut(p) {
                    list.push(i);
                }
            }
            g.waiting.push(preds.len());
            g.deps.push(hard);
            g.invalid.push(bad);
            g.gate.push(gate);
        }
        g
    }

    /// The critical-path priority of every module (see the module documentation).
    /// Linear in the size of the graph: dependents have larger indices, so one pass
    /// from the last module to the first sees every dependent's priority before it is
    /// needed.
    pub(crate) fn priorities(&self, plan: &Plan) -> Vec<u64> {
        let n = plan.modules.len();
        let mut prio = vec![0u64; n];
        for i in (0..n).rev() {
            let cost = plan
                .modules
                .get(i)
                .map_or(0, |m| m.size)
                .saturating_add(PER_MODULE_COST);
            let longest_after = self
                .dependents
                .get(i)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|&&j| j > i)
                .filter_map(|&j| prio.get(j).copied())
                .max()
                .unwrap_or(0);
            if let Some(slot) = prio.get_mut(i) {
                *slot = cost.saturating_add(longest_after);
            }
        }
        prio
    }
}

impl Graph {
    /// The chain of modules, each waiting for the one before it, whose `cost`s (indexed
    /// by plan index; missing entries count as zero) add up to the most: with measured
    /// load times, the dependency chain that bounds a pass however many workers run it.
    /// First module first; ties go to the lowest plan indices.
    pub(crate) fn longest_chain(&self, cost: &[Duration]) -> Vec<usize> {
        let n = self.waiting.len();
        // The longest chain ending just before each module, and where it came from.
        let mut before = vec![Duration::ZERO; n];
        let mut via: Vec<Option<usize>> = vec![None; n];
        // The module the longest chain so far ends at, and that chain's length.
        let mut last: Option<(usize, Duration)> = None;
        for i in 0..n {
            let here = before.get(i).copied().unwrap_or_default()
                + cost.get(i).copied().unwrap_or_default();
            if last.is_none_or(|(_, best)| here > best) {
                last = Some((i, here));
            }
            let dependents = self
                .dependents
                .get(i)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for &j in dependents.iter().filter(|&&j| j > i) {
                let (Some(b), Some(v)) = (before.get_mut(j), via.get_mut(j)) else {
                    continue;
                };
                if v.is_none() || here > *b {
                    *b = here;
                    *v = Some(i);
                }
            }
        }
        let mut chain = Vec::new();
        let mut at = last.map(|(i, _)| i);
        while let Some(i) = at {
            chain.push(i);
            at = via.get(i).copied().flatten();
        }
        chain.reverse();
        chain
    }
}

impl Plan {
    /// The priority [`crate::execute`] gives each module (indexed like
    /// [`Plan::modules`]) when it runs more than one worker: the largest sum of
    /// `size + PER_MODULE_COST` over any chain from the module through modules that wait
    /// for it. A free worker takes the ready module with the highest priority (the
    /// lowest plan index among equals), so the longest chains start first.
    pub fn priorities(&self) -> Vec<u64> {
        Graph::new(self).priorities(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedModule;
    use crate::testing::planned_module as m;

    fn plan(modules: Vec<PlannedModule>) -> Plan {
        Plan {
            modules,
            ..Plan::default()
        }
    }

    const C: u64 = PER_MODULE_COST;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn longest_chain_follows_the_costliest_waits() {
        // raid6 (600) -> btrfs (400); xor (10) -> btrfs; nbd (150) alone; d after nbd.
        let p = plan(vec![
            m("raid6", 0, vec![], vec![]),
            m("xor", 0, vec![], vec![]),
            m("nbd", 0, vec![], vec![]),
            m("btrfs", 0, vec![0, 1], vec![]),
            m("d", 0, vec![], vec![2]),
        ]);
        let g = Graph::new(&p);
        assert_eq!(g.longest_chain(&ms(&[600, 10, 150, 400, 5])), vec![0, 3]);
        // Make the soft-order chain the longest.
        assert_eq!(g.longest_chain(&ms(&[600, 10, 1200, 400, 5])), vec![2, 4]);
    }

    #[test]
    fn longest_chain_of_nothing_and_of_unmeasured_modules() {
        assert!(Graph::new(&plan(vec![])).longest_chain(&[]).is_empty());
        // No costs at all: the first module alone.
        let p = plan(vec![
            m("a", 0, vec![], vec![]),
            m("b", 0, vec![0], vec![]),
            m("c", 0, vec![], vec![]),
        ]);
        assert_eq!(Graph::new(&p).longest_chain(&[]), vec![0]);
        // A repeated name waits for its first entry.
        let p = plan(vec![m("a", 0, vec![], vec![]), m("a", 0, vec![], vec![])]);
        assert_eq!(Graph::new(&p).longest_chain(&ms(&[1, 1])), vec![0, 1]);
    }

    #[test]
    fn leaves_cost_their_size() {
        let p = plan(vec![m("a", 10, vec![], vec![]), m("b", 0, vec![], vec![])]);
        assert_eq!(p.priorities(), vec![10 + C, C]);
    }

    #[test]
    fn a_dependency_carries_its_longest_dependent_chain() {
        // small -> big, small -> tiny, other (independent, larger than small alone).
        let p = plan(vec![
            m("small", 1, vec![], vec![]),
            m("big", 1000, vec![0], vec![]),
            m("tiny", 2, vec![0], vec![]),
            m("other", 500, vec![], vec![]),
        ]);
        let prio = p.priorities();
        assert_eq!(prio[1], 1000 + C);
        assert_eq!(prio[0], 1 + C + 1000 + C);
        assert_eq!(prio[2], 2 + C);
        assert_eq!(prio[3], 500 + C);
        assert!(
            prio[0] > prio[3],
            "the chain outranks the bigger lone module"
        );
    }

    #[test]
    fn chains_count_every_link_and_soft_order_edges() {
        // a -> b -> c (hard), d must come after c (soft `after`).
        let p = plan(vec![
            m("a", 5, vec![], vec![]),
            m("b", 5, vec![0], vec![]),
            m("c", 5, vec![1], vec![]),
            m("d", 5, vec![], vec![2]),
        ]);
        assert_eq!(
            p.priorities(),
            vec![4 * (5 + C), 3 * (5 + C), 2 * (5 + C), 5 + C]
        );
    }

    #[test]
    fn many_small_modules_outrank_one_of_the_same_total_size() {
        let chain = plan(vec![
            m("a", 100, vec![], vec![]),
            m("b", 100, vec![0], vec![]),
            m("c", 100, vec![1], vec![]),
            m("one", 300, vec![], vec![]),
        ]);
        let prio = chain.priorities();
        assert!(prio[0] > prio[3]);
    }

    #[test]
    fn invalid_edges_do_not_count_and_repeats_wait_for_the_first() {
        let p = plan(vec![
            m("a", 7, vec![], vec![]),
            m("b", 1, vec![2, 99], vec![50]),
            m("c", 1, vec![], vec![]),
            m("a", 7, vec![], vec![]),
        ]);
        let g = Graph::new(&p);
        assert_eq!(g.invalid, vec![None, Some(2), None, None]);
        assert_eq!(g.dependents[0], vec![3]);
        assert_eq!(g.waiting, vec![0, 0, 0, 1]);
        let prio = p.priorities();
        assert_eq!(prio[0], 2 * (7 + C));
        assert_eq!(prio[1], 1 + C);
    }

    #[test]
    fn huge_sizes_saturate() {
        let p = plan(vec![
            m("a", u64::MAX, vec![], vec![]),
            m("b", u64::MAX, vec![0], vec![]),
        ]);
        assert_eq!(p.priorities(), vec![u64::MAX, u64::MAX]);
    }

    #[test]
    fn empty_plan() {
        assert!(Plan::default().priorities().is_empty());
    }
}
