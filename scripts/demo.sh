#!/usr/bin/env bash
# The EMP demo: starts the control plane on a fresh data directory, walks through its API step by step,
# narrating what happened and how long it took, then keeps running until Ctrl-C (DEMO_ONCE=1: exit after
# the walkthrough, 0 only if every step held). Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.build/debug/emp-control-plane
WORK=$(mktemp -d "${TMPDIR:-/tmp}/emp-demo.XXXXXX")
CP_PID=""
cleanup() {
    [ -n "$CP_PID" ] && kill "$CP_PID" 2>/dev/null && wait "$CP_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

step=0
failures=0
now_ms() { date +%s%3N; }
say() { printf '\n\033[1m[%d] %s\033[0m\n' "$step" "$*"; }
check() { # check DESCRIPTION COMMAND...: runs COMMAND, reports ok/FAILED
    local description=$1; shift
    if "$@"; then printf '    ok: %s\n' "$description"; else printf '    FAILED: %s\n' "$description"; failures=$((failures + 1)); fi
}

step=1; say "Start emp-control-plane (SQLite in $WORK/data, free port on 127.0.0.1)"
t0=$(now_ms)
"$BIN" --data-dir "$WORK/data" --listen 127.0.0.1:0 >"$WORK/cp.out" 2>"$WORK/cp.log" &
CP_PID=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/cp.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$WORK/cp.out" | head -1 || true)
check "control plane listening at ${URL:-?} after $(( $(now_ms) - t0 )) ms" test -n "$URL"
[ -n "$URL" ] || { cat "$WORK/cp.log"; exit 1; }
TOKEN=$(cat "$WORK/data/operator-token")
api() { curl -sS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }

step=2; say "Health, readiness and metrics"
check "GET /healthz says ok" test "$(curl -sS "$URL/healthz")" = "ok"
check "GET /readyz says ok (store reachable)" test "$(curl -sS "$URL/readyz")" = "ok"
check "GET /v1/pools without a token is refused with 401" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/pools")" = "401"

step=3; say "Create pool 'demo': 4 vCPU / 16Gi EVMs, memory overcommit 1.5"
t0=$(now_ms)
body='{"id":"demo","cluster":"kubesim","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"memoryOvercommit":1.5,"maxEVMs":20}}'
code=$(api -o "$WORK/pool.json" -w '%{http_code}' -X POST "$URL/v1/pools" -d "$body")
echo "    $(cat "$WORK/pool.json")"
check "201 Created in $(( $(now_ms) - t0 )) ms" test "$code" = "201"

step=4; say "Bad input is refused with the field named, and nothing changes"
bad='{"id":"demo2","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"memoryOvercommit":0.5}}'
code=$(api -o "$WORK/bad.json" -w '%{http_code}' -X POST "$URL/v1/pools" -d "$bad")
echo "    $(cat "$WORK/bad.json")"
check "overcommit 0.5 → 400 naming policy.memoryOvercommit" grep -q '"field":"policy.memoryOvercommit"' "$WORK/bad.json"
check "status was 400" test "$code" = "400"
check "still exactly one pool" test "$(api "$URL/v1/pools" | grep -o '"id":"' | wc -l)" = "1"

step=5; say "The event log says what happened"
api "$URL/v1/events" | sed 's/},{/},\n    {/g; s/^/    /'; echo
check "a Created event for pool/demo" sh -c "curl -sS -H 'Authorization: Bearer $TOKEN' '$URL/v1/events' | grep -q '\"reason\":\"Created\"'"

echo
if [ "$failures" -ne 0 ]; then echo "demo: $failures step(s) FAILED"; exit 1; fi
echo "demo: every step held."
if [ "${DEMO_ONCE:-}" = "1" ]; then exit 0; fi
cat <<TXT

The control plane keeps running. Try:
  curl -H "Authorization: Bearer $TOKEN" $URL/v1/pools
  curl $URL/metrics
Press Ctrl-C to stop (the data directory $WORK is removed).
TXT
wait "$CP_PID"
