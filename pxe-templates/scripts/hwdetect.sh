#!/bin/bash
# Hardware detection for rackagent: collects CPU, memory, disks, NICs, mainboard, BIOS, system, RAID and storage
# controllers from /proc, /sys, dmidecode, lsblk and lspci and posts them as JSON to the callback URL.
# Runs in the rescue system or on a live server:  wget -qO - <this script's URL> | bash -s '<callback URL>'
set -u
callback="${1:-{{urls.inventory}}}"
export LC_ALL=C
# A JSON string from stdin: drops control and non-ASCII bytes, escapes the rest.
json_string() {
    local text
    text=$(tr -d '\000-\010\013\014\016-\037\177-\377'; printf x)
    text=${text%x}
    text=${text//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\t'/\\t}
    text=${text//$'\r'/\\r}
    text=${text//$'\n'/\\n}
    printf '"%s"' "$text"
}
read_file() { [ -r "$1" ] && cat "$1" 2>/dev/null; }
dmi() { command -v dmidecode >/dev/null 2>&1 && dmidecode -t "$1" 2>/dev/null; }
nics() {
    local first=1 path name
    printf '['
    for path in /sys/class/net/*; do
        name=${path##*/}
        [ "$name" = lo ] && continue
        [ -e "$path/device" ] || continue
        [ "$first" = 1 ] || printf ','
        first=0
        printf '{"name":%s,"mac":%s,"speed":%s,"driver":%s,"state":%s}' \
            "$(printf '%s' "$name" | json_string)" \
            "$(read_file "$path/address" | tr -d '\n' | json_string)" \
            "$(read_file "$path/speed" | tr -d '\n' | json_string)" \
            "$(basename "$(readlink "$path/device/driver" 2>/dev/null || echo unknown)" | tr -d '\n' | json_string)" \
            "$(read_file "$path/operstate" | tr -d '\n' | json_string)"
    done
    printf ']'
}
dmi_id() {
    local first=1 key
    printf '{'
    for key in sys_vendor product_name product_serial product_version board_vendor board_name board_version board_serial bios_vendor bios_version bios_date; do
        [ -r "/sys/class/dmi/id/$key" ] || continue
        [ "$first" = 1 ] || printf ','
        first=0
        printf '"%s":%s' "$key" "$(read_file "/sys/class/dmi/id/$key" | tr -d '\n' | json_string)"
    done
    printf '}'
}
blocks=$(lsblk -J -b -d -o NAME,SIZE,TYPE,ROTA,TRAN,MODEL,SERIAL,VENDOR,RM,RO 2>/dev/null)
[ -n "$blocks" ] || blocks='{"blockdevices":[]}'
payload=$(mktemp)
trap 'rm -f "$payload"' EXIT
{
    printf '{"format":"rackagent-hwdetect-1"'
    printf ',"hostname":%s' "$(hostname 2>/dev/null | json_string)"
    printf ',"kernel":%s' "$(uname -r | tr -d '\n' | json_string)"
    printf ',"cpuinfo":%s' "$(grep -E '^(processor|model name|cpu MHz|physical id|core id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo | json_string)"
    printf ',"meminfo":%s' "$(grep -E '^MemTotal:' /proc/meminfo | json_string)"
    printf ',"dmidecode":{"bios":%s,"system":%s,"baseboard":%s,"processor":%s,"memory":%s}' \
        "$(dmi 0 | json_string)" "$(dmi 1 | json_string)" "$(dmi 2 | json_string)" "$(dmi 4 | json_string)" "$(dmi 17 | json_string)"
    printf ',"dmiId":%s' "$(dmi_id)"
    printf ',"lsblk":%s' "$blocks"
    printf ',"nics":%s' "$(nics)"
    printf ',"lspci":%s' "$( (command -v lspci >/dev/null 2>&1 && lspci -mm -nn) | json_string)"
    printf ',"mdstat":%s' "$(read_file /proc/mdstat | json_string)"
    printf '}\n'
} > "$payload"
if command -v curl >/dev/null 2>&1; then
    curl -fsS --retry 3 -H 'Content-Type: application/json' --data-binary "@$payload" "$callback" >/dev/null
else
    wget -qO /dev/null --header='Content-Type: application/json' --post-file="$payload" "$callback"
fi
