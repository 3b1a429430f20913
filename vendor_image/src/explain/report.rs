//! The two forms of an [`Explanation`]: text for people, one JSON object for tools.

use std::fmt::Write as _;

use super::json::J;
use super::{Explanation, HashtreeReport, ModulesReport, DEVICE_PLACEHOLDER};

fn modules_json(m: Option<&ModulesReport>) -> J {
    let Some(m) = m else {
        return J::Obj(vec![
            ("plan", J::Arr(Vec::new())),
            ("checked", J::Bool(false)),
        ]);
    };
    J::Obj(vec![
        ("plan", J::strs(&m.plan)),
        ("checked", J::Bool(true)),
        ("absent", J::opt(m.absent.as_ref(), J::s)),
        ("error", J::opt(m.error.as_ref(), J::s)),
        ("counts", J::opt(m.counts.as_ref(), J::s)),
        ("guest_lines", J::strs(&m.problems)),
        ("warnings", J::strs(&m.warnings)),
        ("blocklisted", J::strs(&m.blocklisted)),
        ("missing_files", J::strs(&m.missing_files)),
        (
            "missing_dependencies",
            J::Arr(
                m.missing_deps
                    .iter()
                    .map(|(n, d)| J::Obj(vec![("module", J::s(n)), ("needs", J::strs(d))]))
                    .collect(),
            ),
        ),
        (
            "release_mismatch",
            J::Arr(
                m.release_mismatch
                    .iter()
                    .map(|(n, r)| J::Obj(vec![("module", J::s(n)), ("release", J::s(r))]))
                    .collect(),
            ),
        ),
        ("notes", J::strs(&m.notes)),
    ])
}

