# Builds etcd and etcdctl $ETCD_VERSION into $BIN_DIR.
# shellcheck shell=bash

build_etcd() {
  local dir=$MODULES_DIR/etcd
  go_wrapper_module "$dir" netcert.local/build/etcd
  go_get "$dir" "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" || return
  go_static_build "$dir" "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3 &&
    go_static_build "$dir" "$BIN_DIR/etcdctl" go.etcd.io/etcd/etcdctl/v3
}
