#!/usr/bin/env bash
# netcert set-up: a Docker engine that can run kind, and every image the suites need, built from
# source (Go module proxy + Debian archive only). Idempotent: what is up to date is skipped.
# Usage: sudo make setup   (or: sudo bash images/setup.sh)
set -o errexit -o nounset -o pipefail

NETCERT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$NETCERT_ROOT/images/lib.sh"
for recipe in "$NETCERT_ROOT"/images/build/*.sh "$NETCERT_ROOT/images/docker-engine.sh" \
  "$NETCERT_ROOT/images/install-runtime-wrapper.sh"; do
  # shellcheck source=/dev/null
  source "$recipe"
done

preflight() {
  [[ $EUID -eq 0 ]] || die "run the set-up as root (sudo make setup): it installs and starts a Docker engine and writes $NETCERT_CACHE"
  command -v go >/dev/null || die "Go is not on PATH: install Go $(sed -n 's/^go //p' "$NETCERT_ROOT/go.mod") or newer"
  command -v gcc >/dev/null || apt_install gcc libc6-dev
  command -v debootstrap >/dev/null || apt_install debootstrap
  # debootstrap checks the Debian archive's signatures (Debian has the keyring; Ubuntu lacks it).
  [[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || apt_install debian-archive-keyring
  command -v jq >/dev/null || apt_install jq
  # make kernel puts firewall shapes into network namespaces of this machine.
  command -v ipset >/dev/null || apt_install ipset
  command -v nft >/dev/null || apt_install nftables
  # The HTML report's test renders it in headless Chromium (make browser), or in $NETCERT_CHROMIUM.
  [[ -n "${NETCERT_CHROMIUM:-}" ]] || command -v chromium >/dev/null || apt_install chromium
}

# raise_inotify_limits: every kind node runs systemd, a kubelet and containerd, each holding inotify
# instances; with several clusters up (a kept one beside a suite's, or the overlap test's second
# cluster) the host's default of 128 runs out and kube-proxy crash-loops with "too many open
# files". Raised, never lowered; for this boot only.
raise_inotify_limits() {
  local key want have
  for key in fs.inotify.max_user_instances=1024 fs.inotify.max_user_watches=524288; do
    want=${key#*=} key=${key%=*}
    have=$(sysctl -n "$key")
    if ((have < want)); then
      sysctl -qw "$key=$want"
      log "$key: $have -> $want"
    fi
  done
}

# build_binaries [upstream]: every binary of the local images, or in upstream mode only what the
# upstream images lack (the CNI plugins, netcert's programs, Calico's manifest).
build_binaries() {
  ensure_binaries cni-plugins "$(recipe_hash "$NETCERT_ROOT/images/build/cni-plugins.sh" \
    "=$CNI_PLUGINS_VERSION" "=$FLANNEL_CNI_PLUGIN_VERSION")" build_cni_plugins
  ensure_binaries netcert "$(netcert_programs_recipe)" build_netcert_programs
  if [[ ${1:-} == upstream ]]; then
    ensure_binaries calico-manifest "$(recipe_hash "$NETCERT_ROOT/images/build/calico.sh" "=$CALICO_VERSION" \
      "=$CALICO_MANIFEST")" copy_calico_manifest
    return
  fi
  ensure_binaries kubernetes "$(recipe_hash "$NETCERT_ROOT/images/build/kubernetes.sh" "=$KUBERNETES_VERSION")" build_kubernetes
  ensure_binaries pause "$(recipe_hash "$NETCERT_ROOT/images/build/pause.sh" "=$KUBERNETES_VERSION" "=$PAUSE_VERSION")" build_pause
  ensure_binaries etcd "$(recipe_hash "$NETCERT_ROOT/images/build/etcd.sh" "=$ETCD_VERSION")" build_etcd
  ensure_binaries coredns "$(recipe_hash "$NETCERT_ROOT/images/build/coredns.sh" "=$COREDNS_VERSION")" build_coredns
  ensure_binaries flanneld "$(recipe_hash "$NETCERT_ROOT/images/build/flanneld.sh" "=$FLANNEL_VERSION")" build_flanneld
  ensure_binaries calico "$(recipe_hash "$NETCERT_ROOT/images/build/calico.sh" "=$CALICO_VERSION" \
    "=$CALICO_API_VERSION" "=$CALICO_BUILD_VERSION" "=$CALICO_MANIFEST")" build_calico
}

NODE_ROOTFS=netcert.local/rootfs-node:$DEBIAN_SUITE
NET_ROOTFS=netcert.local/rootfs-net:$DEBIAN_SUITE
NODE_ROOTFS_RECIPE=$(recipe_hash "$NETCERT_ROOT/images/build/rootfs.sh" "=node" "=$DEBIAN_SUITE")
NET_ROOTFS_RECIPE=$(recipe_hash "$NETCERT_ROOT/images/build/rootfs.sh" "=net" "=$DEBIAN_SUITE")

# build_rootfs_images [upstream]: mostly downloads and dpkg, so it runs beside the Go builds, which
# want the CPUs. Upstream mode needs only the network agents' root file system (CNI plugins image).
build_rootfs_images() {
  ensure_image "$NET_ROOTFS" "$NET_ROOTFS_RECIPE" build_rootfs "${net_rootfs_packages[@]}"
  [[ ${1:-} == upstream ]] || ensure_image "$NODE_ROOTFS" "$NODE_ROOTFS_RECIPE" build_rootfs "${node_rootfs_packages[@]}"
}

# build_images [upstream]: the images built here in either mode, then the local mode's own.
build_images() {
  local builders=$NETCERT_ROOT/images/build/images.sh plugin plugins=()
  for plugin in "${cni_plugins[@]#*/}"; do plugins+=("cni/$plugin=/cni-plugins/$plugin"); done
  ensure_image "$CNI_PLUGINS_IMAGE" "$(recipe_hash "$builders" "$BIN_DIR/.cni-plugins.recipe" "=$NET_ROOTFS_RECIPE")" \
    binary_image "$NET_ROOTFS" '["/bin/sh"]' "${plugins[@]}"

  ensure_image "$PROBE_IMAGE" "$(recipe_hash "$builders" "$BIN_DIR/.netcert.recipe")" \
    binary_image scratch '["/netcert-probe", "serve"]' "netcert-probe=/netcert-probe" "netcert-dns-upstream=/netcert-dns-upstream"
  # The node agent idles; netcert runs nsenter in it (node/agent.go).
  ensure_image "$AGENT_IMAGE" "$(recipe_hash "$builders" "=$NET_ROOTFS_RECIPE")" \
    binary_image "$NET_ROOTFS" '["sleep", "infinity"]'
  [[ ${1:-} == upstream ]] || build_local_images
}

