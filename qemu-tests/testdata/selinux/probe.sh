# The SELinux probe of tests/selinux.rs, run by busybox sh from an rc `exec` once /data
# is mounted: `busybox sh probe.sh PATH...`. It prints one KEY=VALUE line per fact (the
# mode, the root's filesystem, its own domain, PID 1's and ueventd's), then
# `sepolicy getcon PATH...` (PATH<TAB>LABEL lines), then PROBE_DONE.
echo "SELINUX_ENFORCE=$(cat /sys/fs/selinux/enforce)"
# The initramfs root's filesystem (statfs magic): 1021994 is tmpfs, 858458f6 ramfs.
echo "ROOT_FS_MAGIC=$(stat -f -c %t /)"
echo "PROBE_LABEL=$(tr -d '\000' < /proc/self/attr/current)"
echo "INIT_LABEL=$(tr -d '\000' < /proc/1/attr/current)"
for pid in $(pidof ueventd); do
    echo "UEVENTD_LABEL=$(tr -d '\000' < /proc/$pid/attr/current)"
    break
done
/system/bin/sepolicy getcon "$@"
echo "GETCON_STATUS=$?"
echo PROBE_DONE
