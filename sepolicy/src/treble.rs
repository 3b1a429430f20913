//! The Treble rule for partner file_contexts: vendor and odm entries may
//! only label `/vendor`, `/system/vendor` (the vendor partition's legacy
//! path, which AOSP's own vendor files name as `/(vendor|system/vendor)/...`),
//! `/odm`, `/dev`, `/sys` (each the directory itself or anything below it)
//! and paths starting with `/data/vendor`.
//!
//! The judgement is conservative: an entry is accepted only when *every*
//! path its anchored pattern can match provably lies in that set. We follow
//! the pattern from its leading `^` through literal bytes, expanding
//! unquantified groups branch by branch, until the literal prefix is either
//! a root followed by `/`, `/data/vendor`, or exactly a root whose every
//! match continues with `/` or ends there (`$`); a prefix that is a root
//! but not confined to it is followed further, as it may still reach a
//! longer root (`/sys` → `/system/vendor`). Any other construct met before
//! that point (a class, a quantifier, a branch without `^`, ...) rejects
//! the entry. One corner is
//! knowingly accepted: PCRE's `$` also matches before a final newline, so
//! `/vendor` also matches the path "/vendor\n" (a file whose name ends in
//! a newline, in `/`), which no boot step creates.

use crate::pattern::ast::{ByteSet, Node};

/// Roots that cover the directory itself and everything below it.
const DIR_ROOTS: [&[u8]; 5] = [b"/vendor", b"/system/vendor", b"/odm", b"/dev", b"/sys"];
/// Roots that cover every path starting with them.
const PREFIX_ROOTS: [&[u8]; 1] = [b"/data/vendor"];
/// Bound on the work spent on one pattern (branches times literals).
const BUDGET: u32 = 4096;

/// The human-readable list of what partner entries may label.
pub(crate) const ALLOWED: &str = "/vendor, /system/vendor, /odm, /dev, /sys, /data/vendor*";

