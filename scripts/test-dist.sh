#!/usr/bin/env bash
# `make test-dist`: what `make dist` built, checked as an operator would use it, on this machine (as root; CI's
# machine is fresh). Packages: installed with apt (their Depends resolved), unit files verified with
# systemd-analyze, the user, directories and modes, the services enabled but not started, the binaries run, an
# upgrade keeps an edited configuration, removal keeps it and purge removes it. Images: the OCI archives hold
# the labels, a non-root user, and a binary that runs with only what the image carries. lintian's findings are
# printed (not failed on: see the note in docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=dist
VERSION=${VERSION:-0.1.0}
failures=0
ok() { printf '  ok: %s\n' "$*"; }
fail() { printf '  FAILED: %s\n' "$*"; failures=$((failures + 1)); }
check() { local description=$1; shift; if "$@" >/dev/null 2>&1; then ok "$description"; else fail "$description"; fi; }
mode() { stat -c '%a %U:%G' "$1"; }

[ "$(id -u)" -eq 0 ] || { echo "test-dist: run as root (it installs the packages)" >&2; exit 1; }
control=$(ls "$OUT"/emp-control-plane_*.deb)
agent=$(ls "$OUT"/emp-agent_*.deb)
export DEBIAN_FRONTEND=noninteractive

echo "packages: install"
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "./$control" "./$agent" >/dev/null ||
    { apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends "./$control" "./$agent" >/dev/null; }
check "emp-control-plane and emp-agent installed" dpkg-query -W emp-control-plane emp-agent
for unit in emp-control-plane emp-agent; do
    check "$unit.service passes systemd-analyze verify" systemd-analyze verify "/lib/systemd/system/$unit.service"
    check "$unit.service enabled" test -L "/etc/systemd/system/multi-user.target.wants/$unit.service"
done
check "the system user emp exists, without a login shell" sh -c 'getent passwd emp | grep -q ":/var/lib/emp:/usr/sbin/nologin$"'
check "/var/lib/emp is 0700 emp:emp" test "$(mode /var/lib/emp)" = "700 emp:emp"
check "/etc/emp/control-plane.yaml is 0600 emp:emp" test "$(mode /etc/emp/control-plane.yaml)" = "600 emp:emp"
check "/etc/emp/agent.yaml is 0600 root:root" test "$(mode /etc/emp/agent.yaml)" = "600 root:root"
check "/var/lib/emp-agent is 0700" test "$(mode /var/lib/emp-agent)" = "700 root:root"
for binary in emp-control-plane empctl emp-agent; do
    check "/usr/bin/$binary --help runs" "/usr/bin/$binary" --help
done
check "the binaries carry the Swift runtime (no libswiftCore.so needed)" sh -c '! ldd /usr/bin/emp-control-plane | grep -q libswiftCore'
check "emp-agent depends on libvirt's library, computed by dpkg-shlibdeps" sh -c 'dpkg-query -W -f="\${Depends}" emp-agent | grep -q libvirt0'

echo "packages: upgrade keeps the configuration"
echo "# edited by the operator" >> /etc/emp/control-plane.yaml
work=$(mktemp -d)
dpkg-deb -R "$control" "$work/pkg"
sed -i 's/^Version: \(.*\)$/Version: \1.1/' "$work/pkg/DEBIAN/control"
dpkg-deb --root-owner-group --build "$work/pkg" "$work/upgrade.deb" >/dev/null
dpkg -i "$work/upgrade.deb" >/dev/null
check "upgraded to the next version" sh -c 'dpkg-query -W -f="\${Version}" emp-control-plane | grep -q "\.1$"'
check "the edited configuration is kept" grep -q "edited by the operator" /etc/emp/control-plane.yaml
check "its mode too" test "$(mode /etc/emp/control-plane.yaml)" = "600 emp:emp"
rm -rf "$work"

echo "packages: remove keeps the configuration, purge removes it"
dpkg -r emp-control-plane emp-agent >/dev/null
check "binaries gone" sh -c '! test -e /usr/bin/emp-control-plane && ! test -e /usr/bin/emp-agent'
check "configuration kept after remove" test -f /etc/emp/control-plane.yaml -a -f /etc/emp/agent.yaml
dpkg -P emp-control-plane emp-agent >/dev/null
check "configuration removed by purge" sh -c '! test -e /etc/emp/control-plane.yaml && ! test -e /etc/emp/agent.yaml'
check "enablement removed by purge" sh -c '! test -e /etc/systemd/system/multi-user.target.wants/emp-control-plane.service'
check "the pool's state is kept (data, not configuration)" test -d /var/lib/emp

echo "images"
for name in emp-webhook emp-control-plane; do
    archive="$OUT/$name-$VERSION.oci.tar"
    check "$archive exists" test -f "$archive"
    check "$name: OCI labels, non-root user, entrypoint" python3 - "$archive" "$name" "$VERSION" <<'PY'
import json, sys, tarfile
archive, name, version = sys.argv[1:]
with tarfile.open(archive) as tar:
    read = lambda path: json.load(tar.extractfile(path))
    index = read("index.json")
    manifest = read("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1])
    config = read("blobs/sha256/" + manifest["config"]["digest"].split(":")[1])
labels = config["config"]["Labels"]
assert labels["org.opencontainers.image.version"] == version, labels
assert labels["org.opencontainers.image.revision"] and labels["org.opencontainers.image.source"].startswith("https://"), labels
assert config["config"]["User"] == "65532:65532", config["config"]
assert config["config"]["Entrypoint"] == ["/usr/bin/" + name], config["config"]
assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"].endswith(f"/{name}:{version}"), index
PY
    storage=(--storage-driver vfs --root "$PWD/dist/build/containers" --runroot "$PWD/dist/build/containers-run")
    container=$(buildah "${storage[@]}" from --quiet "oci-archive:$archive")
    check "$name runs from the image alone (its libraries, as user 65532)" \
        buildah "${storage[@]}" run --isolation chroot "$container" -- "/usr/bin/$name" --help
    check "$name: the image runs as a non-root user" \
        sh -c "buildah ${storage[*]} run --isolation chroot $container -- /usr/bin/$name --help >/dev/null && [ \"\$(buildah ${storage[*]} inspect --format '{{.OCIv1.Config.User}}' $container)\" = 65532:65532 ]"
    buildah "${storage[@]}" rm "$container" >/dev/null
done
check "dist/deploy names the images built" sh -c "grep -q 'image: localhost/emp/emp-webhook:$VERSION' dist/deploy/webhook/20-deployment.yaml && grep -q 'image: localhost/emp/emp-control-plane:$VERSION' dist/deploy/control-plane/30-statefulset.yaml"

echo "lintian (findings listed, not failed on)"
command -v lintian >/dev/null || apt-get install -y -q --no-install-recommends lintian >/dev/null || true
if command -v lintian >/dev/null; then lintian --no-tag-display-limit "$control" "$agent" | sed 's/^/  /' || true; fi

if [ "$failures" -ne 0 ]; then echo "test-dist: $failures check(s) FAILED"; exit 1; fi
echo "test-dist: every check held."
