#!/bin/bash
# Disk wipe for {{hostname}} (mode {{diskWipeMode}}), run by the rescue system; reports each disk to rackagent.
# fast:   wipefs on every partition and disk, then discard (SSD/NVMe) or zero the first and last 64 MiB (HDD).
# secure: per disk, blkdiscard --secure when the device supports it, otherwise shred with one random pass.
set -u
mode="{{diskWipeMode}}"
report() { wget -qO /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || true; }
fail() { report "{{urls.progress}}?step=failed&message=$1"; exit 1; }
# Stop anything that holds the disks: software RAID, LVM.
(mdadm --stop --scan; vgchange -an) >/dev/null 2>&1 || true
disks=$(lsblk -dn -o NAME,TYPE,RO,RM | awk '$2 == "disk" && $3 == 0 && $4 == 0 && $1 !~ /^(zram|loop|sr|fd)/ {print $1}')
[ -n "$disks" ] || fail "no+disks+found"
for name in $disks; do
    device="/dev/$name"
    report "{{urls.progress}}?step=wipe&message=wiping+${name}+(${mode})"
    for part in $(lsblk -ln -o NAME "$device" | tail -n +2); do wipefs -a "/dev/$part" >/dev/null 2>&1 || true; done
    wipefs -a "$device" >/dev/null 2>&1 || fail "wipefs+failed+on+${name}"
    size=$(blockdev --getsize64 "$device")
    discard_max=$(cat "/sys/block/$name/queue/discard_max_bytes" 2>/dev/null || echo 0)
    if [ "$mode" = secure ]; then
        if [ "$discard_max" != 0 ] && blkdiscard --secure "$device" 2>/dev/null; then
            method="blkdiscard+--secure"
        else
            shred -n 1 -z "$device" || fail "shred+failed+on+${name}"
            method="shred"
        fi
    else
        if [ "$discard_max" != 0 ] && blkdiscard "$device" 2>/dev/null; then
            method="blkdiscard"
        else
            dd if=/dev/zero of="$device" bs=1M count=64 conv=fsync status=none || fail "zeroing+failed+on+${name}"
            if [ "$size" -gt $((128 * 1024 * 1024)) ]; then
                dd if=/dev/zero of="$device" bs=1M count=64 seek=$((size / 1024 / 1024 - 64)) conv=fsync status=none || true
            fi
            method="zeroed+head+and+tail"
        fi
    fi
    report "{{urls.progress}}?step=wipe&message=${name}+wiped+(${method})"
done
report "{{urls.done}}?event=diskWipeFinished"
