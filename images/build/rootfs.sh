# Debian root file systems made with debootstrap from the archive that apt already uses here,
# imported into Docker as base images.
# shellcheck shell=bash

# What a kind node needs to boot systemd and run containerd, the kubelet and kube-proxy.
node_rootfs_packages=(systemd systemd-sysv dbus containerd runc iptables nftables conntrack ebtables
  ethtool socat util-linux mount kmod iproute2 procps ca-certificates jq bash libseccomp2 pigz ipset
  iputils-ping netbase)
# What in-cluster network agents (kube-proxy, flanneld) need.
net_rootfs_packages=(iptables nftables ipset conntrack kmod iproute2 ca-certificates netbase)

# debian_mirror prints the Debian archive to debootstrap from: $NETCERT_DEBIAN_MIRROR if set; on
# Debian, the first non-security archive apt uses; elsewhere (an Ubuntu CI runner) deb.debian.org.
debian_mirror() {
  if [[ -n "${NETCERT_DEBIAN_MIRROR:-}" ]]; then
    echo "$NETCERT_DEBIAN_MIRROR"
  elif [[ "$(. /etc/os-release 2>/dev/null && echo "$ID")" != debian ]]; then
    echo http://deb.debian.org/debian
  else
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    cat "${files[@]}" 2>/dev/null |
      awk '/^URIs:/ {print $2} /^deb / {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' |
      grep -v security | head -n1
  fi
}

# build_rootfs IMAGE RECIPE PACKAGE...: debootstraps a minimal Debian with PACKAGEs and imports it.
build_rootfs() {
  local image=$1 recipe=$2 dir mirror; shift 2
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || { echo "no Debian archive found in /etc/apt/sources.list*: set NETCERT_DEBIAN_MIRROR" >&2; return 1; }
  dir=$NETCERT_CACHE/rootfs/${image##*/}
  rm -rf "$dir" && mkdir -p "$dir" "$NETCERT_CACHE/debs"
  debootstrap --variant=minbase --cache-dir="$NETCERT_CACHE/debs" \
    --include="$(IFS=,; echo "$*")" "$DEBIAN_SUITE" "$dir" "$mirror" >"$dir.log" 2>&1 ||
    { tail -n 20 "$dir.log" >&2; return 1; }
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
  tar -C "$dir" -c . | docker import --change "LABEL $RECIPE_LABEL=$recipe" - "$image" >/dev/null || return
  rm -rf "$dir"
}
