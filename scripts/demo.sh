#!/usr/bin/env bash
# The EMP demo, live on one machine with no cluster and no VMs needed: emp-control-plane (SQLite) and three
# emp-agent processes, each on its own libvirt test-driver "bare-metal host" (64 cores, 256 GiB), operated
# with empctl. Narrates each step (what it did, what changed, how long it took), then keeps running until
# Ctrl-C. DEMO_ONCE=1 runs the walkthrough once and exits 0 only if every step held. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.build/debug
WORK=$(mktemp -d "${TMPDIR:-/tmp}/emp-demo.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

step=0
failures=0
now_ms() { date +%s%3N; }
say() { step=$((step + 1)); printf '\n\033[1m[%d] %s\033[0m\n' "$step" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() { printf '    FAILED: %s\n' "$*"; failures=$((failures + 1)); }
check() { local description=$1; shift; if "$@"; then ok "$description"; else fail "$description"; fi; }
show() { sed 's/^/    /'; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s; reports how long it took.
wait_for() {
    local limit=$1 description=$2; shift 2
    local t0; t0=$(now_ms)
    while ! "$@" >/dev/null 2>&1; do
        if [ $(( $(now_ms) - t0 )) -gt $((limit * 1000)) ]; then fail "$description (not within ${limit} s)"; return 1; fi
        sleep 0.2
    done
    ok "$description after $(( $(now_ms) - t0 )) ms"
}

TOKEN=demo-operator-token
export HOME="$WORK"  # empctl reads ~/.config/emp/config.yaml; keep the user's own untouched
empctl() { "$BIN/empctl" "$@"; }

say "Start emp-control-plane (SQLite in $WORK/cp, heartbeat timeout 5 s for the demo)"
cat > "$WORK/control-plane.yaml" <<YAML
listen: 127.0.0.1:0
dataDir: $WORK/cp
operatorTokens: [$TOKEN]
heartbeatTimeoutSeconds: 5
YAML
t0=$(now_ms)
"$BIN/emp-control-plane" --config "$WORK/control-plane.yaml" --log-level warning >"$WORK/cp.out" 2>"$WORK/cp.log" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/cp.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$WORK/cp.out" | head -1 || true)
[ -n "$URL" ] || { fail "control plane did not start"; cat "$WORK/cp.log"; exit 1; }
ok "listening at $URL after $(( $(now_ms) - t0 )) ms"
mkdir -p "$HOME/.config/emp"
printf 'server: %s\ntoken: %s\n' "$URL" "$TOKEN" > "$HOME/.config/emp/config.yaml"

say "Create pool 'demo': EVMs of 4 vCPU / 16Gi, memory overcommit 1.5, at most 20 EVMs"
check "empctl pool create" empctl pool create demo --vcpus 4 --memory 16Gi --memory-overcommit 1.5 --max-evms 20 --cluster demo-cluster
empctl pool list | show

say "Bad input is refused with the field named, and nothing changes"
if empctl pool create demo2 --vcpus 4 --memory 16Gi --memory-overcommit 0.5 2>"$WORK/err"; then fail "overcommit 0.5 accepted"; else show < "$WORK/err"; fi
check "the error names policy.memoryOvercommit" grep -q 'field: policy.memoryOvercommit' "$WORK/err"
check "still one pool" test "$(empctl pool list -o json | grep -c '"id"')" = "1"

say "Three bare-metal hosts join with one-time tokens (each an emp-agent on a libvirt test-driver host)"
for i in 1 2 3; do
    cat > "$WORK/bm-$i.xml" <<XML
<node><cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>2</sockets><cores>16</cores><threads>2</threads><active>64</active></cpu><memory>268435456</memory></node>
XML
    join=$(empctl host token demo 2>/dev/null)
    "$BIN/emp-agent" --control-plane "$URL" --join-token "$join" --host-id "bm-$i" --libvirt-uri "test://$WORK/bm-$i.xml" \
        --domain-type test --state-dir "$WORK/agent-$i" --report-interval 1 --poll-wait 5 --log-level warning 2>"$WORK/agent-$i.log" &
    PIDS+=($!)
    eval "AGENT_$i=$!"
done
hosts_ready() { [ "$(empctl host list | grep -c ' ready ')" = "$1" ]; }
wait_for 30 "3 hosts ready" hosts_ready 3
empctl host list | show

say "Create 5 EVMs: placed at once (binpack: fewest hosts), booted by the agents"
t0=$(now_ms)
empctl evm create demo --count 5 | show
running() { [ "$(empctl evm list --phase running | tail -n +2 | wc -l)" = "$1" ]; }
wait_for 30 "5 EVMs running (create → running)" running 5
empctl evm list | show
check "all 5 on one host (binpack)" test "$(empctl evm list -o json | grep -o '"hostID" : "[^"]*"' | sort -u | wc -l)" = "1"
empctl host list | show

say "Cordon that host: new EVMs go elsewhere"
busy=$(empctl evm list -o json | grep -o '"hostID" : "[^"]*"' | head -1 | cut -d'"' -f4)
empctl host cordon "$busy" | show
empctl evm create demo --count 2 | show
check "the 2 new EVMs avoided $busy" sh -c "! $BIN/empctl evm list --host $busy -o json | grep -q '\"phase\" : \"creating\"'"
wait_for 30 "7 EVMs running" running 7
empctl host uncordon "$busy" | show

say "Delete an EVM: its agent destroys the domain, the control plane releases the allocation"
victim=$(empctl evm list --host "$busy" -o json | grep -o '"id" : "[^"]*"' | head -1 | cut -d'"' -f4)
empctl evm delete "$victim" | show
gone() { ! empctl evm show "$victim" >/dev/null 2>&1; }
wait_for 30 "evm/$victim gone" gone

say "Kill -9 the agent of bm-3: after 5 s without heartbeat the host is NotReady; restart it and it recovers"
kill -9 "$AGENT_3"
not_ready() { empctl host list | grep -q '^bm-3 .*notReady'; }
wait_for 20 "bm-3 NotReady" not_ready
"$BIN/emp-agent" --control-plane "$URL" --host-id bm-3 --libvirt-uri "test://$WORK/bm-3.xml" --domain-type test \
    --state-dir "$WORK/agent-3" --report-interval 1 --poll-wait 5 --log-level warning 2>>"$WORK/agent-3.log" &
PIDS+=($!)
back() { empctl host list | grep -q '^bm-3 .*ready'  && ! empctl host list | grep -q '^bm-3 .*notReady'; }
wait_for 20 "bm-3 ready again (the stored credential, no new token)" back

say "The event log says what happened and why"
empctl events | tail -n 12 | show
check "a HostNotReady event for bm-3" sh -c "$BIN/empctl events --object host/bm-3 | grep -q HostNotReady"

say "What-if: the same Placer offline, on the live snapshot"
curl -sS -H "Authorization: Bearer $TOKEN" "$URL/v1/snapshot?pool=demo" > "$WORK/snapshot.json"
# The snapshot is the what-if format; add 30 more EVMs of the pool's shape to place.
place=$(for i in $(seq 1 30); do printf '{"id":"extra-%d","size":{"cpu":"4","memory":"16Gi"}},' "$i"; done)
snapshot=$(cat "$WORK/snapshot.json")
printf '{"policy":"binpack","place":[%s],%s' "${place%,}" "${snapshot#\{}" > "$WORK/whatif.json"
empctl whatif place --input "$WORK/whatif.json" | tail -n 6 | show

echo
if [ "$failures" -ne 0 ]; then echo "demo: $failures step(s) FAILED"; exit 1; fi
echo "demo: every step held."
[ "${DEMO_ONCE:-}" = "1" ] && exit 0
cat <<TXT

Everything keeps running. In another shell:
  export HOME=$WORK        # empctl finds the server and token in \$HOME/.config/emp/config.yaml
  $PWD/$BIN/empctl host list
  $PWD/$BIN/empctl evm create demo --count 3
  $PWD/$BIN/empctl events
Press Ctrl-C to stop (everything under $WORK is removed).
TXT
wait
