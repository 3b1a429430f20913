//! User and group names: Android's fixed AIDs (`android_filesystem_config.h`) and plain
//! numbers. rc files name users the Android way (`system`, `shell`, …); the guest has no
//! passwd database, so this table is the whole name service.

/// `(name, id)` for the AIDs rc files commonly use; uid and gid share the numbering.
const AIDS: &[(&str, u32)] = &[
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
    ("mdnsr", 1020),
    ("gps", 1021),
    ("media_rw", 1023),
    ("mtp", 1024),
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
    ("net_bt_stack", 3008),
    ("readproc", 3009),
    ("wakelock", 3010),
    ("uhid", 3011),
    ("readtracefs", 3012),
    ("everybody", 9997),
    ("misc", 9998),
    ("nobody", 9999),
];

/// Resolves a user or group name (AID name or decimal number) to its id.
pub fn resolve_id(name: &str) -> Option<u32> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse().ok();
    }
    AIDS.iter().find(|(n, _)| *n == name).map(|&(_, id)| id)
}

/// Resolves `name` or returns an error naming it and its kind (`user`/`group`).
pub fn require_id(kind: &str, name: &str) -> Result<u32, String> {
    resolve_id(name).ok_or_else(|| format!("unknown {kind} '{name}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(resolve_id("root"), Some(0));
        assert_eq!(resolve_id("system"), Some(1000));
        assert_eq!(resolve_id("shell"), Some(2000));
        assert_eq!(resolve_id("readproc"), Some(3009));
        assert_eq!(resolve_id("1234"), Some(1234));
        assert_eq!(resolve_id("99999999999"), None);
        assert_eq!(resolve_id("nosuchuser"), None);
        assert_eq!(resolve_id(""), None);
        assert!(require_id("user", "x").unwrap_err().contains("user 'x'"));
    }
}
