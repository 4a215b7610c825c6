#!/usr/bin/env bash
# The EMP demo, live on one machine with no cluster and no VMs needed: KubeSim (a Kubernetes API kubectl
# can use), emp-control-plane (SQLite, autoscaler), three emp-agent processes, each on its own libvirt
# test-driver "bare-metal host" (64 cores, 256 GiB), and emp-webhook; operated with empctl and kubectl. It
# reproduces seed 000's walkthrough (scale emp-test-deployment to 5: a new EVM appears; back to 1: it goes). Narrates each step (what it did, what changed, how long it took), then keeps running until
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

say "Start KubeSim: a Kubernetes API on loopback, with a kubeconfig for kubectl ($WORK/kubeconfig)"
t0=$(now_ms)
"$BIN/empctl" sim --kubeconfig "$WORK/kubeconfig" --node-ready-after 2 >"$WORK/sim.out" 2>"$WORK/sim.log" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$WORK/sim.out" || { fail "KubeSim did not start"; cat "$WORK/sim.log"; exit 1; }
ok "KubeSim up after $(( $(now_ms) - t0 )) ms"
export KUBECONFIG="$WORK/kubeconfig"
kubectl get namespaces | show

STORE_YAML=""
STORE_NAME="SQLite in $WORK/cp"
if [ "${EMP_STORE:-sqlite}" = postgres ]; then
    # make demo EMP_STORE=postgres runs this under scripts/with-postgres.sh: a throwaway PostgreSQL on loopback.
    [ -n "${EMP_TEST_POSTGRES_URL:-}" ] || { fail "EMP_STORE=postgres needs scripts/with-postgres.sh (make demo does it)"; exit 1; }
    psql -q "$EMP_TEST_POSTGRES_URL" -c "CREATE DATABASE emp_demo"
    STORE_YAML=$(printf 'store: {type: postgres, url: "%s"}\nha: {replicaID: demo-cp}' "${EMP_TEST_POSTGRES_URL%/*}/emp_demo")
    STORE_NAME="PostgreSQL at ${EMP_TEST_POSTGRES_URL%/*}/emp_demo, leading as replica demo-cp"
fi
say "Start emp-control-plane ($STORE_NAME; autoscaler on KubeSim; heartbeat timeout 5 s, empty EVMs go after 10 s for the demo)"
cat > "$WORK/control-plane.yaml" <<YAML
$STORE_YAML
listen: 127.0.0.1:0
dataDir: $WORK/cp
operatorTokens: [$TOKEN]
heartbeatTimeoutSeconds: 5
kubeconfig: $WORK/kubeconfig
autoscaler: {idleWindowSeconds: 1, maxWindowSeconds: 10, emptyAfterSeconds: 10}
# The test driver cannot live-migrate: the rebalancer only evacuates and relieves here (no automatic consolidation).
rebalancer: {planner: {goals: [evacuate, relieve]}}
# Cost samples every 10 s instead of every minute, so the savings chart has points within the demo.
cost: {sampleSeconds: 10}
viewerTokens: [demo-viewer-token-0123]
YAML
t0=$(now_ms)
"$BIN/emp-control-plane" --config "$WORK/control-plane.yaml" --log-level warning >"$WORK/cp.out" 2>"$WORK/cp.log" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/cp.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$WORK/cp.out" | head -1 || true)
[ -n "$URL" ] || { fail "control plane did not start"; cat "$WORK/cp.log"; exit 1; }
ok "listening at $URL after $(( $(now_ms) - t0 )) ms"
if [ -n "$STORE_YAML" ]; then
    wait_for 30 "it leads (the lease row in PostgreSQL names it)" sh -c "curl -sf $URL/leaderz"
    curl -s "$URL/readyz" | show
fi
mkdir -p "$HOME/.config/emp"
printf 'server: %s\ntoken: %s\n' "$URL" "$TOKEN" > "$HOME/.config/emp/config.yaml"

say "Create pool 'demo': EVMs of 4 vCPU / 16Gi, memory overcommit 1.5, 7 to 20 EVMs (the autoscaler keeps the 7; lowered to 1 later)"
check "empctl pool create" empctl pool create demo --vcpus 4 --memory 16Gi --memory-overcommit 1.5 --min-evms 7 --max-evms 20 --cluster demo-cluster
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
        --domain-type test --state-dir "$WORK/agent-$i" --report-interval 1 --poll-wait 5 --kubeconfig "$WORK/kubeconfig" \
        --log-level warning 2>"$WORK/agent-$i.log" &
    PIDS+=($!)
    eval "AGENT_$i=$!"
