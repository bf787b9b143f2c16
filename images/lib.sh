# Shared helpers for the image recipes. Sourced, never run.
# shellcheck shell=bash

NETCERT_ROOT=${NETCERT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NETCERT_CACHE=${NETCERT_CACHE:-/var/cache/netcert}
BIN_DIR=$NETCERT_CACHE/bin
MODULES_DIR=$NETCERT_CACHE/modules
# shellcheck source=versions.env
source "$NETCERT_ROOT/images/versions.env"
SETUP_STARTED=${SETUP_STARTED:-$(date +%s)}

log() { printf '[setup %4ds] %s\n' "$(($(date +%s) - SETUP_STARTED))" "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: runs CMD, printing a start line and a done line with its elapsed time.
step() {
  local name=$1 t0; shift
  t0=$(date +%s)
  log "$name ..."
  "$@" || die "$name failed (see the output above)"
  log "$name done in $(($(date +%s) - t0))s"
}

# go_wrapper_module DIR MODULE: starts a fresh build module in DIR (kept apart from netcert's go.mod).
go_wrapper_module() {
  local dir=$1 module=$2
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module %s\n\ngo 1.24\n' "$module" >"$dir/go.mod"
}

# go_get DIR ARG...: `go get ARG...` inside the wrapper module DIR, quiet unless it fails.
go_get() {
  local dir=$1; shift
  (cd "$dir" && go get "$@" >"$dir/go-get.log" 2>&1) || { tail -n 20 "$dir/go-get.log" >&2; return 1; }
}

# go_static_build DIR OUT PKG [go build flags...]: a static, CGO-free build inside a wrapper module.
go_static_build() {
  local dir=$1 out=$2 pkg=$3; shift 3
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' "$@" -o "$out" "$pkg")
}

RECIPE_LABEL=netcert.recipe

# recipe_hash ARG...: a short hash of a recipe. An ARG that starts with "=" is a literal value
# (a version, another recipe's hash); any other ARG is a file or directory whose content counts.
recipe_hash() {
  local arg
  for arg in "$@"; do
    if [[ "$arg" == =* ]]; then
      printf '%s\n' "$arg"
    elif [[ -d "$arg" ]]; then
      (cd "$arg" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    else
      sha256sum <"$arg" || return
    fi
  done | sha256sum | cut -c1-12
}

# ensure_binaries NAME RECIPE FN: runs FN (which builds into $BIN_DIR) unless NAME's stamp says
# RECIPE was already built.
ensure_binaries() {
  local name=$1 recipe=$2 fn=$3 stamp=$BIN_DIR/.$1.recipe
  if [[ "$(cat "$stamp" 2>/dev/null)" == "$recipe" ]]; then
    log "skip $name binaries: recipe $recipe already built"
    return 0
  fi
  need_module_proxy
  mkdir -p "$BIN_DIR"
  step "build $name binaries (recipe $recipe)" "$fn" && echo "$recipe" >"$stamp"
}

# image_recipe IMAGE: the recipe label of a local image, empty when there is no such image.
image_recipe() {
  docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null || true
}

# ensure_image IMAGE RECIPE FN [ARG...]: runs FN IMAGE RECIPE ARG... unless IMAGE exists with RECIPE.
ensure_image() {
  local image=$1 recipe=$2 fn=$3; shift 3
  if [[ "$(image_recipe "$image")" == "$recipe" ]]; then
    log "skip image $image: recipe $recipe up to date"
    return 0
  fi
  step "build image $image (recipe $recipe)" "$fn" "$image" "$recipe" "$@"
}

# docker_build_context IMAGE RECIPE DIR [ARG...]: builds DIR/Dockerfile as IMAGE with its recipe
# label and extra docker build ARGs; quiet unless the build fails.
docker_build_context() {
  local image=$1 recipe=$2 dir=$3 out; shift 3
  out=$(DOCKER_BUILDKIT=0 docker build --label "$RECIPE_LABEL=$recipe" -t "$image" "$@" "$dir" 2>&1) ||
    { printf '%s\n' "$out" | tail -n 30 >&2; return 1; }
}

# need_module_proxy stops the set-up with what to do when the Go module proxy cannot be reached
# (checked once, and only when something has to be built).
module_proxy_checked=
need_module_proxy() {
  [[ -z "$module_proxy_checked" ]] || return 0
  local out
  if ! out=$(cd / && timeout 60 go list -m -versions github.com/miekg/dns 2>&1); then
    die "cannot reach the Go module proxy (GOPROXY=$(go env GOPROXY)): $out
The set-up builds Kubernetes, etcd, CoreDNS, Flannel, Calico and the CNI plugins from source through it.
Check the network and GOPROXY, or run the set-up once where the proxy is reachable: later runs
with nothing to build do not need it."
  fi
  module_proxy_checked=1
}
