#!/bin/sh
# Root password reset for {{hostname}} from the rescue system: finds the installed root file system, writes the
# new hash into its /etc/shadow, tells rackagent and reboots into the installed system.
set -u
report() { wget -qO /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || true; }
(mdadm --assemble --scan; vgchange -ay) >/dev/null 2>&1 || true
mountpoint=/mnt/rackagent-root
mkdir -p "$mountpoint"
found=""
for device in $(lsblk -ln -o PATH,FSTYPE | awk '$2 ~ /^(ext4|ext3|xfs|btrfs)$/ {print $1}'); do
    mount "$device" "$mountpoint" 2>/dev/null || continue
    if [ -f "$mountpoint/etc/shadow" ]; then found="$device"; break; fi
    umount "$mountpoint"
done
if [ -z "$found" ]; then
    report "{{urls.progress}}?step=failed&message=no+root+file+system+with+/etc/shadow+found"
    exit 1
fi
cat > "$mountpoint/root/.rackagent-password" <<'RACKAGENT_HASH'
root:{{rootPasswordHash}}
RACKAGENT_HASH
chroot "$mountpoint" sh -c 'chpasswd -e < /root/.rackagent-password'
status=$?
rm -f "$mountpoint/root/.rackagent-password"
[ "$status" = 0 ] || {
    report "{{urls.progress}}?step=failed&message=chpasswd+failed+on+${found}"
    umount "$mountpoint"; exit 1
}
{{#hasSSHKeys}}
install -d -m 0700 "$mountpoint/root/.ssh"
cat >> "$mountpoint/root/.ssh/authorized_keys" <<'RACKAGENT_KEYS'
{{#sshKeys}}
{{.}}
{{/sshKeys}}
RACKAGENT_KEYS
chmod 0600 "$mountpoint/root/.ssh/authorized_keys"
{{/hasSSHKeys}}
sync
umount "$mountpoint"
report "{{urls.done}}?event=passwordResetFinished"
reboot