# build_local_images: the node image (Kubernetes, etcd, CoreDNS, pause), Flannel and Calico.
build_local_images() {
  local builders=$NETCERT_ROOT/images/build/images.sh plugin plugins=()
  local k8s=registry.k8s.io v=$KUBERNETES_VERSION bin=/usr/local/bin
  local -A recipe
  recipe[k8s]=$(recipe_hash "$builders" "$BIN_DIR/.kubernetes.recipe")
  recipe[proxy]=$(recipe_hash "=${recipe[k8s]}" "=$NET_ROOTFS_RECIPE")
  recipe[etcd]=$(recipe_hash "$builders" "$BIN_DIR/.etcd.recipe")
  recipe[coredns]=$(recipe_hash "$builders" "$BIN_DIR/.coredns.recipe")
  recipe[pause]=$(recipe_hash "$builders" "$BIN_DIR/.pause.recipe")
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    ensure_image "$k8s/$c:$v" "${recipe[k8s]}" binary_image scratch "[\"$bin/$c\"]" "$c=$bin/$c"
  done
  ensure_image "$k8s/kube-proxy:$v" "${recipe[proxy]}" binary_image "$NET_ROOTFS" "[\"$bin/kube-proxy\"]" "kube-proxy=$bin/kube-proxy"
  ensure_image "$k8s/etcd:$ETCD_IMAGE_TAG" "${recipe[etcd]}" binary_image scratch "[\"$bin/etcd\"]" "etcd=$bin/etcd" "etcdctl=$bin/etcdctl"
  ensure_image "$k8s/coredns/coredns:$COREDNS_VERSION" "${recipe[coredns]}" binary_image scratch '["/coredns"]' "coredns=/coredns"
  ensure_image "$k8s/pause:$PAUSE_VERSION" "${recipe[pause]}" binary_image scratch '["/pause"]' "pause=/pause"

  ensure_image "$LOCAL_FLANNEL_IMAGE" "$(recipe_hash "$builders" "$BIN_DIR/.flanneld.recipe" "$BIN_DIR/.cni-plugins.recipe" "=$NET_ROOTFS_RECIPE")" \
    binary_image "$NET_ROOTFS" '["/opt/bin/flanneld"]' "flanneld=/opt/bin/flanneld" "cni/flannel=/flannel"
  # Calico: calico-node with netcert's start script (VXLAN, no BIRD); the CNI image, whose installer
  # copies its /opt/cni/bin to the node; kube-controllers.
  local calico=$BIN_DIR/.calico.recipe start=$NETCERT_ROOT/images/calico/start-calico-node
  ensure_image "$LOCAL_CALICO_NODE_IMAGE" "$(recipe_hash "$builders" "$calico" "$start" "=$NET_ROOTFS_RECIPE")" \
    binary_image "$NET_ROOTFS" '["/usr/bin/start-calico-node"]' \
    calico/calico-node=/usr/bin/calico-node "$start=/usr/bin/start-calico-node"
  plugins=()
  for plugin in bandwidth tuning portmap host-local loopback; do plugins+=("cni/$plugin=/opt/cni/bin/$plugin"); done
  ensure_image "$LOCAL_CALICO_CNI_IMAGE" "$(recipe_hash "$builders" "$calico" "$BIN_DIR/.cni-plugins.recipe")" \
    binary_image scratch '["/opt/cni/bin/install"]' "${plugins[@]}" \
    calico/calico=/opt/cni/bin/calico calico/calico=/opt/cni/bin/calico-ipam calico/install=/opt/cni/bin/install
  ensure_image "$LOCAL_CALICO_KUBE_CONTROLLERS_IMAGE" "$(recipe_hash "$builders" "$calico")" calico_kube_controllers_image

  # The node image, last: kubeadm's images, and netcert's own (CNIs, probe, agent) so that a new
  # cluster has them without a load (the test bed loads only those the node image lacks).
  local stage=netcert.local/node-stage:$v stage_recipe image preload=()
  stage_recipe=$(recipe_hash "$builders" "$NETCERT_ROOT/images/node" "=$NODE_ROOTFS_RECIPE" "=${recipe[k8s]}" "=$PAUSE_VERSION")
  ensure_image "$stage" "$stage_recipe" node_stage_image "$NODE_ROOTFS"
  for image in "$k8s/kube-apiserver:$v" "$k8s/kube-controller-manager:$v" "$k8s/kube-scheduler:$v" "$k8s/kube-proxy:$v" \
    "$k8s/etcd:$ETCD_IMAGE_TAG" "$k8s/coredns/coredns:$COREDNS_VERSION" "$k8s/pause:$PAUSE_VERSION" \
    "$LOCAL_FLANNEL_IMAGE" "$CNI_PLUGINS_IMAGE" "$LOCAL_CALICO_NODE_IMAGE" "$LOCAL_CALICO_CNI_IMAGE" \
    "$LOCAL_CALICO_KUBE_CONTROLLERS_IMAGE" "$PROBE_IMAGE" "$AGENT_IMAGE"; do
    preload+=("$image@$(docker image inspect -f '{{.Id}}' "$image")") || return
  done
  ensure_image "$LOCAL_NODE_IMAGE" "$(recipe_hash "=$stage_recipe" "${preload[@]/#/=}")" node_image "$stage" "${preload[@]}"
}

main() {
  log "netcert set-up in $NETCERT_ROOT (cache: $NETCERT_CACHE)"
  preflight
  step "Docker engine" ensure_docker_engine
  step "OCI runtime wrapper" install_runtime_wrapper
  step "privileged containers" check_privileged_containers
  step "inotify limits for several kind clusters" raise_inotify_limits
  local mode=${NETCERT_IMAGES:-local}
  [[ $mode == local || $mode == upstream ]] || die "NETCERT_IMAGES=$mode: want local or upstream"
  log "image mode: $mode"
  build_rootfs_images "$mode" &
  local rootfs_pid=$!
  build_binaries "$mode"
  wait "$rootfs_pid" || die "building the Debian root file systems failed (see the output above)"
  build_images "$mode"
  log "set-up complete in $(($(date +%s) - SETUP_STARTED))s"
}

main "$@"
