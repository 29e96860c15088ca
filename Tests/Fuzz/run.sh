#!/bin/bash
# Runs every fuzz target (or the ones named) for a bounded time each and fails on any crash, leak, timeout or
# out-of-memory. Seeds come from Tests/Fuzz/seeds.py; the inputs of Tests/Fuzz/Regressions/<target> join them.
# Usage: Tests/Fuzz/run.sh FUZZ_BINARY SECONDS_PER_TARGET [TARGET...]
set -uo pipefail
binary=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$here/.build/fuzz-work
mkdir -p "$work"
python3 "$here/Tests/Fuzz/seeds.py" "$here" "$work/corpus" > "$work/seeds.log" || { cat "$work/seeds.log" >&2; echo "the seed corpus could not be written" >&2; exit 1; }
export LSAN_OPTIONS="suppressions=$here/Tests/Fuzz/lsan-suppressions.txt:print_suppressions=0"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(RACKAGENT_FUZZ_TARGET=list "$binary"); fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets listed by $binary" >&2; exit 1; }
failed=()
printf '%-24s %8s %10s %10s %8s %8s  %s\n' target seconds executions "exec/s" cov features result
for target in "${targets[@]}"; do
    mkdir -p "$work/artifacts/$target"
    corpora=("$work/corpus/$target")
    [ -d "$here/Tests/Fuzz/Regressions/$target" ] && corpora+=("$here/Tests/Fuzz/Regressions/$target")
    log=$work/$target.log
    RACKAGENT_FUZZ_TARGET=$target timeout $((seconds + 300)) "$binary" -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" "${corpora[@]}" > "$log" 2>&1
    status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    features=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    result=ok
    if [ "$status" -ne 0 ]; then result="FAILED ($status)"; failed+=("$target"); fi
    printf '%-24s %8s %10s %10s %8s %8s  %s\n' "$target" "$seconds" "${executions:-?}" "${rate:-?}" "${coverage:-?}" "${features:-?}" "$result"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|panic|Fatal error|#[0-9]+ 0x.* in \$s' "$log" | head -25
        echo "   log: $log   inputs: $work/artifacts/$target/"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