done
hosts_ready() { [ "$(empctl host list | grep -c ' ready ')" = "$1" ]; }
wait_for 30 "3 hosts ready" hosts_ready 3
empctl host list | show

say "The pool's minimum is kept: the autoscaler creates 7 EVMs without any pod (binpack: fewest hosts), registered as tainted Nodes, booted by the agents"
running() { [ "$(empctl evm list --phase running | tail -n +2 | wc -l)" = "$1" ]; }
evms() { [ "$(empctl evm list | tail -n +2 | wc -l)" = "$1" ]; }
wait_for 30 "7 EVMs running (placed → created → running)" running 7
empctl evm list | show
kubectl get nodes -l emp.pf9.io/owned=true | show
check "7 EVM nodes, tainted emp.pf9.io/EMPSchedulable=true:NoSchedule" \
    test "$(kubectl get nodes -l emp.pf9.io/owned=true -o jsonpath='{range .items[*]}{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}{"\n"}{end}' | grep -c '^emp.pf9.io/EMPSchedulable=true:NoSchedule$')" = 7
check "all 7 on one host (binpack)" test "$(empctl evm list -o json | grep -o '"hostID" : "[^"]*"' | sort -u | wc -l)" = "1"
check "a ScaledUp event says why: minimum" sh -c "$BIN/empctl events --object pool/demo | grep -q 'ScaledUp.*minimum: 7 EVMs to keep minEVMs 7'"
empctl host list | show

say "Cordon that host: 2 more EVMs by hand go elsewhere; being above the minimum and empty, they go after 10 s"
busy=$(empctl evm list -o json | grep -o '"hostID" : "[^"]*"' | head -1 | cut -d'"' -f4)
empctl host cordon "$busy" | show
empctl evm create demo --count 2 | show
check "the 2 new EVMs avoided $busy" sh -c "! $BIN/empctl evm list --host $busy -o json | grep -q '\"phase\" : \"creating\"'"
wait_for 30 "9 EVMs running" running 9
empctl host uncordon "$busy" | show
wait_for 40 "back to the minimum of 7 (the 2 empty extras removed)" evms 7

say "Delete an EVM: its agent destroys the domain, the allocation is released, and the minimum brings a new one"
victim=$(empctl evm list --host "$busy" -o json | grep -o '"id" : "[^"]*"' | head -1 | cut -d'"' -f4)
empctl evm delete "$victim" | show
gone() { ! empctl evm show "$victim" >/dev/null 2>&1; }
wait_for 30 "evm/$victim gone" gone
wait_for 30 "7 EVMs running again" running 7
check "the replacement was made for the minimum" test "$(empctl events --object pool/demo | grep -c 'ScaledUp.*minimum')" -ge 2

say "Kill -9 the agent of bm-3: after 5 s without heartbeat the host is NotReady; restart it and it recovers"
kill -9 "$AGENT_3"
not_ready() { empctl host list | grep -q '^bm-3 .*notReady'; }
wait_for 20 "bm-3 NotReady" not_ready
"$BIN/emp-agent" --control-plane "$URL" --host-id bm-3 --libvirt-uri "test://$WORK/bm-3.xml" --domain-type test \
    --state-dir "$WORK/agent-3" --report-interval 1 --poll-wait 5 --kubeconfig "$WORK/kubeconfig" --log-level warning \
    2>>"$WORK/agent-3.log" &
PIDS+=($!)
back() { empctl host list | grep -q '^bm-3 .*ready'  && ! empctl host list | grep -q '^bm-3 .*notReady'; }
wait_for 20 "bm-3 ready again (the stored credential, no new token)" back

say "Lower the pool's minimum to 1: the autoscaler removes the empty EVMs (empty for 10 s)"
empctl pool update demo --min-evms 1 | show
evms() { [ "$(empctl evm list | tail -n +2 | wc -l)" = "$1" ]; }
wait_for 60 "one EVM left" evms 1
nodes() { [ "$(kubectl get nodes -l emp.pf9.io/owned=true -o name | wc -l)" = "$1" ]; }
wait_for 30 "one EVM node left" nodes 1
kubectl get nodes -l emp.pf9.io/owned=true | show

say "Opt namespace emp-test in: emp-webhook (certificates from 'emp-webhook certs') and ConfigMap emp-profile-cm"
bundle=$("$BIN/emp-webhook" certs --out "$WORK/webhook" --name 127.0.0.1 2>/dev/null)
"$BIN/emp-webhook" serve --cert "$WORK/webhook/tls.crt" --key "$WORK/webhook/tls.key" --listen 127.0.0.1:0 \
    --kubeconfig "$WORK/kubeconfig" --log-level warning >"$WORK/webhook.out" 2>"$WORK/webhook.log" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/webhook.out" 2>/dev/null && break; sleep 0.1; done
WEBHOOK=$(grep -o 'https://[0-9.]*:[0-9]*' "$WORK/webhook.out" | head -1 || true)
check "emp-webhook listening at $WEBHOOK" test -n "$WEBHOOK"
kubectl apply -f - <<YAML | show
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: emp-webhook}
webhooks:
- name: emp-webhook.emp.pf9.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  failurePolicy: Ignore
  timeoutSeconds: 5
  reinvocationPolicy: IfNeeded
  clientConfig: {url: "$WEBHOOK/mutate", caBundle: "$bundle"}
  rules: [{operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"]}]
  namespaceSelector:
    matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: emp-profile-cm, namespace: default}
data:
  namespaces: |
    ["emp-test"]
YAML
check "empctl profile show" sh -c "$BIN/empctl profile show | grep -q 'namespaces: emp-test'"

say "Run the seed's test workload (3Gi pods; no toleration or nodeSelector in the manifest: the webhook adds them)"
kubectl apply -f - <<YAML | show
apiVersion: v1
kind: Namespace
metadata: {name: emp-test}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: emp-test-deployment, namespace: emp-test}
spec:
  replicas: 1
  selector: {matchLabels: {app: emp-test-deployment}}
  template:
    metadata: {labels: {app: emp-test-deployment}}
    spec:
      containers:
      - name: no-op
        image: alpine
        command: ["/bin/sh", "-c", "sleep 3600"]
        resources: {requests: {memory: 3Gi}}
