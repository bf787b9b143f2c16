# Installs netcert-runc-capfilter as Docker's default OCI runtime when the capability bounding set
# is incomplete (see cmd/netcert-runc-capfilter/doc.go). Sourced, never run; needs lib.sh
# (log, die, NETCERT_ROOT) and docker-engine.sh (apt_install). Call: install_runtime_wrapper
# shellcheck shell=bash

RUNTIME_WRAPPER_NAME=${RUNTIME_WRAPPER_NAME:-netcert-runc}
RUNTIME_WRAPPER_BIN=${RUNTIME_WRAPPER_BIN:-/usr/local/libexec/netcert/runc-capfilter}
DOCKER_DAEMON_JSON=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
RUNTIME_WRAPPER_WAIT=${RUNTIME_WRAPPER_WAIT:-60} # seconds dockerd gets to pick up the new runtime

# bounding_set_complete: true when CapBnd holds every capability of the running kernel.
bounding_set_complete() {
  local bnd last full
  bnd=$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)
  last=$(</proc/sys/kernel/cap_last_cap)
  [[ $bnd =~ ^[0-9a-fA-F]{1,16}$ ]] || die "cannot read CapBnd from /proc/self/status (got '$bnd')"
  [[ $last =~ ^[0-9]+$ ]] || die "cannot read /proc/sys/kernel/cap_last_cap (got '$last')"
  if ((last >= 63)); then full=-1; else full=$(((1 << (last + 1)) - 1)); fi
  log "  capability bounding set: CapBnd=$bnd, cap_last_cap=$last"
  (((16#$bnd & full) == full))
}

# runtime_wrapper_binary: builds the wrapper and installs it unless the installed copy is identical.
runtime_wrapper_binary() {
  command -v go >/dev/null || die "go is needed to build the runc wrapper"
  local tmp
  tmp=$(mktemp -d) || die "mktemp failed"
  # -trimpath and -buildvcs=false keep the binary identical across checkouts and edits elsewhere.
  if ! (cd "$NETCERT_ROOT" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '-s -w' \
    -o "$tmp/runc-capfilter" ./cmd/netcert-runc-capfilter); then
    rm -rf "$tmp"
    die "building cmd/netcert-runc-capfilter failed"
  fi
  if [[ -x $RUNTIME_WRAPPER_BIN ]] && cmp -s "$tmp/runc-capfilter" "$RUNTIME_WRAPPER_BIN"; then
    log "  $RUNTIME_WRAPPER_BIN is up to date"
  else
    # Copy next to the target and rename, so a runtime call never sees a half-written binary.
    mkdir -p "$(dirname "$RUNTIME_WRAPPER_BIN")" &&
      install -m 0755 "$tmp/runc-capfilter" "$RUNTIME_WRAPPER_BIN.new" &&
      mv -f "$RUNTIME_WRAPPER_BIN.new" "$RUNTIME_WRAPPER_BIN" ||
      { rm -rf "$tmp"; die "installing $RUNTIME_WRAPPER_BIN failed"; }
    log "  installed $RUNTIME_WRAPPER_BIN"
    runtime_wrapper_changed=1
  fi
  rm -rf "$tmp"
}

# runtime_wrapper_daemon_json: registers the runtime as the default one, keeping every other setting.
runtime_wrapper_daemon_json() {
  command -v jq >/dev/null || apt_install jq
  local current='{}' merged
  if [[ -s $DOCKER_DAEMON_JSON ]]; then
    current=$(jq -e 'if type == "object" then . else error("not a JSON object") end' "$DOCKER_DAEMON_JSON") ||
      die "$DOCKER_DAEMON_JSON is not a valid JSON object; fix it by hand"
  fi
  merged=$(jq --arg name "$RUNTIME_WRAPPER_NAME" --arg path "$RUNTIME_WRAPPER_BIN" \
    '.runtimes = ((.runtimes // {}) + {($name): {path: $path}}) | .["default-runtime"] = $name' <<<"$current") ||
    die "merging the runtime into $DOCKER_DAEMON_JSON failed"
  if [[ -e $DOCKER_DAEMON_JSON ]] && jq -e --argjson want "$merged" '. == $want' <<<"$current" >/dev/null; then
    log "  $DOCKER_DAEMON_JSON already makes $RUNTIME_WRAPPER_NAME the default runtime"
    return 0
  fi
  mkdir -p "$(dirname "$DOCKER_DAEMON_JSON")" &&
    printf '%s\n' "$merged" >"$DOCKER_DAEMON_JSON.netcert-new" &&
    chmod 0644 "$DOCKER_DAEMON_JSON.netcert-new" &&
    mv -f "$DOCKER_DAEMON_JSON.netcert-new" "$DOCKER_DAEMON_JSON" ||
    die "writing $DOCKER_DAEMON_JSON failed"
  log "  wrote $DOCKER_DAEMON_JSON (runtime $RUNTIME_WRAPPER_NAME -> $RUNTIME_WRAPPER_BIN, default)"
  runtime_wrapper_changed=1
}

# runtime_wrapper_reload: makes a running dockerd use the runtime (SIGHUP), with a bounded wait.
# It reloads whenever dockerd does not report the runtime yet, which also covers a daemon.json
# written by an earlier run whose reload did not finish.
runtime_wrapper_reload() {
  local pids
  pids=$(pidof dockerd) || {
    log "  dockerd is not running; it will use $RUNTIME_WRAPPER_NAME when it starts"
    return 0
  }
  command -v docker >/dev/null || die "dockerd is running but the docker CLI is missing"
  local default
  default=$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null) || default=
  if [[ $default == "$RUNTIME_WRAPPER_NAME" ]]; then
    log "  dockerd already uses $RUNTIME_WRAPPER_NAME as its default runtime"
    return 0
  fi
  log "  reloading dockerd (pid $pids, default runtime now '${default:-unknown}')"
  # shellcheck disable=SC2086 # one or more pids
  kill -HUP $pids || die "kill -HUP dockerd ($pids) failed"
  runtime_wrapper_changed=1
  local deadline=$((SECONDS + RUNTIME_WRAPPER_WAIT))
  while ((SECONDS < deadline)); do
    default=$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null) || default=
    if [[ $default == "$RUNTIME_WRAPPER_NAME" ]]; then
      log "  dockerd now uses $RUNTIME_WRAPPER_NAME as its default runtime"
      return 0
    fi
    sleep 1
  done
  die "dockerd still reports default runtime '${default:-unknown}' ${RUNTIME_WRAPPER_WAIT}s after SIGHUP," \
    "not $RUNTIME_WRAPPER_NAME (check dockerd's log: a daemon.json key may conflict with a dockerd flag)"
}

# install_runtime_wrapper: the entry point. Idempotent; dies (via die) on any failure.
install_runtime_wrapper() {
  if bounding_set_complete; then
    log "  the capability bounding set is complete: the runc wrapper is not needed, nothing changed"
    return 0
  fi
  log "  the capability bounding set is incomplete: Docker must use $RUNTIME_WRAPPER_NAME"
  runtime_wrapper_changed=0
  runtime_wrapper_binary
  runtime_wrapper_daemon_json
  runtime_wrapper_reload
  if ((runtime_wrapper_changed)); then
    log "  runtime wrapper installed and active"
  else
    log "  runtime wrapper already installed and active: nothing changed"
  fi
}
