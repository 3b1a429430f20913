//! Reading the fixture trees and planning loads from them: both modules.dep forms,
//! aliases with globs, soft dependencies over several lines, options, blocklist,
//! built-ins, `-`/`_` equivalence.

use std::path::PathBuf;

use modprobe::{read_load_list, ModuleDb, PlanOptions, Resolution, SkipReason};

use crate::common::{
    assert_valid_order, depmod_dir, fixture, flat, names, plan, plan_blocklist, tree,
};

#[test]
fn flat_layout_paths_are_relative_to_the_directory() {
    let db = flat();
    let m = db.module("virtio-blk").expect("virtio_blk");
    assert_eq!(m.path, fixture("flat").join("virtio_blk.ko"));
    assert_eq!(m.deps, vec!["virtio_ring", "virtio"]);
    assert!(m.listed);
    assert_eq!(db.modules().count(), 20);
}

#[test]
fn depmod_layout_and_reverse_order() {
    let db = ModuleDb::load(&depmod_dir()).unwrap();
    let m = db.module("virtio_net").unwrap();
    assert_eq!(
        m.path,
        depmod_dir().join("kernel/drivers/net/virtio_net.ko")
    );
    let p = plan(&db, &["virtio_net"]);
    // kmod: the modules.dep list in reverse, then the module.
    assert_eq!(
        names(&p),
        vec![
            "virtio_ring",
            "virtio",
            "failover",
            "net_failover",
            "virtio_net"
        ]
    );
    assert_valid_order(&p);
    assert_eq!(p.modules[4].deps, vec![0, 1, 2, 3]);
    assert!(p.modules.iter().all(|m| !m.soft));
}

#[test]
fn hard_dependencies_first() {
    let db = flat();
    let p = plan(&db, &["virtio_blk"]);
    assert_eq!(names(&p), vec!["virtio_ring", "virtio", "virtio_blk"]);
    assert_eq!(p.modules[1].deps, vec![0]);
    assert_eq!(p.modules[2].deps, vec![0, 1]);
    assert!(p.warnings.is_empty());
}

#[test]
fn modules_load_list_plans_in_order_once_each() {
    let db = flat();
    let list = read_load_list(&fixture("flat/modules.load"))
        .unwrap()
        .entries;
    assert_eq!(list, vec!["virtio_blk", "virtio_pci", "snd_dummy"]);
    let wanted: Vec<&str> = list.iter().map(String::as_str).collect();
    let p = plan(&db, &wanted);
    assert_eq!(
        names(&p),
        vec![
            "virtio_ring",
            "virtio",
            "virtio_blk",
            "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev",
            "virtio_pci",
            "soundcore",
            "snd",
            "snd_dummy"
        ]
    );
    assert_eq!(p.modules[8].params, "index=2");
    assert_valid_order(&p);
    assert_eq!(
        read_load_list(&fixture("flat/modules.load.recovery"))
            .unwrap()
            .entries,
        vec!["virtio_blk"]
    );
}

#[test]
fn duplicates_are_planned_once() {
    let db = flat();
    let p = plan(
        &db,
        &[
            "virtio_blk",
            "virtio-blk",
            "virtio_pci",
            "virtio_blk.ko",
            "virtio",
        ],
    );
    assert_eq!(
        names(&p),
        vec![
            "virtio_ring",
            "virtio",
            "virtio_blk",
            "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev",
            "virtio_pci"
        ]
    );
}

#[test]
fn dash_and_underscore_are_the_same_name() {
    let db = flat();
    let a = plan(&db, &["snd_dummy"]);
    assert_eq!(a, plan(&db, &["snd-dummy"]));
    assert_eq!(a, plan(&db, &["snd-dummy.ko"]));
    assert_eq!(a, plan(&db, &["some/dir/snd_dummy.ko"]));
    assert_eq!(db.options("snd_dummy"), Some("index=2"));
    assert!(db.is_blocklisted("blocked.ko"));
    assert_eq!(db.softdeps("with-pre").len(), 4);
}

#[test]
fn soft_dependencies_from_every_line() {
    let db = flat();
    let p = plan(&db, &["with_pre"]);
    assert_eq!(
        names(&p),
        vec!["pre_a", "pre_dep", "pre_b", "with_pre", "post_dep", "post_a"]
    );
    assert_valid_order(&p);
    let soft: Vec<bool> = p.modules.iter().map(|m| m.soft).collect();
    assert_eq!(soft, vec![true, true, true, false, true, true]);
    let with_pre = &p.modules[3];
    assert!(with_pre.deps.is_empty());
    assert_eq!(
        with_pre.after,
        vec![0, 1, 2],
        "all pre: soft deps come first"
    );
    assert_eq!(
        p.modules[5].after,
        vec![3],
        "post: soft dep follows its module"
    );
    assert_eq!(p.modules[5].deps, vec![4]);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("soft dependency missing_soft of with_pre not found"));
    assert!(p.warnings[0].contains("modules.softdep:4"));
    // The name before any pre:/post: marker is ignored, as kmod does, with a warning.
    assert!(db
        .warnings()
        .iter()
        .any(|w| w.contains("modules.softdep:6") && w.contains("cifs_style_ignored")));
}

