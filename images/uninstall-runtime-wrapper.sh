#!/usr/bin/env bash
# Undoes the set-up's OCI runtime wrapper (images/install-runtime-wrapper.sh): daemon.json loses
# netcert's runtime and gets back the default-runtime it had before the set-up (from the backup
# /etc/docker/daemon.json.netcert-backup), keeping every other key; a running dockerd reloads; the
# wrapper's binary and the backup go. Idempotent. Refuses while containers created with the
# runtime exist (RUNTIME_WRAPPER_FORCE=1 goes ahead anyway).
# Usage: sudo make uninstall-runtime-wrapper   (or: sudo bash images/uninstall-runtime-wrapper.sh)
# shellcheck source-path=SCRIPTDIR
set -o errexit -o nounset -o pipefail

NETCERT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
source "$NETCERT_ROOT/images/lib.sh"
# shellcheck source=docker-engine.sh
source "$NETCERT_ROOT/images/docker-engine.sh"
# shellcheck source=install-runtime-wrapper.sh
source "$NETCERT_ROOT/images/install-runtime-wrapper.sh"

main() {
  local dir
  dir=$(dirname "$DOCKER_DAEMON_JSON")
  [[ $EUID -eq 0 || ! -e $dir || -w $dir ]] ||
    die "run it as root (sudo make uninstall-runtime-wrapper): it writes $DOCKER_DAEMON_JSON and signals dockerd"
  step "undo the OCI runtime wrapper" uninstall_runtime_wrapper
}

main "$@"
