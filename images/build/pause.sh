# Builds the pause binary $PAUSE_VERSION from the C source inside the k8s.io/kubernetes module
# (fetched by build_kubernetes) into $BIN_DIR.
# shellcheck shell=bash

build_pause() {
  local src
  src=$(cd "$MODULES_DIR/kubernetes" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  [[ -f "$src" ]] || { echo "pause.c not found at $src" >&2; return 1; }
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$BIN_DIR/pause" "$src" && strip "$BIN_DIR/pause"
}
