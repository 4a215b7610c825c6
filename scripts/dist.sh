#!/usr/bin/env bash
# `make dist`: release binaries (the Swift runtime linked statically), Debian packages (emp-control-plane with
# empctl, emp-agent) and OCI image archives (emp-control-plane, emp-webhook) under dist/, built with Debian's own
# tools (dpkg-shlibdeps, dpkg-deb) and buildah without a daemon (vfs storage, chroot isolation).
#
# VERSION (default 0.1.0), REGISTRY (default localhost/emp: the image names are REGISTRY/emp-webhook:VERSION …).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:-0.1.0}
REGISTRY=${REGISTRY:-localhost/emp}
SWIFT=${SWIFT:-swift}
REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DEB_VERSION="${VERSION}+git${REVISION}"
SOURCE_URL=${SOURCE_URL:-https://github.com/emp-project/emp}
ARCH=$(dpkg --print-architecture)
OUT=dist
STAGE=$OUT/build
rm -rf "$STAGE/bin"
STORAGE=(--storage-driver vfs --root "$PWD/$STAGE/containers" --runroot "$PWD/$STAGE/containers-run")

need=(dpkg-dev fakeroot buildah ca-certificates)
missing=()
for package in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "dist: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
            { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
    else
        echo "dist: needs ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
        exit 1
    fi
fi

echo "dist: release build (static Swift runtime) of emp-control-plane, emp-agent, empctl, emp-webhook"
products=(emp-control-plane emp-agent empctl emp-webhook)
for product in "${products[@]}"; do
    $SWIFT build -c release --static-swift-stdlib --scratch-path .build/dist --product "$product" >/dev/null
done
# Stripped copies (symbols are most of a statically linked Swift binary's size).
BIN=$STAGE/bin
mkdir -p "$BIN"
for product in "${products[@]}"; do
    install -m 0755 ".build/dist/release/$product" "$BIN/$product"
    strip --strip-unneeded "$BIN/$product"
done

rm -rf "$STAGE/deb" "$OUT"/*.deb "$OUT"/*.oci.tar "$OUT/deploy"
mkdir -p "$STAGE/deb" "$OUT"

# The shared libraries a binary links, as Debian dependencies (dpkg-shlibdeps needs a debian/control beside it).
shlibdeps() {
    local work; work=$(mktemp -d)
    mkdir -p "$work/debian"
    printf 'Source: emp\n\nPackage: emp\nArchitecture: any\n' > "$work/debian/control"
    local binaries=()
    for binary in "$@"; do binaries+=("$PWD/$binary"); done
    (cd "$work" && dpkg-shlibdeps -O -e"${binaries[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    rm -rf "$work"
}

# package NAME DESCRIPTION SOURCE_DIR CONFIG EXTRA_DEPENDS BINARIES...: the binaries, SOURCE_DIR's systemd unit (run from
# /usr/bin) and example configuration (as /etc/emp/CONFIG, a conffile), packaging/NAME's maintainer scripts and
# description, then dpkg-deb.
package() {
    local name=$1 description=$2 source=$3 config=$4 extra=$5; shift 5
    local root="$STAGE/deb/$name"
    mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/$name" "$root/lib/systemd/system" "$root/etc/emp"
    for script in postinst prerm postrm; do
        [ -f "packaging/$name/$script" ] && install -m 0755 "packaging/$name/$script" "$root/DEBIAN/$script"
    done
    sed 's#/usr/local/bin/#/usr/bin/#' "$source/$name.service" > "$root/lib/systemd/system/$name.service"
    chmod 0644 "$root/lib/systemd/system/$name.service"
    install -m 0600 "$source/"*.example.yaml "$root/etc/emp/$config"
    for binary in "$@"; do install -m 0755 "$BIN/$binary" "$root/usr/bin/$binary"; done
    install -m 0644 docs/operations.md "$root/usr/share/doc/$name/operations.md"
    # A native package's changelog: this build.
    printf '%s (%s) unstable; urgency=medium\n\n  * Built from revision %s.\n\n -- EMP developers <emp@example.org>  %s\n' \
        "$name" "$DEB_VERSION" "$REVISION" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")" |
        gzip -9n > "$root/usr/share/doc/$name/changelog.gz"
    chmod 0644 "$root/usr/share/doc/$name/changelog.gz"
    local depends; depends=$(shlibdeps "${@/#/$BIN/}")
    [ -n "$extra" ] && depends="$depends, $extra"
    local size; size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: EMP developers <emp@example.org>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: $SOURCE_URL
Description: $description
CONTROL
    sed -n '2,$p' "packaging/$name/description" | sed 's/^$/./; s/^/ /' >> "$root/DEBIAN/control"
    echo "/etc/emp/$config" > "$root/DEBIAN/conffiles"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/${name}_${DEB_VERSION}_${ARCH}.deb" >/dev/null
    echo "dist: $OUT/${name}_${DEB_VERSION}_${ARCH}.deb (Depends: $depends)"
}

package emp-control-plane "$(head -n1 packaging/emp-control-plane/description)" control-plane control-plane.yaml "adduser" \
    emp-control-plane empctl
package emp-agent "$(head -n1 packaging/emp-agent/description)" agent agent.yaml "libvirt-daemon-system, qemu-system-x86, xorriso" \
    emp-agent

# image NAME: FROM scratch, the binary, the shared libraries it loads, CA certificates, a non-root user.
image() {
    local name=$1 tag="$REGISTRY/$1:$VERSION"
    local container; container=$(buildah "${STORAGE[@]}" from scratch)
    local root="$STAGE/image-$name"
    rm -rf "$root"
    mkdir -p "$root/usr/bin" "$root/etc/ssl/certs" "$root/tmp"
    install -m 0755 "$BIN/$name" "$root/usr/bin/$name"
    # Every library the loader resolves, at the path it resolved it, plus the loader itself.
    ldd "$BIN/$name" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r library; do
        mkdir -p "$root$(dirname "$library")"
        cp -L "$library" "$root$library"
    done
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nemp:x:65532:65532:emp:/home/emp:/sbin/nologin\n' > "$root/etc/passwd"
    printf 'root:x:0:\nemp:x:65532:\n' > "$root/etc/group"
    chmod 1777 "$root/tmp"
    buildah "${STORAGE[@]}" copy --quiet "$container" "$root/" / >/dev/null
    buildah "${STORAGE[@]}" config \
        --user 65532:65532 --workingdir / --entrypoint "[\"/usr/bin/$name\"]" --cmd "" \
        --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
        --label "org.opencontainers.image.title=$name" \
        --label "org.opencontainers.image.version=$VERSION" \
        --label "org.opencontainers.image.revision=$REVISION" \
        --label "org.opencontainers.image.source=$SOURCE_URL" \
        "$container"
    buildah "${STORAGE[@]}" commit --quiet --format oci "$container" "$tag" >/dev/null
    buildah "${STORAGE[@]}" push --quiet "$tag" "oci-archive:$OUT/$name-$VERSION.oci.tar:$tag"
    buildah "${STORAGE[@]}" rm "$container" >/dev/null
    echo "dist: $OUT/$name-$VERSION.oci.tar ($tag)"
}

image emp-webhook
image emp-control-plane

# The manifests with the image just built.
mkdir -p "$OUT/deploy"
cp -a deploy/. "$OUT/deploy/"
find "$OUT/deploy" -name '*.yaml' -exec sed -i "s#image: localhost/emp/\\([a-z-]*\\):[0-9A-Za-z.+-]*#image: $REGISTRY/\\1:$VERSION#" {} +
echo "dist: $OUT/deploy (images $REGISTRY/…:$VERSION)"
