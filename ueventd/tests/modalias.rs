//! Modalias handling: only with `modalias_handling enabled` and a handler, only for `add`
//! events, once per alias (failures included).

mod common;

use common::{config, uevent, Aliases, Fixture, Labels, Props};
use ueventd::{FakeDeviceOps, ModaliasHandler, Ueventd, UeventdConfig};

fn add(alias: &str, devpath: &str) -> ueventd::Uevent {
    uevent(
        "add",
        devpath,
        &["SUBSYSTEM=virtio", &format!("MODALIAS={alias}")],
    )
}

fn run(cfg: UeventdConfig, handler: Option<&dyn ModaliasHandler>, events: &[ueventd::Uevent]) {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let labels = Labels::default();
    let mut u = Ueventd::new(
        cfg,
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &labels,
        handler,
    );
    for ev in events {
        u.handle_uevent(ev).unwrap();
    }
}

#[test]
fn each_alias_is_loaded_once() {
    let aliases = Aliases::default();
    let events = [
        add("virtio:d00000002v00001AF4", "/devices/pci0/virtio1"),
        add("virtio:d00000002v00001AF4", "/devices/pci0/virtio2"),
        add("virtio:d00000001v00001AF4", "/devices/pci0/virtio3"),
        add("fail:thing", "/devices/x/1"),
        add("fail:thing", "/devices/x/2"),
        add("virtio:d00000002v00001AF4", "/devices/pci0/virtio4"),
        uevent(
            "remove",
            "/devices/pci0/virtio5",
            &["MODALIAS=virtio:removed"],
        ),
        uevent(
            "change",
            "/devices/pci0/virtio5",
            &["MODALIAS=virtio:changed"],
        ),
        uevent("add", "/devices/pci0/virtio6", &["MODALIAS="]),
    ];
    run(
        config("modalias_handling enabled\n"),
        Some(&aliases),
        &events,
    );
    assert_eq!(
        *aliases.0.lock().unwrap(),
        [
            "virtio:d00000002v00001AF4",
            "virtio:d00000001v00001AF4",
            "fail:thing"
        ]
    );
}

#[test]
fn disabled_by_default() {
    let aliases = Aliases::default();
    run(
        UeventdConfig::default(),
        Some(&aliases),
        &[add("virtio:x", "/devices/v1")],
    );
    run(
        config("modalias_handling enabled\nmodalias_handling disabled\n"),
        Some(&aliases),
        &[add("virtio:x", "/devices/v1")],
    );
    assert!(aliases.0.lock().unwrap().is_empty());
}

#[test]
fn enabled_without_a_handler_is_harmless() {
    run(
        config("modalias_handling enabled\n"),
        None,
        &[add("virtio:x", "/devices/v1")],
    );
}
