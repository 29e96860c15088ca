#!/bin/sh
# Runs inside the installed system at the end of a preseed or autoinstall installation by rackagent for
# {{hostname}}: root's SSH keys, extra addresses, the profile's post script, the first-boot unit.
set -u
report() { wget -qO /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || true; }
report "{{urls.progress}}?step=post&message=post-installation+started"
{{#hasSSHKeys}}
install -d -m 0700 /root/.ssh
cat >> /root/.ssh/authorized_keys <<'RACKAGENT_KEYS'
{{#sshKeys}}
{{.}}
{{/sshKeys}}
RACKAGENT_KEYS
chmod 0600 /root/.ssh/authorized_keys
{{/hasSSHKeys}}
interface=$(for path in /sys/class/net/*; do [ "$(cat "$path/address" 2>/dev/null)" = "{{mac}}" ] && basename "$path"; done | head -n 1)
if [ -n "$interface" ] && [ -f /etc/network/interfaces ]; then
{{#ipv4Addresses}}
{{^primary}}
    printf 'up ip addr add %s dev %s\n' "{{ip}}/{{cidr}}" "$interface" >> /etc/network/interfaces
{{/primary}}
{{/ipv4Addresses}}
{{#ipv6Addresses}}
    printf 'up ip -6 addr add %s dev %s\n' "{{ip}}/{{cidr}}" "$interface" >> /etc/network/interfaces
{{/ipv6Addresses}}
    :
fi
cat > /root/rackagent-custom-post.sh <<'RACKAGENT_CUSTOM_POST'
{{customPostScript}}
RACKAGENT_CUSTOM_POST
sh /root/rackagent-custom-post.sh > /root/rackagent-custom-post.log 2>&1 || true
if [ -x /usr/local/sbin/rackagent-firstboot ]; then
    cat > /etc/systemd/system/rackagent-firstboot.service <<'RACKAGENT_UNIT'
[Unit]
Description=Report the installation to rackagent and run the post-installation scripts
After=network-online.target
Wants=network-online.target
ConditionPathExists=/usr/local/sbin/rackagent-firstboot

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/rackagent-firstboot
ExecStartPost=/bin/rm -f /usr/local/sbin/rackagent-firstboot

[Install]
WantedBy=multi-user.target
RACKAGENT_UNIT
    systemctl enable rackagent-firstboot.service
fi
report "{{urls.progress}}?step=post&message=post-installation+finished"
