#!/bin/sh
# First boot after an installation by rackagent for {{hostname}}: reports completion to the agent before and
# after running the post-installation scripts (the profile's mark_installation_completed_event picks which counts).
set -u
report() { curl -fsS --retry 5 --retry-delay 3 "$1" >/dev/null 2>&1 || wget -qO /dev/null "$1" || true; }
report "{{urls.done}}?event=firstBootBeforeScriptExecution"
{{#scripts}}
report "{{urls.progress}}?step=script&message=running+script+{{index}}"
if curl -fsS -o /root/rackagent-script-{{index}}.sh "{{url}}" || wget -qO /root/rackagent-script-{{index}}.sh "{{url}}"; then
    sh /root/rackagent-script-{{index}}.sh > /root/rackagent-script-{{index}}.log 2>&1 || true
fi
{{/scripts}}
cat > /root/rackagent-custom-firstboot.sh <<'RACKAGENT_FIRSTBOOT'
{{customFirstBoot}}
RACKAGENT_FIRSTBOOT
sh /root/rackagent-custom-firstboot.sh > /root/rackagent-custom-firstboot.log 2>&1 || true
report "{{urls.done}}?event=firstBootAfterScriptExecution"
