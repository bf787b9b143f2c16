# Builds CoreDNS $COREDNS_VERSION into $BIN_DIR.
# shellcheck shell=bash

build_coredns() {
  local dir=$MODULES_DIR/coredns
  go_wrapper_module "$dir" netcert.local/build/coredns
  go_get "$dir" "github.com/coredns/coredns@$COREDNS_VERSION" || return
  go_static_build "$dir" "$BIN_DIR/coredns" github.com/coredns/coredns
}