YAML
running_pods() { [ "$(kubectl get pods -n emp-test --no-headers 2>/dev/null | grep -c ' Running ')" = "$1" ]; }
wait_for 30 "1 pod Running on the EVM" running_pods 1
kubectl get pods -n emp-test -o wide | show
check "the webhook added the toleration and the nodeSelector" \
    sh -c "kubectl get pods -n emp-test -o jsonpath='{.items[0].spec.nodeSelector}' | grep -q 'emp.pf9.io/owned'"

say "Scale to 5 replicas: four fit the EVM (a little under 15 GiB allocatable), one is Pending; the autoscaler adds an EVM"
t0=$(now_ms)
kubectl scale deployment --replicas 5 -n emp-test emp-test-deployment | show
pending_pods() { [ "$(kubectl get pods -n emp-test --no-headers 2>/dev/null | grep -c ' Pending ')" = "$1" ]; }
wait_for 20 "1 pod Pending" pending_pods 1
kubectl get pods -n emp-test -o wide | show
wait_for 60 "a second EVM created" evms 2
wait_for 60 "all 5 pods Running" running_pods 5
cold_ms=$(( $(now_ms) - t0 ))
ok "scale-up took $cold_ms ms end to end (a cold EVM: placed, defined, booted, its Node Ready)"
kubectl get nodes -l emp.pf9.io/owned=true | show
kubectl get pods -n emp-test -o wide | show
pod_events() { kubectl get events -n emp-test -o jsonpath='{range .items[*]}{.involvedObject.name}  {.reason}: {.message}{"\n"}{end}'; }
pod_events | show
new_evm=$(empctl events --object pool/demo | grep ScaledUp | tail -1 | grep -o 'demo-[a-z0-9]*$')
check "a TriggeredScaleUp event on the Pending pod names the new EVM" sh -c "$(declare -f pod_events); pod_events | grep -q 'TriggeredScaleUp: .*EVM $new_evm'"

