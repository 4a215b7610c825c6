#!/usr/bin/env bash
# Runs every libFuzzer target of Tests/Fuzz (built by `make fuzz-build`, CONFIG release or debug) for RUNS inputs
# each (default 1,000,000), seeded from
# Tests/Fuzz/Corpus/<target>/, and prints one line per target: inputs run, and whether it crashed.
# Exit status 1 when any target crashed (the crashing input is kept as .build-fuzz/crash-<target>-*).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
bin=".build-fuzz/${2:-release}"
failed=0
for target in fuzz-operator fuzz-agent fuzz-admission fuzz-kubeconfig fuzz-whatif fuzz-cloudinit; do
    corpus=".build-fuzz/corpus/$target"
    mkdir -p "$corpus"
    cp -n Tests/Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    log=".build-fuzz/$target.log"
    start=$(date +%s)
    if "$bin/$target" -runs="$runs" -max_len=16384 -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix=".build-fuzz/crash-$target-" "$corpus" >"$log" 2>&1; then
        done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1)
        echo "$target: ${done_line#Done } ($(($(date +%s) - start)) s wall), 0 crashes"
    else
        echo "$target: CRASHED, see $log and .build-fuzz/crash-$target-*" >&2
        tail -30 "$log" >&2
        failed=1
    fi
done
exit $failed
