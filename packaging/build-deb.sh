#!/bin/bash
# Builds rackagent_<version>_amd64.deb with dpkg-deb from a statically linked (Swift runtime) release binary.
# Usage: packaging/build-deb.sh BINARY MANUAL_DIRECTORY OUTPUT_DIRECTORY
# Depends: is computed from the binary's shared libraries (ldd, dpkg -S), plus the tools the agent runs.
set -euo pipefail
binary=$1 manuals=$2 output=$3
here=$(cd "$(dirname "$0")/.." && pwd)
version=$("$binary" --version)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/rackagent_${version}_amd64

install -D -m 0755 "$binary" "$root/usr/bin/rackagent"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/rackagent"
install -d -m 0755 "$root/lib/systemd/system"
sed 's#^ExecStart=/usr/local/bin/rackagent#ExecStart=/usr/bin/rackagent#' "$here/systemd/rackagent.service" > "$root/lib/systemd/system/rackagent.service"
chmod 0644 "$root/lib/systemd/system/rackagent.service"
install -D -m 0640 "$here/agent.example.yaml" "$root/etc/rackagent/agent.yaml"
install -d -m 0755 "$root/usr/share/rackagent"
cp -r "$here/pxe-templates" "$root/usr/share/rackagent/"
find "$root/usr/share/rackagent" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
# The scripts are served to booting machines, not run here, but they are scripts: executable like any other.
find "$root/usr/share/rackagent" -type f -name '*.sh' -exec chmod 0755 {} +

# Manual pages (swift-argument-parser's generate-manual) and shell completions from the binary itself.
install -d -m 0755 "$root/usr/share/man/man1"
for page in "$manuals"/*.1; do gzip -9n -c "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"; done
install -d -m 0755 "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$binary" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/rackagent"
"$binary" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_rackagent"
"$binary" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/rackagent.fish"
chmod 0644 "$root"/usr/share/bash-completion/completions/* "$root"/usr/share/zsh/vendor-completions/* "$root"/usr/share/fish/vendor_completions.d/*

install -D -m 0644 "$here/packaging/lintian-overrides" "$root/usr/share/lintian/overrides/rackagent"
install -d -m 0755 "$root/usr/share/doc/rackagent"
install -m 0644 "$here/packaging/copyright" "$root/usr/share/doc/rackagent/copyright"
gzip -9n -c "$here/README.md" > "$root/usr/share/doc/rackagent/README.md.gz"
printf 'rackagent (%s) unstable; urgency=medium\n\n  * Package built from the source tree.\n\n -- RackAgent maintainers <rackagent-maintainers@example.com>  %s\n' \
    "$version" "$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n > "$root/usr/share/doc/rackagent/changelog.gz"

# The packages that own the binary's shared libraries, then the programs the agent runs.
# dpkg knows a file by the path its package shipped it at: try the path ldd shows, the file it links to, and both
# without /usr (merged /usr: /lib is /usr/lib).
owner() {
    local resolved
    resolved=$(readlink -f "$1")
    for candidate in "$1" "$resolved" "${1#/usr}" "${resolved#/usr}" "$(dirname "$1")/$(basename "$resolved")"; do
        if dpkg -S "$candidate" >/dev/null 2>&1; then dpkg -S "$candidate" | head -1 | cut -d: -f1; return; fi
    done
    echo "no package owns $1" >&2
    return 1
}
libraries=$(ldd "$binary" | awk '/=> \//{print $3}' | sort -u)
owners=""
for library in $libraries; do
    package=$(owner "$library") || exit 1
    owners="$owners $package"
done
packages=$(printf '%s\n' $owners | sort -u)
depends=$(for package in $packages; do
    version_installed=$(dpkg-query -W -f='${Version}' "$package" | sed 's/-[^-]*$//')
    echo "$package (>= $version_installed)"
done | paste -sd, | sed 's/,/, /g')
depends="$depends, ipmitool, dnsmasq-base, ipxe, adduser"

install -d -m 0755 "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$(du -ks "$root" | cut -f1)/" "$here/packaging/control" > "$root/DEBIAN/control"
echo /etc/rackagent/agent.yaml > "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$here/packaging/$script" "$root/DEBIAN/$script"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"

mkdir -p "$output"
dpkg-deb --root-owner-group --build "$root" "$output/rackagent_${version}_amd64.deb" >/dev/null
echo "$output/rackagent_${version}_amd64.deb"