say "Scale back to 1: the EVM left empty goes after 10 s, never the one still hosting the pod"
t0=$(now_ms)
kubectl scale deployment --replicas 1 -n emp-test emp-test-deployment | show
wait_for 60 "back to one EVM" evms 1
wait_for 30 "back to one EVM node" nodes 1
still=$(kubectl get pods -n emp-test -o jsonpath='{.items[0].spec.nodeName}')
left=$(kubectl get nodes -l emp.pf9.io/owned=true -o jsonpath='{.items[0].metadata.name}')
check "the remaining pod runs on the remaining EVM ($left)" test "$still" = "$left"
ok "scale-down took $(( $(now_ms) - t0 )) ms (10 s of it is the empty period)"

say "Warm capacity: keep 1 warm EVM, paused (booted, its Node joined and tainted emp.pf9.io/warm, then suspended)"
empctl pool update demo --warm 1 --warm-mode paused | show
warm_joined() { empctl evm list --phase warm -o json | grep -q '"nodeReadyAt"'; }
wait_for 30 "a warm EVM booted and joined" warm_joined
warm=$(empctl evm list --phase warm -o json | grep -o '"id" : "[^"]*"' | head -1 | cut -d'"' -f4)
empctl evm list | show
check "its Node carries emp.pf9.io/warm=true:NoSchedule" \
    sh -c "kubectl get node $warm -o jsonpath='{.spec.taints[*].key}' | grep -q 'emp.pf9.io/warm'"

say "Scale to 5 again: the fifth replica gets the warm EVM (claimed: resumed, untainted), no EVM is created"
t0=$(now_ms)
kubectl scale deployment --replicas 5 -n emp-test emp-test-deployment | show
wait_for 60 "all 5 pods Running" running_pods 5
warm_ms=$(( $(now_ms) - t0 ))
kubectl get pods -n emp-test -o wide | show
check "the Pending replica runs on the claimed EVM $warm" sh -c "kubectl get pods -n emp-test -o wide | grep -q ' $warm '"
check "a WarmEVMClaimed event for $warm" sh -c "$BIN/empctl events --object evm/$warm | grep -q WarmEVMClaimed"
ok "scale-up with a warm EVM took $warm_ms ms end to end, against $cold_ms ms with a cold EVM (both include the 1 s batch window; on real QEMU a cold boot takes tens of seconds, see docs/benchmarks.md)"
refilled() { [ "$(empctl events --object pool/demo | grep -c WarmEVMRefilled)" -ge 2 ]; }
wait_for 30 "the warm set refilled" refilled
empctl evm list | show

say "Scheduled capacity in a time zone: 3 EVMs and 1 warm on weekdays from 08:45 in Kolkata for 7 h (before the market opens)"
empctl pool update demo --schedule "name=market-open;cron=45 8 * * 1-5;timeZone=Asia/Kolkata;duration=7h;minEVMs=3;warm=1" | show
empctl pool show demo | show
check "pool show prints the next start in Asia/Kolkata and in UTC" sh -c "$BIN/empctl pool show demo | grep -q '^market-open .*08:45 GMT+5:30 .*03:15 GMT'"
if empctl pool update demo --schedule "name=bad;cron=45 25 * * *;duration=7h" 2>"$WORK/err"; then fail "an invalid cron accepted"; else show < "$WORK/err"; fi
check "the error names policy.schedules[0].cron" grep -q 'field: policy.schedules\[0\].cron' "$WORK/err"

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

say "Rebalancer: the live plan (dry run), and what consolidation would do on the same snapshot"
empctl plan | show
printf '{"settings":{"goals":["evacuate","relieve","balance","consolidate"]},%s' "${snapshot#\{}" > "$WORK/plan.json"
empctl whatif plan --input "$WORK/plan.json" | show
check "the what-if plan prints every host before and after" sh -c "$BIN/empctl whatif plan --input $WORK/plan.json | grep -q '^HOST '"

say "What-if simulator: a trading day (market-open spike) replayed against cluster-autoscaler, Karpenter and EMP (30 s steps; docs/simulate.md)"
empctl simulate --trace diurnal --seed 1 --step 30 > "$WORK/simulate.txt"
show < "$WORK/simulate.txt"
check "the simulation compares all three and prices EMP's saving" grep -q '^EMP against cluster-autoscaler: ' "$WORK/simulate.txt"
echo "    as a page with charts: empctl simulate --trace diurnal -o html > report.html"