#[test]
fn requested_module_that_is_also_a_soft_dep_is_hard() {
    let db = flat();
    let p = plan(&db, &["with_pre", "pre_b"]);
    let soft: Vec<(&str, bool)> = p
        .modules
        .iter()
        .map(|m| (m.name.as_str(), m.soft))
        .collect();
    assert_eq!(
        soft,
        vec![
            ("pre_a", true),
            ("pre_dep", false),
            ("pre_b", false),
            ("with_pre", false),
            ("post_dep", true),
            ("post_a", true)
        ]
    );
}

#[test]
fn options_with_quotes_and_extra_params() {
    let db = flat();
    let p = plan(&db, &["bar"]);
    assert_eq!(names(&p), vec!["foo", "bar"]);
    assert_eq!(p.modules[0].params, "bar=\"a b\" baz=1");
    assert_eq!(p.modules[1].params, "");

    let opts = PlanOptions {
        blocklist: false,
        extra_params: vec![
            ("foo".into(), "x=1".into()),
            ("bar".into(), "  ".into()),
            ("crypto-foo-gcm".into(), "y=\"2 3\"".into()),
        ],
    };
    let p = db.plan(&["crypto-foo-gcm", "bar"], &opts).unwrap();
    assert_eq!(names(&p), vec!["foo", "bar"]);
    assert_eq!(p.modules[0].params, "bar=\"a b\" baz=1 x=1 y=\"2 3\"");
    assert_eq!(p.modules[1].params, "");
}

#[test]
fn aliases_are_globs() {
    let db = flat();
    let modules = |v: &[&str]| Resolution::Modules(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        db.resolve("pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"),
        modules(&["virtio_pci"])
    );
    assert_eq!(
        db.resolve("pci:v00008086d00001042sv0sd0bc01sc00i00"),
        Resolution::NotFound
    );
    assert_eq!(
        db.resolve("virtio:d00000002v00001AF4"),
        modules(&["virtio_blk"])
    );
    assert_eq!(db.resolve("snd-card-3"), modules(&["snd_dummy"]));
    assert_eq!(
        db.resolve("snd_card_7"),
        modules(&["snd_dummy"]),
        "- and _ match"
    );
    assert_eq!(
        db.resolve("snd-card-8"),
        Resolution::NotFound,
        "[0-7] range"
    );
    assert_eq!(db.resolve("char-major-116-1"), modules(&["snd"]));
    assert_eq!(
        db.resolve("char-major-116-12"),
        Resolution::NotFound,
        "? is one char"
    );
    assert_eq!(
        db.resolve("crypto-foo"),
        modules(&["foo"]),
        "* matches empty"
    );
    assert_eq!(
        db.resolve("multi"),
        modules(&["bar", "foo"]),
        "every match, file order"
    );
    assert_eq!(
        db.resolve("stale-alias"),
        Resolution::NotFound,
        "target not in modules.dep"
    );
    assert_eq!(db.resolve("ext4"), Resolution::Builtin("ext4".into()));
    assert_eq!(
        db.resolve("crc32c-generic"),
        Resolution::Builtin("crc32c_generic".into())
    );
    assert_eq!(db.resolve("nonexistent"), Resolution::NotFound);
    assert_eq!(db.resolve(""), Resolution::NotFound);
    assert_eq!(
        db.resolve("foo"),
        modules(&["foo"]),
        "a module name wins over aliases"
    );

    let p = plan(&db, &["multi", "pci:v00001AF4d00001041sv1sd2bc3sc4i5"]);
    assert_eq!(
        names(&p),
        vec![
            "foo",
            "bar",
            "virtio_ring",
            "virtio",
            "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev",
            "virtio_pci"
        ]
    );
}

#[test]
fn unresolved_and_builtin_names_are_recorded() {
    let db = flat();
    let p = plan(&db, &["ext4", "nope", "foo", "nope", "ext4"]);
    assert_eq!(names(&p), vec!["foo"]);
    assert_eq!(p.unresolved, vec!["nope"]);
    assert_eq!(p.builtin, vec!["ext4"]);
}

