#!/usr/bin/env bash
# `make test-image`: builds a node image with build-node-image.sh (a stand-in kubelet that records how it was
# started), boots it under QEMU with the seed the agent writes (emp-test-helper seed: CloudInitSeed with a kubelet
# join), and checks on the serial console what the seed relies on: the hostname is the Node's name, cloud-init's
# NoCloud datasource ran, containerd runs with the systemd cgroup driver, IP forwarding is on, and the kubelet was
# started by the seed with EMP's flags and a configuration carrying the taint and cluster DNS.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
work=$(mktemp -d)
trap 'pkill -f "$work/boot.qcow2" 2>/dev/null || true; rm -rf "$work"' EXIT

for package in debootstrap qemu-utils fdisk xorriso qemu-system-x86; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null
done

# The stand-in kubelet: reports its command line and the configuration it was given, then waits like a daemon.
cat > "$work/kubelet" <<'KUBELET'
#!/bin/sh
config=$(echo "$@" | sed -n 's/.*--config=\([^ ]*\).*/\1/p')
echo "EMP-KUBELET args: $*" > /dev/ttyS0
echo "EMP-KUBELET config: taint=$(grep -c 'key: "emp.pf9.io/EMPSchedulable"' "$config") dns=$(grep -A1 clusterDNS "$config" | grep -c 10.96.0.10) runtime=$(grep -c containerd.sock "$config")" > /dev/ttyS0
exec sleep infinity
KUBELET
chmod +x "$work/kubelet"

images/build-node-image.sh --kubelet "$work/kubelet" --out "$work/node.qcow2" --size 4G
$SWIFT build --product emp-test-helper >/dev/null
"$($SWIFT build --show-bin-path)/emp-test-helper" seed "$work/seed"
cat >> "$work/seed/user-data" <<'EXTRA'
bootcmd:
 - [sh, -c, 'echo "EMP-BOOT host=$(hostname)" > /dev/ttyS0']
EXTRA
xorriso -as mkisofs -quiet -V cidata -J -r -o "$work/seed.iso" "$work/seed/" 2>/dev/null
qemu-img create -q -f qcow2 -F qcow2 -b "$work/node.qcow2" "$work/boot.qcow2"
# Software emulation (TCG), as the project's other QEMU tests (shared/virt/RECIPE.md): it boots in about a minute.
timeout 900 qemu-system-x86_64 -m 1536 -smp 2 -nographic -no-reboot -drive "file=$work/boot.qcow2,if=virtio" \
    -cdrom "$work/seed.iso" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 > "$work/console.log" 2>&1 &
failures=0
wait_for() {
    local description=$1 pattern=$2
    for _ in $(seq 1 600); do
        if grep -a -q -E "$pattern" "$work/console.log"; then echo "  ok: $description"; return; fi
        sleep 1
    done
    echo "  FAILED: $description (not on the console within 600 s)"
    failures=$((failures + 1))
}
wait_for "GRUB and the kernel boot from the image" "Welcome to .*Debian"
wait_for "cloud-init read the NoCloud seed" "Datasource DataSourceNoCloud"
wait_for "the kubelet was started by the seed, with EMP's flags" "EMP-KUBELET args: .*--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf .*--config=/etc/kubernetes/kubelet-config.yaml --hostname-override=emp-image-test --node-labels=.*emp.pf9.io/owned=true"
wait_for "its configuration registers the EMP taint, the cluster DNS and containerd's socket" "EMP-KUBELET config: taint=1 dns=1 runtime=1"
wait_for "the machine is named after its Node" "emp-image-test login:"
if [ "$failures" -ne 0 ]; then
    echo "test-image: $failures check(s) FAILED; the console:"; tail -40 "$work/console.log"
    exit 1
fi
echo "test-image: every check held."
