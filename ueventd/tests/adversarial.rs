//! Adversarial and property tests for the two parsers of untrusted input, plus a smoke
//! test of the real netlink socket.

use proptest::prelude::*;
use ueventd::{parse_config, parse_uevent, Uevent, UeventAction, UeventError, UEVENT_MSG_MAX};

fn action() -> impl Strategy<Value = UeventAction> {
    prop_oneof![
        Just(UeventAction::Add),
        Just(UeventAction::Remove),
        Just(UeventAction::Change),
        Just(UeventAction::Move),
        Just(UeventAction::Online),
        Just(UeventAction::Offline),
        Just(UeventAction::Bind),
        Just(UeventAction::Unbind),
    ]
}

fn value() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9_:./ -]{0,40}")
}

prop_compose! {
    fn arb_uevent()(
        action in action(),
        devpath in "(/[a-z0-9:_-][a-z0-9:._-]{0,11}){1,6}",
        subsystem in value(),
        numbers in proptest::option::of((any::<u32>(), any::<u32>())),
        devname in value(),
        partn in proptest::option::of(any::<u32>()),
        partname in value(),
        modalias in value(),
        firmware in value(),
        seqnum in proptest::option::of(any::<u64>()),
    ) -> Uevent {
        let mut ev = Uevent::new(action, &devpath);
        ev.subsystem = subsystem;
        ev.major = numbers.map(|n| n.0);
        ev.minor = numbers.map(|n| n.1);
        ev.devname = devname;
        ev.partn = partn;
        ev.partname = partname;
        ev.modalias = modalias;
        ev.firmware = firmware;
        ev.seqnum = seqnum;
        ev
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn uevent_round_trips(ev in arb_uevent()) {
        prop_assert_eq!(parse_uevent(&ev.to_message()), Ok(ev));
    }

    #[test]
    fn uevent_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_uevent(&bytes);
    }

    #[test]
    fn uevent_parser_never_panics_on_near_valid(
        ev in arb_uevent(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut m = ev.to_message();
        let at = flip.index(m.len());
        m[at] = byte;
        let _ = parse_uevent(&m);
        m.truncate(cut.index(m.len() + 1));
        let _ = parse_uevent(&m);
    }

    #[test]
    fn config_parser_never_panics(text in "\\PC{0,400}") {
        let _ = parse_config(&text, "fuzz.rc");
    }

    #[test]
    fn config_parser_never_panics_on_rc_like_text(
        lines in proptest::collection::vec(
            "(/dev/|/sys/|subsystem |devname |dirname |import |firmware_directories |external_firmware_handler |modalias_handling |uevent_socket_rcvbuf_size |parallel_restorecon |#|\"|\\\\)?[a-z0-9*?\\[\\]/ \"\\\\#.-]{0,30}",
            0..20,
        )
    ) {
        let text = lines.join("\n");
        let (_, errors) = parse_config(&text, "fuzz.rc");
        for e in errors {
            prop_assert!(e.line <= text.lines().count() + 1);
        }
    }
}

#[test]
fn huge_message_is_rejected_without_parsing() {
    let mut m = b"add@/devices/x\0".to_vec();
    m.resize(10 * UEVENT_MSG_MAX, b'A');
    assert!(matches!(
        parse_uevent(&m),
        Err(UeventError::TooLarge { .. })
    ));
}

#[test]
fn many_fields_are_fine() {
    let mut m = b"add@/devices/x\0".to_vec();
    while m.len() < UEVENT_MSG_MAX - 8 {
        m.extend_from_slice(b"X=1\0");
    }
    assert!(parse_uevent(&m).is_ok());
}

#[test]
fn config_with_long_lines_and_many_tokens() {
    let long = format!("/dev/{} 0600 root root\n", "a".repeat(100_000));
    let (c, errors) = parse_config(&long, "long.rc");
    assert!(errors.is_empty());
    assert_eq!(c.dev_permissions.len(), 1);
    let many = format!("firmware_directories {}\n", "/fw ".repeat(10_000));
    let (c, _) = parse_config(&many, "many.rc");
    assert_eq!(c.firmware_directories.len(), 10_000);
}

/// The real socket opens (SO_RCVBUFFORCE as root, SO_RCVBUF otherwise) and reads without
/// blocking; anything that arrives is either a kernel event or a classified drop.
#[test]
fn real_socket_opens_and_drains() {
    use ueventd::{UeventSocket, UeventSource};
    let mut socket = match UeventSocket::open(64 * 1024) {
        Ok(s) => s,
        Err(e) => {
            // Sandboxes without netlink: nothing more to check here.
            eprintln!("skipping: {e}");
            return;
        }
    };
    // A zero timeout returns at once, whatever is pending.
    let _pending = socket
        .wait_timeout(Some(std::time::Duration::ZERO))
        .unwrap();
    for _ in 0..1000 {
        match socket.try_recv() {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => panic!("{e}"),
        }
    }
}
