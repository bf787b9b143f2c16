# Builds netcert's own in-cluster programs (the traffic probe and the DNS upstream) into $BIN_DIR.
# shellcheck shell=bash

netcert_program_sources=(cmd/netcert-probe cmd/netcert-dns-upstream probe dnsupstream go.mod go.sum)

netcert_programs_recipe() {
  (cd "$NETCERT_ROOT" && recipe_hash "${netcert_program_sources[@]}" images/build/netcert.sh)
}

build_netcert_programs() {
  local cmd
  for cmd in netcert-probe netcert-dns-upstream; do
    (cd "$NETCERT_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$BIN_DIR/$cmd" "./cmd/$cmd") || return
  done
}
