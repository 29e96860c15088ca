#!/bin/bash
# Installs a built rackagent .deb on this machine and checks it as an operator would: lintian, dpkg -i, the man page
# and completions, `rackagent config check` and `doctor` as the service user, the daemon started (under systemd when it
# runs, otherwise the unit's ExecStart by hand), the API answering, then a purge that leaves nothing behind.
# Usage: packaging/check-deb.sh PACKAGE.deb   (as root; it changes this machine and undoes it)
set -euo pipefail
deb=$1
pid=""
installed=""
log=$(mktemp)
fail() { echo "FAIL: $*" >&2; exit 1; }
# Whatever fails, the machine is left as it was: the daemon stopped, the package purged.
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    if [ -d /run/systemd/system ] && [ -n "$installed" ]; then systemctl stop rackagent 2>/dev/null || true; fi
    if [ -n "$installed" ] && dpkg -s rackagent >/dev/null 2>&1; then dpkg --purge rackagent >/dev/null 2>&1 || true; fi
    rm -f "$log"
}
trap cleanup EXIT
echo "== lintian"
# Exit status 2 is lintian's "errors found" (checked below from the tags); 1 is lintian itself failing.
report=$(lintian --tag-display-limit 0 "$deb" 2>&1) || [ $? -eq 2 ] || fail "lintian did not run: $report"
echo "$report"
if echo "$report" | grep -q '^E:'; then fail "lintian reports errors"; fi

echo "== install"
installed=yes
dpkg -i "$deb"
getent passwd rackagent >/dev/null || fail "no rackagent user"
[ "$(stat -c '%a %G' /etc/rackagent/agent.yaml)" = "640 rackagent" ] || fail "agent.yaml is not 0640 group rackagent"
[ "$(stat -c '%a %U' /var/lib/rackagent)" = "700 rackagent" ] || fail "state directory is not 0700 rackagent"
page=$(man -P cat rackagent 2>/dev/null) || fail "no man page"
grep -q "The running agent at a glance" <<< "$page" || fail "man rackagent does not show the subcommands"
bash -c 'source /usr/share/bash-completion/completions/rackagent && complete -p rackagent' >/dev/null || fail "the bash completion does not load"
[ -s /usr/share/zsh/vendor-completions/_rackagent ] && [ -s /usr/share/fish/vendor_completions.d/rackagent.fish ] || fail "no zsh or fish completion"
if [ -d /run/systemd/system ]; then systemctl is-active --quiet rackagent && fail "the daemon started on a fresh install"; fi

echo "== config check and doctor as the service user"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/^  listen: 127.0.0.1:8443 /  listen: 127.0.0.1:$port /" /etc/rackagent/agent.yaml
sed -i "s/^  listen: 0.0.0.0:8080/  listen: 127.0.0.1:0/; s/^  listen: 0.0.0.0:8444/  listen: 127.0.0.1:0/" /etc/rackagent/agent.yaml
sed -i "s/^  backend: dnsmasq /  backend: none    /" /etc/rackagent/agent.yaml
runuser -u rackagent -- rackagent config check /etc/rackagent/agent.yaml >/dev/null
runuser -u rackagent -- rackagent doctor --config /etc/rackagent/agent.yaml --state-dir /var/lib/rackagent || true

echo "== run and ping"
if [ -d /run/systemd/system ]; then
    systemctl start rackagent
    pid=""
else
    exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/rackagent.service)
    runuser -u rackagent -- $exec_start > "$log" 2>&1 &
    pid=$!
fi
token=""
for _ in $(seq 1 100); do
    [ -r /var/lib/rackagent/token ] && token=$(cat /var/lib/rackagent/token) && curl -sfk -H "Authorization: Bearer $token" "https://127.0.0.1:$port/v1/ping" >/dev/null && break
    sleep 0.2
done
answer=$(curl -sfk -H "Authorization: Bearer $token" "https://127.0.0.1:$port/v1/ping") || fail "the API did not answer: $(cat "$log")"
echo "ping: $answer"
status=$(runuser -u rackagent -- rackagent status --config /etc/rackagent/agent.yaml --state-dir /var/lib/rackagent) || fail "rackagent status failed: $status"
echo "$status"
grep -q "^agent " <<< "$status" || fail "rackagent status does not show the agent"
if [ -n "$pid" ]; then kill "$pid"; wait "$pid" || true; pid=""; else systemctl stop rackagent; fi

echo "== purge"
dpkg --purge rackagent
installed=""
for path in /usr/bin/rackagent /etc/rackagent /var/lib/rackagent /lib/systemd/system/rackagent.service /usr/share/rackagent /usr/share/man/man1/rackagent.1.gz; do
    [ -e "$path" ] && fail "$path is left behind"
done
getent passwd rackagent >/dev/null && fail "the rackagent user is left behind"
echo "OK: installed, configured, ran, answered, purged clean"
