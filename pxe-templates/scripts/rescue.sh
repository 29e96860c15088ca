#!/bin/sh
# Rescue system for {{hostname}}: root's password (hash) and SSH keys, sshd, then tells rackagent it is ready.
set -u
report() { wget -qO /dev/null "$1" 2>/dev/null || curl -fsS -o /dev/null "$1" 2>/dev/null || true; }
{{#setRootPassword}}
echo 'root:{{rootPasswordHash}}' | chpasswd -e
{{/setRootPassword}}
{{#hasSSHKeys}}
install -d -m 0700 /root/.ssh
cat > /root/.ssh/authorized_keys <<'RACKAGENT_KEYS'
{{#sshKeys}}
{{.}}
{{/sshKeys}}
RACKAGENT_KEYS
chmod 0600 /root/.ssh/authorized_keys
{{/hasSSHKeys}}
(systemctl start ssh || systemctl start sshd || service ssh start) >/dev/null 2>&1 || true
report "{{urls.done}}?event=rescueReady"