/// The JSON object.
pub fn json(x: &Explanation) -> String {
    let c = &x.config;
    let hashtree = x.hashtree.as_ref().map(|h| match h {
        HashtreeReport::Verified { data_blocks } => J::Obj(vec![
            ("verified", J::Bool(true)),
            ("data_blocks", J::Num(*data_blocks)),
        ]),
        HashtreeReport::Corrupt {
            block,
            computed_root,
        } => J::Obj(vec![
            ("verified", J::Bool(false)),
            ("corrupt", J::s(block)),
            ("computed_root", J::s(computed_root)),
        ]),
        HashtreeReport::Failed(e) => J::Obj(vec![("verified", J::Bool(false)), ("error", J::s(e))]),
    });
    let avb = x.avb.as_ref().map(|a| {
        J::Obj(vec![
            ("algorithm", J::s(&a.algorithm)),
            ("rollback_index", J::Num(a.rollback_index)),
            ("public_key_sha1", J::s(&a.public_key_sha1)),
            ("root_digest", J::s(&a.root_digest)),
            ("salt", J::s(&a.salt)),
            ("flags", J::Num(u64::from(a.flags))),
            ("image_size", J::Num(a.image_size)),
            ("partition_size", J::Num(a.partition_size)),
        ])
    });
    J::Obj(vec![
        ("outcome", J::s(x.outcome())),
        ("detail", J::s(x.detail())),
        ("fatal_line", J::opt(x.fatal_line(), J::s)),
        ("boots", J::Bool(x.boots())),
        (
            "boot",
            J::Obj(vec![
                ("strict_boot", J::Bool(c.strict_boot)),
                ("debuggable", J::Bool(c.debuggable)),
                ("mount_vendor", J::Bool(c.mount_vendor)),
                ("selinux_enforcing", J::Bool(c.selinux_mode().enforcing)),
            ]),
        ),
        (
            "phases",
            J::Arr(
                x.phases
                    .iter()
                    .map(|p| J::Obj(vec![("name", J::s(p.name)), ("lines", J::strs(&p.lines))]))
                    .collect(),
            ),
        ),
        ("avb", J::opt(avb, |a| a)),
        ("hashtree", J::opt(hashtree, |h| h)),
        ("verity_table", J::opt(x.verity_table.as_ref(), J::s)),
        ("dice", J::opt(x.node.as_ref(), |n| J::Raw(n.to_json()))),
        ("modules", modules_json(x.modules.as_ref())),
        (
            "first_stage_modules",
            J::opt(x.first_stage.as_ref(), |m| modules_json(Some(m))),
        ),
        (
            "lint",
            J::Arr(
                x.lint
                    .iter()
                    .map(|e| {
                        J::Obj(vec![
                            ("file", J::s(&e.file)),
                            ("line", J::Num(e.line)),
                            ("message", J::s(&e.message)),
                            ("guest_line", J::s(&e.guest_line)),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("notes", J::strs(&x.notes)),
    ])
    .to_text()
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if !items.is_empty() {
        let _ = writeln!(out, "  {title}: {}", items.join(" "));
    }
}

fn modules_text(out: &mut String, title: &str, m: &ModulesReport) {
    let _ = writeln!(out, "\n{title}:");
    if m.plan.is_empty() && m.counts.is_none() {
        for l in m.absent.iter().chain(&m.error) {
            let _ = writeln!(out, "  {l}");
        }
    } else {
        let _ = writeln!(
            out,
            "  plan ({} modules, load order): {}",
            m.plan.len(),
            m.plan.join(" ")
        );
    }
    list(out, "blocklisted", &m.blocklisted);
    list(out, "files missing", &m.missing_files);
    let deps: Vec<String> = m
        .missing_deps
        .iter()
        .map(|(n, d)| format!("{n} (needs {})", d.join(",")))
        .collect();
    list(out, "dependencies nothing loads", &deps);
    let rel: Vec<String> = m
        .release_mismatch
        .iter()
        .map(|(n, r)| format!("{n} ({r})"))
        .collect();
    list(out, "built for another release", &rel);
    for l in m.warnings.iter().chain(m.counts.iter()).chain(&m.problems) {
        let _ = writeln!(out, "  guest: {l}");
    }
    for n in &m.notes {
        let _ = writeln!(out, "  ({n})");
    }
}

/// The text report.
pub fn text(x: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "What the first stage does (its log lines without the `first_stage: ` tag; explain's notes in parentheses):"
    );
    for p in &x.phases {
        for (i, l) in p.lines.iter().enumerate() {
            let name = if i == 0 { p.name } else { "" };
            let _ = writeln!(out, "  {name:<15} {l}");
        }
    }
    match x.fatal_line() {
        Some(l) => {
            let _ = writeln!(
                out,
                "\noutcome: {} (then sync and power-off); the guest prints:\n{l}",
                x.outcome()
            );
        }
        None => {
            let _ = writeln!(out, "\noutcome: ok");
        }
    }
    if let Some(a) = &x.avb {
        let _ = writeln!(
            out,
            "\nAVB: {}, rollback index {}, public key sha1 {}, partition {} bytes\n  \
             microdroid-vendor: root digest {}, salt {}, flags {}, {} bytes under dm-verity",
            a.algorithm,
            a.rollback_index,
            a.public_key_sha1,
            a.partition_size,
            a.root_digest,
            if a.salt.is_empty() { "-" } else { &a.salt },
            a.flags,
            a.image_size
        );
    }
    match &x.hashtree {
        Some(HashtreeReport::Verified { data_blocks }) => {
            let _ = writeln!(
                out,
                "hash tree: verified ({data_blocks} data blocks and the stored tree match the root digest)"
            );
        }
        Some(HashtreeReport::Corrupt {
            block,
            computed_root,
        }) => {
            let _ = writeln!(
                out,
                "hash tree: DOES NOT VERIFY: {block}; recomputed root digest {computed_root}"
            );
        }
        Some(HashtreeReport::Failed(e)) => {
            let _ = writeln!(out, "hash tree: not checked: {e}");
        }
        None => {}
    }
    if let Some(t) = &x.verity_table {
        let _ = writeln!(
            out,
            "\ndm-verity table ({DEVICE_PLACEHOLDER}: the partition's device number, known only in the guest):\n  {t}"
        );
    }
    if let Some(n) = &x.node {
        let _ = writeln!(
            out,
            "\nDICE node \"{}\":\n  code_hash          {}\n  authority_hash     {}\n  security_version   {}\n  config_descriptor  {}\n  mode               {}",
            n.component_name,
            avb::to_hex(&n.code_hash),
            avb::to_hex(&n.authority_hash),
            n.security_version,
            avb::to_hex(&n.config_descriptor),
            n.mode.name()
        );
    }
    if let Some(m) = &x.first_stage {
        modules_text(&mut out, "first-stage modules", m);
    }
    if let Some(m) = &x.modules {
        modules_text(&mut out, "vendor modules (/vendor/lib/modules)", m);
    }
    let _ = writeln!(out, "\nlint ({} problem(s)):", x.lint.len());
    for e in &x.lint {
        let _ = writeln!(out, "  {}", e.guest_line);
    }
    if !x.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in &x.notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    out
}
