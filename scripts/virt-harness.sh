#!/usr/bin/env bash
# Real libvirtd + QEMU "hosts" on one Debian machine, for RealVMTests and the VM benchmark.
#
#   virt-harness.sh check            exit 0 when this machine can run it (root, Debian, apt); else print why, exit 1
#   virt-harness.sh install          libvirtd, QEMU (TCG), busybox, cpio (apt; about 20 s)
#   virt-harness.sh assets DIR       DIR/vmlinuz (Debian's kernel) and DIR/initramfs.cpio.gz (busybox init)
#   virt-harness.sh up DIR N         N libvirtd daemons, each in its own mount+UTS+network namespace on a
#                                    private bridge (10.250.0.I/24); prints one line per host: I URI ADDRESS
#   virt-harness.sh down DIR         destroys every domain, stops the daemons, removes namespaces and mounts
#
# The guest's init prints "EMP-GUEST-READY" and then "EMP-TICK <n>" every second on the serial console; the
# kernel argument emp_dirty=<MiB> makes it keep rewriting that much memory. Facts behind each setting:
# ../shared/virt/RECIPE.md (TCG only: KVM is not usable here; host_uuid per daemon; stdio_handler=file).
set -euo pipefail

# Close every inherited descriptor above stderr: the daemons started below outlive this script, and a pipe
# end they inherited (from a test runner reading our output) would never reach EOF.
for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

die() { echo "virt-harness: $*" >&2; exit 1; }

check() {
    [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, bind mounts, libvirtd)"
    [ -f /etc/debian_version ] || die "needs Debian (apt packages libvirt-daemon, qemu-system-x86)"
    command -v apt-get >/dev/null || die "needs apt-get"
    command -v unshare >/dev/null || die "needs unshare (util-linux)"
    ip netns list >/dev/null 2>&1 || die "cannot manage network namespaces here (ip netns)"
}

install() {
    check
    local packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils busybox-static cpio iproute2)
    local missing=()
    for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # libvirtd's QEMU driver wants this user even when qemu.conf says root.
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
}