#[test]
fn blocklist_skips_and_flags_dependents() {
    let db = flat();
    let p = plan_blocklist(&db, &["blocked", "needs_blocked", "foo", "blocked.ko"]);
    assert_eq!(names(&p), vec!["foo"]);
    assert_eq!(
        p.skipped,
        vec![
            ("blocked".to_owned(), SkipReason::Blocklisted),
            (
                "needs_blocked".to_owned(),
                SkipReason::BlocklistedDependency("blocked".into())
            )
        ]
    );
    // Without -b nothing is skipped.
    let p = plan(&db, &["blocked", "needs_blocked"]);
    assert_eq!(names(&p), vec!["blocked", "needs_blocked"]);
    assert!(p.skipped.is_empty());
}

#[test]
fn blocklisted_soft_dependencies_are_dropped_with_warnings() {
    let db = flat();
    let p = plan_blocklist(&db, &["soft_needs_blocked"]);
    assert_eq!(names(&p), vec!["soft_needs_blocked", "foo"]);
    assert!(p.skipped.is_empty());
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("needs_blocked")
            && p.warnings[0].contains("blocklisted module blocked")
    );
    assert!(p.warnings[1]
        .contains("soft dependency blocked of soft_needs_blocked ignored: it is blocklisted"));
    let p = plan(&db, &["soft_needs_blocked"]);
    assert_eq!(
        names(&p),
        vec!["blocked", "needs_blocked", "soft_needs_blocked", "foo"]
    );
}

#[test]
fn depmod_soft_dependencies_all_lines_and_aliases() {
    let db = ModuleDb::load(&depmod_dir()).unwrap();
    let p = plan(&db, &["btrfs"]);
    assert_eq!(
        names(&p),
        vec![
            "libcrc32c",
            "zstd_compress",
            "raid6_pq",
            "xor_neon",
            "xor",
            "blake2b_generic",
            "sha256_arm64",
            "sha2_ce",
            "xxhash_generic",
            "btrfs"
        ]
    );
    assert_valid_order(&p);
    // crc32c / crypto-crc32c resolve to nothing here (kmod finds them as built-in
    // aliases in modules.builtin.alias.bin, which we do not read): best effort.
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    let p = plan(&db, &["vfio"]);
    assert_eq!(names(&p), vec!["vfio", "vfio_iommu_type1"]);
    assert_eq!(p.modules[1].deps, vec![0]);
    assert!(p.modules[1].soft);
}

#[test]
fn hand_written_dep_lists_need_not_be_complete_or_ordered() {
    let dir = tree(&[(
        "modules.dep",
        "a.ko: b.ko c.ko\nb.ko:\nc.ko: b.ko d.ko\nd.ko:\n",
    )]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["a"]);
    assert_eq!(names(&p), vec!["d", "b", "c", "a"]);
    assert_valid_order(&p);
}

#[test]
fn dependency_without_its_own_line_is_a_leaf() {
    let dir = tree(&[("modules.dep", "a.ko: sub/b.ko\n")]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let b = db.module("b").unwrap();
    assert!(!b.listed);
    assert_eq!(b.path, dir.path().join("sub/b.ko"));
    assert_eq!(names(&plan(&db, &["a"])), vec!["b", "a"]);
}

#[test]
fn absolute_paths_are_kept() {
    let dir = tree(&[("modules.dep", "/vendor/lib/modules/a.ko: /system/b.ko\n")]);
    let db = ModuleDb::load(dir.path()).unwrap();
    assert_eq!(
        db.module("a").unwrap().path,
        PathBuf::from("/vendor/lib/modules/a.ko")
    );
    assert_eq!(db.module("b").unwrap().path, PathBuf::from("/system/b.ko"));
}

#[test]
fn several_directories() {
    let db = ModuleDb::load_dirs(&[fixture("flat"), depmod_dir()]).unwrap();
    assert_eq!(db.dirs().len(), 2);
    // The later directory's line wins.
    assert_eq!(
        db.module("virtio_blk").unwrap().path,
        depmod_dir().join("kernel/drivers/block/virtio_blk.ko")
    );
    // Aliases, blocklists and options accumulate.
    assert!(matches!(db.resolve("snd-card-1"), Resolution::Modules(_)));
    assert!(matches!(db.resolve("xxhash64"), Resolution::Modules(_)));
    assert!(db.is_blocklisted("blocked"));
    assert_eq!(db.options("foo"), Some("bar=\"a b\" baz=1"));
}

#[test]
fn list_matches_names_and_file_names() {
    let db = flat();
    assert_eq!(
        db.list("virtio_p*"),
        vec![
            "virtio_pci",
            "virtio_pci_legacy_dev",
            "virtio_pci_modern_dev"
        ]
    );
    // A file-name match is listed by path.
    assert_eq!(
        db.list("pre-b.ko"),
        vec![fixture("flat").join("pre-b.ko").display().to_string()]
    );
    assert_eq!(db.list("*").len(), 20);
    assert!(db.list("zzz*").is_empty());
}