/// Whether every path `pattern` (a parsed, anchored spec) can match is one
/// that a partner file_contexts may label.
pub(crate) fn partner_may_label(pattern: &Node) -> bool {
    let branches = match pattern {
        Node::Alt(branches) => branches.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut budget = BUDGET;
    branches.iter().all(|branch| match branch {
        Node::Concat(items) => match items.split_first() {
            Some((Node::Start, rest)) => allowed(&[], &[rest], &mut budget),
            _ => false,
        },
        _ => false,
    })
}

/// Whether the literal `prefix` followed by the concatenation of `seq`
/// only matches allowed paths.
fn allowed(prefix: &[u8], seq: &[&[Node]], budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    if PREFIX_ROOTS.iter().any(|r| prefix.starts_with(r)) {
        return true;
    }
    for root in DIR_ROOTS {
        if prefix.starts_with(root) && prefix.get(root.len()) == Some(&b'/') {
            return true;
        }
        if prefix == root {
            let info = seq_info(seq);
            if !info.passes_through && info.first.is_subset(&ByteSet::single(b'/')) {
                return true;
            }
            // Not confined to this root; a longer root may still be reached
            // (`/sys` is a prefix of `/system/vendor`).
        }
    }
    let can_reach_root = DIR_ROOTS
        .iter()
        .chain(PREFIX_ROOTS.iter())
        .any(|r| r.starts_with(prefix));
    if !can_reach_root {
        return false;
    }
    // The next node of the sequence.
    let Some((pos, first)) = seq.iter().enumerate().find(|(_, s)| !s.is_empty()) else {
        return false; // the branch ends with no `$`: anything may follow
    };
    let Some((node, node_rest)) = first.split_first() else {
        return false;
    };
    let mut rest: Vec<&[Node]> = Vec::with_capacity(seq.len() + 1);
    rest.push(node_rest);
    rest.extend_from_slice(seq.get(pos + 1..).unwrap_or_default());
    match node {
        Node::Literal(b) => {
            let mut longer = prefix.to_vec();
            longer.push(*b);
            allowed(&longer, &rest, budget)
        }
        Node::Empty => allowed(prefix, &rest, budget),
        Node::Concat(items) => {
            rest.insert(0, items);
            allowed(prefix, &rest, budget)
        }
        Node::Group(inner) => {
            let branches = match inner.as_ref() {
                Node::Alt(branches) => branches.as_slice(),
                other => std::slice::from_ref(other),
            };
            branches.iter().all(|b| {
                let mut with_branch = rest.clone();
                with_branch.insert(0, std::slice::from_ref(b));
                allowed(prefix, &with_branch, budget)
            })
        }
        _ => false,
    }
}

/// What can come first in a sequence of nodes.
struct FirstInfo {
    /// Bytes a non-empty match may start with.
    first: ByteSet,
    /// Whether the sequence can match empty without reaching an end anchor
    /// (then whatever follows the match is unconstrained).
    passes_through: bool,
}

fn seq_info(seq: &[&[Node]]) -> FirstInfo {
    let mut first = ByteSet::EMPTY;
    for node in seq.iter().flat_map(|s| s.iter()) {
        let info = node_info(node);
        first.union(&info.first);
        if !info.passes_through {
            return FirstInfo {
                first,
                passes_through: false,
            };
        }
    }
    FirstInfo {
        first,
        passes_through: true,
    }
}

fn node_info(node: &Node) -> FirstInfo {
    let zero_width = |passes_through| FirstInfo {
        first: ByteSet::EMPTY,
        passes_through,
    };
    match node {
        Node::Literal(b) => FirstInfo {
            first: ByteSet::single(*b),
            passes_through: false,
        },
        Node::Class(set) => FirstInfo {
            first: *set,
            passes_through: false,
        },
        // The match ends here (see the module doc for the final newline).
        Node::EndStrict | Node::EndNewline(_) => zero_width(false),
        // Assertions are treated as always true: that only adds paths.
        Node::Empty | Node::Start | Node::WordBoundary(_) => zero_width(true),
        Node::Group(inner) => node_info(inner),
        Node::Concat(items) => seq_info(&[items.as_slice()]),
        Node::Alt(branches) => {
            let mut first = ByteSet::EMPTY;
            let mut passes_through = false;
            for b in branches {
                let info = node_info(b);
                first.union(&info.first);
                passes_through |= info.passes_through;
            }
            FirstInfo {
                first,
                passes_through,
            }
        }
        Node::Repeat { node, min, max } => {
            if *max == Some(0) {
                return zero_width(true);
            }
            let info = node_info(node);
            FirstInfo {
                first: info.first,
                passes_through: info.passes_through || *min == 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partner_may_label;
    use crate::pattern::parse::parse;

    fn may(regex: &str) -> bool {
        partner_may_label(&parse(regex).expect("test regex parses"))
    }

    #[test]
    fn accepts_partner_paths() {
        for ok in [
            "/vendor",
            "/vendor(/.*)?",
            "/vendor/bin/hw/android\\.hardware\\.foo@1\\.0-service",
            "/vendor/lib(64)?/libfoo\\.so",
            "/odm(/.*)?",
            "/(odm|vendor/odm)/etc(/.*)?",
            "/dev/block/vd[a-z]",
            "/dev(/.*)?",
            "/dev",
            "/sys/devices/platform/.*",
            "/data/vendor(/.*)?",
            "/data/vendor_de(/.*)?",
            "/data/vendor.*",
            "/vendor/(bin|lib)(/.*)?",
            "/vendor(/foo|/bar)",
            // AOSP's vendor/file_contexts names the partition both ways.
            "/(vendor|system/vendor)/lib(/.*)?",
            "/(vendor|system/vendor)/bin/hw/android\\.hardware\\.foo@1\\.0-service",
            "/(vendor|system/vendor)/lib(64)?/hw/gralloc\\.default\\.so",
            "/system/vendor(/.*)?",
            "/system/vendor",
            "/(odm|vendor/odm|system/vendor/odm)/etc(/.*)?",
        ] {
            assert!(may(ok), "{ok} rejected");
        }
    }

    #[test]
    fn rejects_paths_outside_partner_roots() {
        for bad in [
            "/system(/.*)?",
            "/system/bin/sh",
            "/vendorfoo",
            "/vendor.*",
            "/vendor[a-z]*",
            "/ven.*",
            "/(vendor|system)(/.*)?",
            // AOSP's file has this typo; `/sustem` is not vendor territory.
            "/(vendor|sustem/vendor)/bin/hw/x",
            "/system/vendorx",
            "/system/vendor.*",
            "/system/(vendor|bin)/x",
            "/system/ven(/.*)?",
            ".*",
            "/.*",
            "(/.*)?",
            "/vendor/a|/vendor/b",
            "/vendor(/.*)?|/system(/.*)?",
            "/d[e]v/foo",
            "/dev.*",
            "/devices",
            "/data/misc(/.*)?",
            "/data/ven.*",
            "/data(/vendor)?",
            "/sys(.*)?",
            "/vendor(x)?",
            "/vendor\\b.*",
            "/odm|x",
            // The second branch is not anchored at the start.
            "/vendor(/.*)?|/odm(/.*)?",
        ] {
            assert!(!may(bad), "{bad} accepted");
        }
    }
}
