#!/bin/sh
# Partitioning for "{{layout.name}}" ({{layout.level}}) in the Debian installer: picks disks and sets partman's answers.
set -eu
level="{{layout.level}}"
minimum={{layout.minimumDisks}}
boot_mb={{bootPartitionMB}}
efi_mb={{efiPartitionMB}}
# Whole disks with their sizes, smallest first.
disks=""
for device in $(list-devices disk); do
    size=$(blockdev --getsize64 "$device" 2>/dev/null || echo 0)
    disks="$disks$size $device
"
done
disks=$(printf '%s' "$disks" | sort -n | awk 'NF == 2 {print $2}')
count=$(printf '%s\n' "$disks" | grep -c . || true)
if [ "$count" -lt "$minimum" ]; then
    wget -T 10 -qO /dev/null "{{urls.progress}}?step=failed&message=only+${count}+disks+found,+the+layout+needs+${minimum}" || true
    exit 1
fi
raid=""
case "$level" in
    largest) disks=$(printf '%s\n' "$disks" | tail -n 1) ;;
    smallest) disks=$(printf '%s\n' "$disks" | head -n 1) ;;
    auto)
        if [ "$count" -ge 4 ]; then raid=10; disks=$(printf '%s\n' "$disks" | head -n $((count / 2 * 2)))
        elif [ "$count" -eq 3 ]; then raid=5
        elif [ "$count" -eq 2 ]; then raid=1
        else disks=$(printf '%s\n' "$disks" | head -n 1); fi ;;
    *) raid="$level" ;;
esac
if [ -d "${RACKAGENT_EFI_DIR:-/sys/firmware/efi}" ]; then efi=1; else efi=0; fi
list=$(printf '%s\n' "$disks" | tr '\n' ' ' | sed 's/ *$//')
debconf-set partman-auto/disk "$list"
if [ -z "$raid" ]; then
    debconf-set partman-auto/method regular
    if [ "$efi" = 1 ]; then first="$efi_mb $efi_mb $efi_mb free \$iflabel{ gpt } \$reusemethod{ } method{ efi } format{ } ."
    else first="1 1 1 free \$iflabel{ gpt } \$reusemethod{ } method{ biosgrub } ."; fi
    debconf-set partman-auto/expert_recipe "rackagent :: $first $boot_mb $boot_mb $boot_mb ext4 \$primary{ } \$bootable{ } method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ /boot } . 4096 8192 -1 ext4 method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ / } ."
else
    debconf-set partman-auto/method raid
    members_boot=""; members_root=""; index=0
    for device in $disks; do
        case "$device" in *nvme*|*mmcblk*) separator=p ;; *) separator="" ;; esac
        members_boot="$members_boot${members_boot:+#}$device${separator}2"
        members_root="$members_root${members_root:+#}$device${separator}3"
        index=$((index + 1))
    done
    spares=0
    debconf-set partman-auto-raid/recipe "1 $index $spares ext4 /boot $members_boot . $raid $index $spares ext4 / $members_root ."
    if [ "$efi" = 1 ]; then first="$efi_mb $efi_mb $efi_mb free \$iflabel{ gpt } \$reusemethod{ } method{ efi } format{ } ."
    else first="1 1 1 free \$iflabel{ gpt } \$reusemethod{ } method{ biosgrub } ."; fi
    debconf-set partman-auto/expert_recipe "rackagent :: $first $boot_mb $boot_mb $boot_mb raid \$primary{ } method{ raid } . 4096 8192 -1 raid method{ raid } ."
fi
