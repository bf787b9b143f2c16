# Builds the standard CNI plugins $CNI_PLUGINS_VERSION and the flannel CNI plugin
# $FLANNEL_CNI_PLUGIN_VERSION (the last containernetworking release that has it) into $BIN_DIR/cni.
# shellcheck shell=bash

# bandwidth and tuning are for Calico's CNI image (its CNI config chains bandwidth).
cni_plugins=(main/bridge main/loopback main/ptp ipam/host-local meta/portmap meta/bandwidth meta/tuning)

build_cni_plugins() {
  local dir=$MODULES_DIR/cni-plugins plugin
  mkdir -p "$BIN_DIR/cni"
  go_wrapper_module "$dir" netcert.local/build/cni-plugins
  go_get "$dir" "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" || return
  for plugin in "${cni_plugins[@]}"; do
    go_static_build "$dir" "$BIN_DIR/cni/${plugin#*/}" "github.com/containernetworking/plugins/plugins/$plugin" || return
  done
  # The flannel plugin lives in an older release of the same module: a module of its own here.
  dir=$MODULES_DIR/flannel-cni-plugin
  go_wrapper_module "$dir" netcert.local/build/flannel-cni-plugin
  go_get "$dir" "github.com/containernetworking/plugins@$FLANNEL_CNI_PLUGIN_VERSION" || return
  go_static_build "$dir" "$BIN_DIR/cni/flannel" github.com/containernetworking/plugins/plugins/meta/flannel
}
