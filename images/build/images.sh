# Image builders: small images around binaries from $BIN_DIR, and the two-stage kind node image.
# shellcheck shell=bash

# binary_image IMAGE RECIPE BASE ENTRYPOINT SRC=DEST...: an image FROM BASE holding each file SRC
# (relative to $BIN_DIR unless absolute) at DEST, run as ENTRYPOINT (a JSON array).
binary_image() {
  local image=$1 recipe=$2 ctx
  ctx=$(binary_image_context "$@") && docker_build_context "$image" "$recipe" "$ctx"
}

# binary_image_context IMAGE RECIPE BASE ENTRYPOINT SRC=DEST...: writes binary_image's build context
# and prints its directory, for builders that add to its Dockerfile.
binary_image_context() {
  local image=$1 base=$3 entrypoint=$4 ctx pair src; shift 4
  ctx=$NETCERT_CACHE/context/$(echo "$image" | tr '/:' '__')
  rm -rf "$ctx" && mkdir -p "$ctx/root"
  for pair in "$@"; do
    src=${pair%%=*}
    [[ "$src" == /* ]] || src=$BIN_DIR/$src
    mkdir -p "$ctx/root$(dirname "${pair#*=}")"
    cp "$src" "$ctx/root${pair#*=}" || return
  done
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY root/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT $entrypoint
DOCKERFILE
  echo "$ctx"
}

# calico_kube_controllers_image IMAGE RECIPE: kube-controllers and check-status (its probes) from
# $BIN_DIR/calico. kube-controllers runs as UID 999 and writes /status/status.json for check-status.
calico_kube_controllers_image() {
  local image=$1 recipe=$2 ctx
  ctx=$(binary_image_context "$image" "$recipe" scratch '["/usr/bin/kube-controllers"]' \
    calico/kube-controllers=/usr/bin/kube-controllers calico/check-status=/usr/bin/check-status) || return
  mkdir -p "$ctx/status" && : >"$ctx/status/status.json"
  printf 'COPY --chown=999:999 status/ /status/\nUSER 999\n' >>"$ctx/Dockerfile"
  docker_build_context "$image" "$recipe" "$ctx"
}

# node_stage_image IMAGE RECIPE ROOTFS: stage one of the node image (see images/node/Dockerfile).
node_stage_image() {
  local image=$1 recipe=$2 rootfs=$3 ctx=$NETCERT_CACHE/context/node cmd
  rm -rf "$ctx" && mkdir -p "$ctx/bin"
  cp -r "$NETCERT_ROOT/images/node/." "$ctx/"
  for cmd in kubelet kubeadm kubectl; do cp "$BIN_DIR/$cmd" "$ctx/bin/" || return; done
  docker_build_context "$image" "$recipe" "$ctx" --build-arg ROOTFS="$rootfs" \
    --build-arg KUBERNETES_VERSION="$KUBERNETES_VERSION" --build-arg PAUSE_VERSION="$PAUSE_VERSION"
}

# PRELOADED_LABEL lists, on the node image, the images it holds as "REF@ID" (Docker's image ID):
# the test bed loads into a new cluster only the images whose ID is not there.
PRELOADED_LABEL=netcert.preloaded

# node_image IMAGE RECIPE STAGE REF@ID...: stage two: STAGE with the images REF (of Docker image ID
# ID) imported into its containerd (k8s.io namespace, pinned, unpacked on first use), committed as
# IMAGE with their REF@ID list in its PRELOADED_LABEL.
node_image() {
  local image=$1 recipe=$2 stage=$3 tar=$NETCERT_CACHE/preload.tar name=netcert-node-build; shift 3
  docker save -o "$tar" "${@%@*}" || return
  docker rm -f "$name" >/dev/null 2>&1
  docker run -d --name "$name" --privileged --entrypoint sleep -v "$tar:/preload.tar:ro" "$stage" infinity >/dev/null || return
  # shellcheck disable=SC2016
  docker exec "$name" bash -c '
    set -e
    nohup containerd >/var/log/preload-containerd.log 2>&1 &
    for i in $(seq 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done
    ctr -n k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests /preload.tar >/dev/null
    pkill containerd; for i in $(seq 50); do pgrep containerd >/dev/null || break; sleep 0.2; done
    rm -f /var/log/preload-containerd.log' || { docker rm -f "$name" >/dev/null; return 1; }
  docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change "LABEL $RECIPE_LABEL=$recipe $PRELOADED_LABEL=\"$*\"" "$name" "$image" >/dev/null
  local rc=$?
  docker rm -f "$name" >/dev/null
  rm -f "$tar"
  return $rc
}