say "The console at $URL/ (sign in with the operator token $TOKEN, or the viewer token demo-viewer-token-0123 to look only)"
cat <<TXT | show
Look at: Pools -> demo: the CPU and memory gauges show the allocation limit (capacity x overcommit), what is
allocated and what is used; allocated moves with every EVM, used barely moves (test-driver guests use nothing).
Click an EVM for its provisioning timeline (requested, placed, Node registered, seed written, defined, booted,
Node Ready). A host page has Cordon / Uncordon / Maintenance. Savings compares the hosts with the running EVMs
priced as on-demand instances (an estimate from list prices).
TXT
jar="$WORK/console-cookies"
login_code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -d "token=$TOKEN" "$URL/login")
check "signing in with the operator token starts a session (303 to the pools page)" test "$login_code" = 303
curl -sS -b "$jar" "$URL/pools/demo" > "$WORK/dashboard.html"
check "the pool dashboard shows the CPU gauge with limit, allocated and used" grep -q 'data-gauge="CPU" data-limit=' "$WORK/dashboard.html"
grep -o '<span class="figures">[^<]*</span>' "$WORK/dashboard.html" | sed 's/<[^>]*>//g' | show
check "a page without a session is sent to the login" sh -c "curl -sS -o /dev/null -w '%{http_code}' '$URL/pools/demo' | grep -q 303"
empctl cost | show
echo "    A negative saving is the honest figure here: three 64-core hosts (priced as m5.16xlarge) for a handful of small"
echo "    EVMs cost more than the instances they replace. It turns positive as EVMs fill the hosts under overcommit"
echo "    (each host here takes 24 of these EVMs), and consolidation frees whole hosts."
check "empctl cost says it is an estimate from list prices" sh -c "$BIN/empctl cost | grep -q 'estimate from on-demand list prices'"

say "Live migration by hand: libvirt's test driver refuses it, so the move fails and the EVM stays (real QEMU moves it)"
mover=$(empctl evm list --phase running -o json | grep -o '"id" : "[^"]*"' | head -1 | cut -d'"' -f4)
from=$(empctl evm show "$mover" | grep -o '"hostID" : "[^"]*"' | cut -d'"' -f4)
to=$(empctl host list | awk 'NR > 1 && $3 == "ready" {print $1}' | grep -v "^$from$" | head -1)
empctl migrate "$mover" --to "$to" | show
failed_move() { empctl migrations --state failed | grep -q "$mover"; }
wait_for 20 "the migration of $mover failed with libvirt's message" failed_move
empctl migrations | show
check "$mover is still on $from" sh -c "$BIN/empctl evm show $mover | grep -q '\"hostID\" : \"$from\"'"

say "Bare metal that comes and goes: pool 'metal' on EC2 (moto's EC2 server on loopback stands in for AWS)"
if python3 -c "import moto.server" 2>/dev/null; then
    python3 scripts/moto-server.py >"$WORK/moto.out" 2>"$WORK/moto.log" &
    PIDS+=($!)
    for _ in $(seq 1 300); do grep -q '^listening' "$WORK/moto.out" 2>/dev/null && break; sleep 0.1; done
    MOTO="http://127.0.0.1:$(awk '/^listening/ {print $2}' "$WORK/moto.out")"
    export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret AWS_DEFAULT_REGION=us-east-1
    # A VPC with a subnet in each of two zones, and an AMI: what an operator has in their account.
    read -r SUBNET_A SUBNET_B AMI < <(python3 - "$MOTO" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1])
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
           for i, zone in ((1, "us-east-1a"), (2, "us-east-1b"))]
print(*subnets, ec2.describe_images()["Images"][0]["ImageId"])
PY
)
    ec2_instances() {
        python3 - "$MOTO" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1])
for r in ec2.describe_instances(Filters=[{"Name": "tag:emp.pf9.io/pool", "Values": ["metal"]}])["Reservations"]:
    for i in r["Instances"]:
        print(i["InstanceId"], i["InstanceType"], i["Placement"]["AvailabilityZone"], i["State"]["Name"])
PY
    }
    PORT2=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    URL2="http://127.0.0.1:$PORT2"
    empctl2() { EMP_SERVER="$URL2" EMP_TOKEN="$TOKEN" "$BIN/empctl" "$@"; }
    cat > "$WORK/control-plane-metal.yaml" <<YAML
