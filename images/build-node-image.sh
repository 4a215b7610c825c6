#!/usr/bin/env bash
# Builds a node image for EMP pools from Debian's packages: Debian (bookworm) with cloud-init (NoCloud),
# containerd with the systemd cgroup driver, the kubelet binary you give (installed with a unit that is NOT
# enabled: the EVM's cloud-init seed writes its configuration and then starts it), swap off, br_netfilter and IP
# forwarding, GRUB on a serial console; written as qcow2. Needs root, debootstrap and qemu-utils.
#
#   images/build-node-image.sh --kubelet ./kubelet --out node.qcow2 [--size 8G] [--suite bookworm] [--mirror URL]
#
# The kubelet: the cluster's minor version (or one below), e.g. from https://dl.k8s.io/release/v1.28.15/bin/linux/amd64/kubelet.
set -euo pipefail

kubelet="" out="node.qcow2" size="8G" suite="bookworm" mirror="http://deb.debian.org/debian"
while [ $# -gt 0 ]; do
    case "$1" in
    --kubelet) kubelet=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    *) echo "build-node-image: unknown argument $1 (see the comment at the top)" >&2; exit 64 ;;
    esac
done
[ -n "$kubelet" ] || { echo "build-node-image: --kubelet PATH is required (the kubelet binary to install)" >&2; exit 64; }
[ -x "$kubelet" ] || { echo "build-node-image: --kubelet $kubelet is not an executable file" >&2; exit 64; }
[ "$(id -u)" -eq 0 ] || { echo "build-node-image: run as root (loop devices, mount, chroot)" >&2; exit 1; }
for tool in debootstrap qemu-img sfdisk losetup mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "build-node-image: needs $tool (apt-get install debootstrap qemu-utils fdisk)" >&2; exit 1; }
done

work=$(mktemp -d)
raw="$work/disk.raw"
root="$work/root"
loop=""
cleanup() {
    set +e
    for mount in dev/pts dev proc sys ""; do mountpoint -q "$root/$mount" && umount "$root/$mount"; done
    [ -n "$loop" ] && losetup -d "$loop"
    rm -rf "$work"
}
# The partition starts at sector 2048; GRUB's core image goes in the gap before it (no partition device nodes
# are needed: containers often have no udev to make them).
start=2048
trap cleanup EXIT

echo "build-node-image: a $size disk with one bootable ext4 partition"
truncate -s "$size" "$raw"
printf 'label: dos\nstart=%d, type=L, bootable\n' "$start" | sfdisk -q "$raw"
loop=$(losetup -f --show -o $((start * 512)) "$raw")
mkfs.ext4 -q -L root "$loop"
mkdir -p "$root"
mount "$loop" "$root"

echo "build-node-image: debootstrap $suite, then the kernel, cloud-init, containerd and GRUB with apt"
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --include=systemd-sysv,ca-certificates \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" "$root/debootstrap/debootstrap.log" >&2 2>/dev/null; exit 1; }
for mount in dev dev/pts proc sys; do mount --bind "/$mount" "$root/$mount"; done
echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
chroot "$root" apt-get update -q >"$work/apt.log" 2>&1
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
    linux-image-amd64 grub-pc-bin cloud-init containerd ifupdown isc-dhcp-client iproute2 iptables conntrack ethtool socat \
    netbase kmod udev dbus >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }

echo "build-node-image: configure"
echo "LABEL=root / ext4 defaults,errors=remount-ro 0 1" > "$root/etc/fstab"
echo "emp-node" > "$root/etc/hostname"
# cloud-init: only the NoCloud seed the agent attaches (no network metadata services to wait for).
echo "datasource_list: [ NoCloud, None ]" > "$root/etc/cloud/cloud.cfg.d/90-emp-datasource.cfg"
# containerd with the systemd cgroup driver (the seed's KubeletConfiguration says cgroupDriver: systemd).
mkdir -p "$root/etc/containerd"
chroot "$root" containerd config default > "$root/etc/containerd/config.toml"
sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' "$root/etc/containerd/config.toml"
# The kubelet, with a unit the seed enables once it has written the configuration.
install -m 0755 "$kubelet" "$root/usr/bin/kubelet"
cat > "$root/lib/systemd/system/kubelet.service" <<'UNIT'
[Unit]
Description=kubelet: the Kubernetes node agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
printf 'overlay\nbr_netfilter\n' > "$root/etc/modules-load.d/kubernetes.conf"
printf 'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n' \
    > "$root/etc/sysctl.d/90-kubernetes.conf"

echo "build-node-image: GRUB (BIOS, serial console)"
# What grub-install does, without a device for the partition: the modules under /boot/grub, a core image that
# finds them on the first partition, written after the MBR, and the boot sector.
mkdir -p "$root/boot/grub"
cp -r "$root/usr/lib/grub/i386-pc" "$root/boot/grub/"
chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/core.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 \
    >"$work/grub.log" 2>&1 || { cat "$work/grub.log" >&2; exit 1; }
cat > "$root/boot/grub/grub.cfg" <<'GRUB'
serial --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
menuentry "Debian (EMP node)" {
    linux /vmlinuz root=LABEL=root ro console=tty0 console=ttyS0,115200n8 net.ifnames=0
    initrd /initrd.img
}
GRUB
core=$(stat -c %s "$root/boot/grub/core.img")
[ "$core" -lt $(((start - 1) * 512)) ] || { echo "build-node-image: GRUB's core image does not fit before the partition" >&2; exit 1; }
dd if="$root/usr/lib/grub/i386-pc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$root/boot/grub/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
chroot "$root" apt-get clean
for mount in dev/pts dev proc sys; do umount "$root/$mount"; done
umount "$root"
losetup -d "$loop"
loop=""

echo "build-node-image: qcow2"
qemu-img convert -c -O qcow2 "$raw" "$out"
echo "build-node-image: $out ($(du -h "$out" | cut -f1)); pool shape image: $out on every host (docs/operations.md)"