assets() {
    local dir=$1
    mkdir -p "$dir"
    # The kernel and its virtio balloon modules come from one package: the guest loads the modules so that libvirt
    # gets the balloon's statistics (swap_in, swap_out, unused, available) from it.
    if [ ! -s "$dir/vmlinuz" ] || [ ! -s "$dir/initramfs.cpio.gz" ] || [ ! -d "$dir/modules" ]; then
        local pkg work
        pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
        [ -n "$pkg" ] || die "cannot find Debian's kernel package (apt-cache depends linux-image-amd64)"
        work=$(mktemp -d)
        (cd "$work" && apt-get download -q "$pkg" >/dev/null && dpkg-deb --fsys-tarfile "${pkg}"_*.deb \
            | tar -x --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/virtio/*.ko')
        rm -rf "$dir/modules" && mkdir -p "$dir/modules"
        cp "$work"/lib/modules/*/kernel/drivers/virtio/*.ko "$dir/modules/"
        cp "$work"/boot/vmlinuz-* "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
        rm -f "$dir/initramfs.cpio.gz"
        rm -rf "$work"
    fi
    if [ ! -s "$dir/initramfs.cpio.gz" ]; then
        local root
        root=$(mktemp -d)
        mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/virtio"
        cp "$(command -v busybox)" "$root/bin/busybox"
        cp "$dir"/modules/*.ko "$root/lib/virtio/"
        cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs -o size=90% tmpfs /tmp
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon; do
    insmod /lib/virtio/$m.ko 2>/dev/null
done
echo "EMP-GUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
dirty=$(sed -n 's/.*emp_dirty=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$dirty" ]; then
    # Keep rewriting $dirty MiB: a page-dirtying guest for migration and usage tests.
    ( while true; do dd if=/dev/urandom of=/tmp/dirty bs=1M count="$dirty" 2>/dev/null; done ) &
    echo "EMP-DIRTY ${dirty}MiB"
fi
i=0; while true; do i=$((i+1)); echo "EMP-TICK $i uptime=$(cut -d' ' -f1 /proc/uptime)"; sleep 1; done
INIT
        chmod +x "$root/init"
        (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -9 > "$dir/initramfs.tmp") && mv "$dir/initramfs.tmp" "$dir/initramfs.cpio.gz"
        rm -rf "$root"
    fi
}

host_dir() { echo "$1/h$2"; }

up() {
    local dir=$1 count=$2
    mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt
    ip netns add emp-sw 2>/dev/null || true
    ip -n emp-sw link add br0 type bridge 2>/dev/null || true
    ip -n emp-sw link set br0 up
    for i in $(seq 1 "$count"); do
        local d
        d=$(host_dir "$dir" "$i")
        mkdir -p "$d"/{etc/qemu,run,lib,cache,log,sock,console}
        cat > "$d/etc/libvirtd.conf" <<CONF
unix_sock_dir = "$d/sock"
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "00000000-0000-4000-8000-0000000000$(printf %02d "$i")"
log_outputs = "3:file:$d/libvirtd.log"
CONF
        cat > "$d/etc/qemu.conf" <<CONF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
migration_address = "10.250.0.$i"
migration_host = "10.250.0.$i"
CONF
        ip netns add "emp-h$i" 2>/dev/null || true
        ip link add "emp-v$i" type veth peer name "emp-p$i" 2>/dev/null || true
        ip link set "emp-v$i" netns "emp-h$i" 2>/dev/null || true
        ip link set "emp-p$i" netns emp-sw 2>/dev/null || true
        ip -n emp-sw link set "emp-p$i" master br0 up
        ip -n "emp-h$i" addr add "10.250.0.$i/24" dev "emp-v$i" 2>/dev/null || true
        ip -n "emp-h$i" link set "emp-v$i" up
        ip -n "emp-h$i" link set lo up
        # The QEMU capability probe takes ~8 s; later hosts reuse the first host's cache.
        [ "$i" -gt 1 ] && cp -a "$(host_dir "$dir" 1)/cache/." "$d/cache/" 2>/dev/null || true
        ip netns exec "emp-h$i" unshare --mount --uts --propagation private sh -c "
            hostname emp-h$i
            mount --bind $d/etc /etc/libvirt; mount --bind $d/run /run/libvirt
            mount --bind $d/lib /var/lib/libvirt; mount --bind $d/cache /var/cache/libvirt
            mount --bind $d/log /var/log/libvirt
            exec libvirtd -f $d/etc/libvirtd.conf -p $d/libvirtd.pid" > "$d/libvirtd.stdout" 2>&1 &
        local uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
        for _ in $(seq 1 300); do virsh -q -c "$uri" version >/dev/null 2>&1 && break; sleep 0.1; done
        virsh -q -c "$uri" version >/dev/null 2>&1 || die "libvirtd of host $i did not start: $(tail -3 "$d/libvirtd.log" 2>/dev/null)"
        echo "$i $uri 10.250.0.$i"
    done
}

down() {
    local dir=$1
    for d in "$dir"/h*; do
        [ -d "$d" ] || continue
        local uri="qemu+unix:///system?socket=$d/sock/libvirt-sock"
        if [ -S "$d/sock/libvirt-sock" ]; then
            for dom in $(virsh -q -c "$uri" list --name 2>/dev/null); do virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 & done
            wait
        fi
        [ -f "$d/libvirtd.pid" ] && kill "$(cat "$d/libvirtd.pid")" 2>/dev/null || true
    done
    # QEMU processes left by a crashed daemon.
    pkill -f "qemu-system-x86_64.*$dir" 2>/dev/null || true
    sleep 0.5
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^emp-(h[0-9]+|sw)$'); do ip netns del "$ns"; done
}

case "${1:-}" in
check) check ;;
install) install ;;
assets) assets "${2:?assets DIR}" ;;
up) up "${2:?up DIR N}" "${3:?up DIR N}" ;;
down) down "${2:?down DIR}" ;;
*) die "usage: virt-harness.sh check | install | assets DIR | up DIR N | down DIR" ;;
esac
