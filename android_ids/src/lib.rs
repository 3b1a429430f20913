//! Android user and group names, shared by the rc interpreter and ueventd (the AID table of AOSP's
//! `libcutils/include/private/android_filesystem_config.h`, as bionic's `getpwnam`/
//! `getgrnam` resolve them), plus the `oem_NNNN` names of the two OEM ranges and plain
//! decimal numbers.

/// `(name, id)` for every fixed AID. Friendly names are the lower-cased `AID_` suffix,
/// except `mediacodec`, `mediaex` and `mediadrm`.
const AIDS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("system", 1000),
    ("radio", 1001),
    ("bluetooth", 1002),
    ("graphics", 1003),
    ("input", 1004),
    ("audio", 1005),
    ("camera", 1006),
    ("log", 1007),
    ("compass", 1008),
    ("mount", 1009),
    ("wifi", 1010),
    ("adb", 1011),
    ("install", 1012),
    ("media", 1013),
    ("dhcp", 1014),
    ("sdcard_rw", 1015),
    ("vpn", 1016),
    ("keystore", 1017),
    ("usb", 1018),
    ("drm", 1019),
    ("mdnsr", 1020),
    ("gps", 1021),
    ("unused1", 1022),
    ("media_rw", 1023),
    ("mtp", 1024),
    ("unused2", 1025),
    ("drmrpc", 1026),
    ("nfc", 1027),
    ("sdcard_r", 1028),
    ("clat", 1029),
    ("loop_radio", 1030),
    ("mediadrm", 1031),
    ("package_info", 1032),
    ("sdcard_pics", 1033),
    ("sdcard_av", 1034),
    ("sdcard_all", 1035),
    ("logd", 1036),
    ("shared_relro", 1037),
    ("dbus", 1038),
    ("tlsdate", 1039),
    ("mediaex", 1040),
    ("audioserver", 1041),
    ("metrics_coll", 1042),
    ("metricsd", 1043),
    ("webserv", 1044),
    ("debuggerd", 1045),
    ("mediacodec", 1046),
    ("cameraserver", 1047),
    ("firewall", 1048),
    ("trunks", 1049),
    ("nvram", 1050),
    ("dns", 1051),
    ("dns_tether", 1052),
    ("webview_zygote", 1053),
    ("vehicle_network", 1054),
    ("media_audio", 1055),
    ("media_video", 1056),
    ("media_image", 1057),
    ("tombstoned", 1058),
    ("media_obb", 1059),
    ("ese", 1060),
    ("ota_update", 1061),
    ("automotive_evs", 1062),
    ("lowpan", 1063),
    ("hsm", 1064),
    ("reserved_disk", 1065),
    ("statsd", 1066),
    ("incidentd", 1067),
    ("secure_element", 1068),
    ("lmkd", 1069),
    ("llkd", 1070),
    ("iorapd", 1071),
    ("gpu_service", 1072),
    ("network_stack", 1073),
    ("gsid", 1074),
    ("fsverity_cert", 1075),
    ("credstore", 1076),
    ("external_storage", 1077),
    ("ext_data_rw", 1078),
    ("ext_obb_rw", 1079),
    ("context_hub", 1080),
    ("virtualizationservice", 1081),
    ("artd", 1082),
    ("uwb", 1083),
    ("thread_network", 1084),
    ("diced", 1085),
    ("dmesgd", 1086),
    ("jc_weaver", 1087),
    ("jc_strongbox", 1088),
    ("jc_identitycred", 1089),
    ("sdk_sandbox", 1090),
    ("security_log_writer", 1091),
    ("prng_seeder", 1092),
    ("uprobestats", 1093),
    ("cros_ec", 1094),
    ("mmd", 1095),
    ("shell", 2000),
    ("cache", 2001),
    ("diag", 2002),
    ("net_bt_admin", 3001),
    ("net_bt", 3002),
    ("inet", 3003),
    ("net_raw", 3004),
    ("net_admin", 3005),
    ("net_bw_stats", 3006),
    ("net_bw_acct", 3007),
    ("readproc", 3009),
    ("wakelock", 3010),
    ("uhid", 3011),
    ("readtracefs", 3012),
    ("virtualmachine", 3013),
    ("everybody", 9997),
    ("misc", 9998),
    ("nobody", 9999),
    ("overflowuid", 65534),
];

/// Resolves an Android user or group name (`system`, `oem_2901`, …) or a decimal id.
/// Returns `None` for anything else.
pub fn resolve_id(name: &str) -> Option<u32> {
    if let Some(&(_, id)) = AIDS.iter().find(|(n, _)| *n == name) {
        return Some(id);
    }
    if let Some(num) = name.strip_prefix("oem_") {
        let id = parse_decimal(num)?;
        return ((2900..=2999).contains(&id) || (5000..=5999).contains(&id)).then_some(id);
    }
    parse_decimal(name)
}

/// The Android name of an id, if it has one (used in log lines).
pub fn id_name(id: u32) -> Option<&'static str> {
    AIDS.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

/// Plain decimal `u32`: digits only, no sign, no blanks.
fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names() {
        for (name, id) in [
            ("root", 0),
            ("system", 1000),
            ("radio", 1001),
            ("bluetooth", 1002),
            ("graphics", 1003),
            ("input", 1004),
            ("audio", 1005),
            ("camera", 1006),
            ("log", 1007),
            ("compass", 1008),
            ("mount", 1009),
            ("wifi", 1010),
            ("adb", 1011),
            ("install", 1012),
            ("media", 1013),
            ("dhcp", 1014),
            ("sdcard_rw", 1015),
            ("vpn", 1016),
            ("keystore", 1017),
            ("usb", 1018),
            ("drm", 1019),
            ("mediacodec", 1046),
            ("mediaex", 1040),
            ("mediadrm", 1031),
            ("shell", 2000),
            ("cache", 2001),
            ("diag", 2002),
            ("nobody", 9999),
        ] {
            assert_eq!(resolve_id(name), Some(id), "{name}");
            assert_eq!(id_name(id), Some(name));
        }
    }

    #[test]
    fn names_and_ids_are_unique() {
        for (i, (n, id)) in AIDS.iter().enumerate() {
            for (m, jd) in &AIDS[i + 1..] {
                assert_ne!(n, m);
                assert_ne!(id, jd);
            }
        }
    }

    #[test]
    fn numbers_and_oem() {
        assert_eq!(resolve_id("1234"), Some(1234));
        assert_eq!(resolve_id("0"), Some(0));
        assert_eq!(resolve_id("4294967295"), Some(u32::MAX));
        assert_eq!(resolve_id("4294967296"), None);
        assert_eq!(resolve_id("oem_2900"), Some(2900));
        assert_eq!(resolve_id("oem_5999"), Some(5999));
        assert_eq!(resolve_id("oem_3000"), None);
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "0x10",
            "Root",
            "media_codec",
            "oem_",
        ] {
            assert_eq!(resolve_id(bad), None, "{bad:?}");
        }
    }
}