listen: 127.0.0.1:$PORT2
dataDir: $WORK/cp-metal
operatorTokens: [$TOKEN]
hostProviderIntervalSeconds: 5
hostProviders:
  metal:
    type: ec2
    controlPlaneURL: $URL2
    endpoint: $MOTO
    region: us-east-1
    ami: $AMI
    subnets: [$SUBNET_A, $SUBNET_B]
    tags: {team: platform}
    emptyHostAfterSeconds: 10
YAML
    "$BIN/emp-control-plane" --config "$WORK/control-plane-metal.yaml" --log-level warning >"$WORK/cp-metal.out" 2>"$WORK/cp-metal.log" &
    PIDS+=($!)
    for _ in $(seq 1 300); do grep -q 'listening on' "$WORK/cp-metal.out" 2>/dev/null && break; sleep 0.1; done
    echo "    a second control plane at $URL2 manages pool 'metal' with hostProviders.metal (type ec2, m5.metal, two zones)"
    empctl2 pool create metal --vcpus 4 --memory 16Gi --min-hosts 1 --max-hosts 3 --cluster demo-cluster >/dev/null
    launched() { [ "$(ec2_instances | grep -c ' running$')" = 1 ]; }
    wait_for 30 "below minHosts 1: one m5.metal instance launched in EC2" launched
    ec2_instances | show
    empctl2 events --object pool/metal | show
    INSTANCE=$(ec2_instances | awk '{print $1}')
    # What the instance boots with: cloud-init user data carrying a one-time join token. The machine's agent joins
    # with it (here an emp-agent on a test-driver host stands in for the instance's).
    JOIN=$(python3 - "$MOTO" "$INSTANCE" <<'PY'
import sys, base64, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1])
data = base64.b64decode(ec2.describe_instance_attribute(InstanceId=sys.argv[2], Attribute="userData")["UserData"]["Value"]).decode()
print(next(line.split('"')[1] for line in data.splitlines() if "joinToken:" in line))
PY
)
    cp "$WORK/bm-1.xml" "$WORK/metal-1.xml"
    "$BIN/emp-agent" --control-plane "$URL2" --join-token "$JOIN" --host-id metal-1 --libvirt-uri "test://$WORK/metal-1.xml" \
        --domain-type test --state-dir "$WORK/agent-metal" --report-interval 1 --poll-wait 5 --log-level warning 2>"$WORK/agent-metal.log" &
    PIDS+=($!)
    metal_joined() { EMP_SERVER="$URL2" EMP_TOKEN="$TOKEN" "$BIN/empctl" host list | grep -q "^metal-1 .*$INSTANCE"; }
    wait_for 30 "the instance's agent joined with the token from its user data (HostJoined)" metal_joined
    empctl2 host list | show
    echo "    The pool no longer needs a host (min 0); empty for 10 s, the launched host is cordoned and terminated:"
    empctl2 pool update metal --min-hosts 0 >/dev/null
    terminated() { ec2_instances | grep -q "$INSTANCE .* terminated$" && ! EMP_SERVER="$URL2" EMP_TOKEN="$TOKEN" "$BIN/empctl" host list | grep -q '^metal-1 '; }
    wait_for 60 "the empty host released: instance terminated in EC2, host record removed" terminated
    ec2_instances | show
    empctl2 events --object pool/metal | tail -n 3 | show
else
    echo "    skipped: moto (PyPI moto[server]) is not installed; make deps installs it (scripts/ensure-python.sh)"
fi

echo
if [ "$failures" -ne 0 ]; then echo "demo: $failures step(s) FAILED"; exit 1; fi
echo "demo: every step held."
[ "${DEMO_ONCE:-}" = "1" ] && exit 0
cat <<TXT

Everything keeps running. The console: $URL/ (token $TOKEN; viewer: demo-viewer-token-0123).
In another shell:
  export HOME=$WORK        # empctl finds the server and token in \$HOME/.config/emp/config.yaml
  $PWD/$BIN/empctl host list
  $PWD/$BIN/empctl evm create demo --count 3
  $PWD/$BIN/empctl events
  export KUBECONFIG=$WORK/kubeconfig
  kubectl scale deployment --replicas 8 -n emp-test emp-test-deployment
  kubectl get nodes -l emp.pf9.io/owned=true
Press Ctrl-C to stop (everything under $WORK is removed).
TXT
wait
