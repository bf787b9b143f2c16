# Builds Calico $CALICO_VERSION (calico-node, the calico CNI and IPAM plugin, its installer,
# kube-controllers and check-status) into $BIN_DIR/calico, and copies the module's $CALICO_MANIFEST
# into $NETCERT_CACHE/manifests, where the test bed reads it.
# shellcheck shell=bash

calico_module=github.com/projectcalico/calico
calico_api_module=github.com/projectcalico/api

# BINARY=PACKAGE in the Calico module. The calico binary is the IPAM plugin too (it acts on the name
# it runs under).
calico_commands=(calico-node=node/cmd/calico-node calico=cni-plugin/cmd/calico install=cni-plugin/cmd/install
  kube-controllers=kube-controllers/cmd/kube-controllers check-status=kube-controllers/cmd/check-status)

# calico_replaces GOMOD: Calico's own replace directives as go.mod lines for a wrapper module (they
# pin k8s.io/* and others, and do not apply when Calico is a dependency). Its one local replace,
# the nested projectcalico/api module that the zip lacks, becomes $CALICO_API_VERSION.
calico_replaces() {
  local replaces local_paths
  replaces=$(go mod edit -json "$1" | jq -r '.Replace[] | select(.New.Version != null) |
    "replace \(.Old.Path)\(if .Old.Version then " " + .Old.Version else "" end) => \(.New.Path) \(.New.Version)"') || return
  local_paths=$(go mod edit -json "$1" | jq -r '.Replace[] | select(.New.Version == null) | .Old.Path') || return
  if [[ "$local_paths" != "$calico_api_module" ]]; then
    echo "Calico's go.mod replaces [${local_paths//$'\n'/ }] with local directories; the recipe handles only $calico_api_module: update images/build/calico.sh" >&2
    return 1
  fi
  printf '%s\nreplace %s => %s %s\n' "$replaces" "$calico_api_module" "$calico_api_module" "$CALICO_API_VERSION"
}

# calico_download: `go mod download -json` of the Calico module (its Dir holds the manifests).
calico_download() {
  local download
  download=$(cd / && go mod download -json "$calico_module@$CALICO_VERSION") ||
    { echo "$download" >&2; return 1; }
  printf '%s\n' "$download"
}

# copy_calico_manifest [DOWNLOAD]: the module's manifest of the same commit, for the test bed, which
# patches it (images, IP pool) when it installs Calico. Upstream mode needs it too.
copy_calico_manifest() {
  local download=${1:-}
  [[ -n "$download" ]] || download=$(calico_download) || return
  mkdir -p "$NETCERT_CACHE/manifests"
  install -m 0644 "$(jq -r .Dir <<<"$download")/manifests/$CALICO_MANIFEST" "$NETCERT_CACHE/manifests/"
}

build_calico() {
  local dir=$MODULES_DIR/calico download
  download=$(calico_download) || return
  go_wrapper_module "$dir" netcert.local/build/calico
  calico_replaces "$(jq -r .GoMod <<<"$download")" >>"$dir/go.mod" || return
  go_get "$dir" "$calico_module@$CALICO_VERSION" || return

  # The version variables that Calico's Makefiles set; calico-node records startup.VERSION in the
  # cluster's ClusterInformation.
  local v=$CALICO_BUILD_VERSION commit=${CALICO_VERSION##*-}
  local node_ldflags="-X $calico_module/node/pkg/lifecycle/startup.VERSION=$v"
  node_ldflags+=" -X $calico_module/node/buildinfo.GitVersion=$v -X $calico_module/node/buildinfo.GitRevision=$commit"
  node_ldflags+=" -X $calico_module/node/buildinfo.BuildDate=1970-01-01T00:00:00Z"
  mkdir -p "$BIN_DIR/calico"
  local cmd name ldflags
  for cmd in "${calico_commands[@]}"; do
    name=${cmd%%=*} ldflags="-X main.VERSION=$v"
    [[ "$name" != calico-node ]] || ldflags=$node_ldflags
    log "  compiling $name"
    # CGO off: no BPF data plane; the iptables data plane is complete.
    go_static_build "$dir" "$BIN_DIR/calico/$name" "$calico_module/${cmd#*=}" -ldflags "-s -w $ldflags" || return
  done
  copy_calico_manifest "$download"
}
