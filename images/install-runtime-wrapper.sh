# Installs netcert-runc-capfilter as Docker's default OCI runtime when the capability bounding set
# is incomplete (see cmd/netcert-runc-capfilter/doc.go), and undoes it. Sourced, never run; needs
# lib.sh (log, die, NETCERT_ROOT) and docker-engine.sh (apt_install).
# Call: install_runtime_wrapper, or uninstall_runtime_wrapper (images/uninstall-runtime-wrapper.sh).
#
# Before its first change to daemon.json the set-up copies the file as it was to
# $DOCKER_DAEMON_JSON_BACKUP, once (a later run never overwrites it); an empty backup stands for
# "there was no daemon.json". The undo takes the previous default-runtime from that backup.
# shellcheck shell=bash

RUNTIME_WRAPPER_NAME=${RUNTIME_WRAPPER_NAME:-netcert-runc}
RUNTIME_WRAPPER_BIN=${RUNTIME_WRAPPER_BIN:-/usr/local/libexec/netcert/runc-capfilter}
DOCKER_DAEMON_JSON=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
DOCKER_DAEMON_JSON_BACKUP=${DOCKER_DAEMON_JSON_BACKUP:-$DOCKER_DAEMON_JSON.netcert-backup}
RUNTIME_WRAPPER_WAIT=${RUNTIME_WRAPPER_WAIT:-60} # seconds dockerd gets to pick up the new runtime
# 1: the undo goes ahead even though containers were created with the runtime (they then cannot
# be started, stopped or exec'd into by Docker).
RUNTIME_WRAPPER_FORCE=${RUNTIME_WRAPPER_FORCE:-0}

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

# daemon_json_object FILE: FILE's JSON object on one line, '{}' when FILE is missing or empty.
# Dies when FILE holds anything else (jq prints where it stopped).
daemon_json_object() {
  local file=$1
  if [[ ! -s $file ]]; then
    echo '{}'
    return 0
  fi
  jq -ce --slurp 'if length == 1 and (.[0] | type) == "object" then .[0] else error("not one JSON object") end' \
    "$file" || die "$file is not a valid JSON object; fix it by hand"
}

# runtime_wrapper_merge: the daemon.json object on stdin with the runtime registered as the
# default one, every other setting kept.
runtime_wrapper_merge() {
  jq --arg name "$RUNTIME_WRAPPER_NAME" --arg path "$RUNTIME_WRAPPER_BIN" \
    '.runtimes = ((.runtimes // {}) + {($name): {path: $path}}) | .["default-runtime"] = $name'
}

# daemon_json_write TEXT | daemon_json_write --copy FILE: replaces daemon.json with TEXT (mode
# 0644) or with a copy of FILE (its mode kept), through a rename so that dockerd never reads a
# half-written file.
daemon_json_write() {
  local new=$DOCKER_DAEMON_JSON.netcert-new
  mkdir -p "$(dirname "$DOCKER_DAEMON_JSON")" || die "creating $(dirname "$DOCKER_DAEMON_JSON") failed"
  local ok=1
  if [[ $1 == --copy ]]; then
    cp -p "$2" "$new" || ok=
  else
    { printf '%s\n' "$1" >"$new" && chmod 0644 "$new"; } || ok=
  fi
  if [[ -z $ok ]] || ! mv -f "$new" "$DOCKER_DAEMON_JSON"; then
    rm -f "$new"
    die "writing $DOCKER_DAEMON_JSON failed"
  fi
}

# runtime_wrapper_backup CURRENT: copies daemon.json (whose object is CURRENT) as it is now to
# $DOCKER_DAEMON_JSON_BACKUP, or writes an empty backup when there is no daemon.json. Once: an
# existing backup holds the state before the first change and is never overwritten.
runtime_wrapper_backup() {
  local current=$1 backup=$DOCKER_DAEMON_JSON_BACKUP previous
  if [[ -e $backup ]]; then
    log "  keeping $backup, the backup taken before the set-up's first change"
    return 0
  fi
  mkdir -p "$(dirname "$backup")" || die "creating $(dirname "$backup") failed"
  if [[ -e $DOCKER_DAEMON_JSON ]]; then
    previous=$(jq -r '.["default-runtime"] // "none"' <<<"$current")
    { cp -p "$DOCKER_DAEMON_JSON" "$backup.netcert-new" && mv -f "$backup.netcert-new" "$backup"; } ||
      die "backing up $DOCKER_DAEMON_JSON to $backup failed"
    log "  kept a backup of $DOCKER_DAEMON_JSON (default-runtime: $previous) in $backup"
    [[ $previous != "$RUNTIME_WRAPPER_NAME" ]] ||
      log "  (an earlier set-up had already made $RUNTIME_WRAPPER_NAME the default: the undo will remove default-runtime)"
  else
    { : >"$backup.netcert-new" && chmod 0644 "$backup.netcert-new" && mv -f "$backup.netcert-new" "$backup"; } ||
      die "writing $backup failed"
    log "  recorded in $backup (empty) that there was no $DOCKER_DAEMON_JSON"
  fi
}

# runtime_wrapper_daemon_json: registers the runtime as the default one, keeping every other
# setting, after a backup of daemon.json (runtime_wrapper_backup).
runtime_wrapper_daemon_json() {
  command -v jq >/dev/null || apt_install jq
  local current merged
  current=$(daemon_json_object "$DOCKER_DAEMON_JSON") || exit 1
  merged=$(runtime_wrapper_merge <<<"$current") || die "merging the runtime into $DOCKER_DAEMON_JSON failed"
  if [[ -e $DOCKER_DAEMON_JSON ]] && jq -e --argjson want "$merged" '. == $want' <<<"$current" >/dev/null; then
    log "  $DOCKER_DAEMON_JSON already makes $RUNTIME_WRAPPER_NAME the default runtime"
    return 0
  fi
  runtime_wrapper_backup "$current"
  daemon_json_write "$merged"
  log "  wrote $DOCKER_DAEMON_JSON (runtime $RUNTIME_WRAPPER_NAME -> $RUNTIME_WRAPPER_BIN, default)"
  runtime_wrapper_changed=1
}

# dockerd_runtime_ok WANT [GONE]: true when the running dockerd reports WANT as its default runtime
# and, with GONE, no longer lists the runtime GONE. Sets dockerd_default and dockerd_runtimes.
dockerd_runtime_ok() {
  local want=$1 gone=${2:-}
  dockerd_default=$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null) || dockerd_default=
  dockerd_runtimes=
  if [[ -n $gone ]]; then
    dockerd_runtimes=$(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}' 2>/dev/null) ||
      dockerd_runtimes="$gone (unknown)"
  fi
  [[ $dockerd_default == "$want" ]] && [[ -z $gone || " $dockerd_runtimes " != *" $gone "* ]]
}

# runtime_wrapper_reload [WANT [GONE]]: makes a running dockerd use WANT (default: the wrapper) as
# its default runtime and, with GONE, forget the runtime GONE (SIGHUP), with a bounded wait. It
# reloads whenever dockerd does not report that yet, which also covers a daemon.json written by an
# earlier run whose reload did not finish. A dockerd that is not running is left so.
runtime_wrapper_reload() {
  local want=${1:-$RUNTIME_WRAPPER_NAME} gone=${2:-} pids
  pids=$(pidof dockerd) || {
    log "  dockerd is not running; it will use $want when it starts"
    return 0
  }
  command -v docker >/dev/null || die "dockerd is running but the docker CLI is missing"
  local dockerd_default dockerd_runtimes
  if dockerd_runtime_ok "$want" "$gone"; then
    log "  dockerd already uses $want as its default runtime${gone:+ and does not list $gone}"
    return 0
  fi
  log "  reloading dockerd (pid $pids, default runtime now '${dockerd_default:-unknown}'${gone:+, runtimes: ${dockerd_runtimes% }})"
  # shellcheck disable=SC2086 # one or more pids
  kill -HUP $pids || die "kill -HUP dockerd ($pids) failed"
  runtime_wrapper_changed=1
  local deadline=$((SECONDS + RUNTIME_WRAPPER_WAIT))
  while ((SECONDS < deadline)); do
    if dockerd_runtime_ok "$want" "$gone"; then
      log "  dockerd now uses $want as its default runtime${gone:+ and no longer lists $gone}"
      return 0
    fi
    sleep 1
  done
  local listed=
  [[ -z $gone ]] || listed=" and runtimes '${dockerd_runtimes% }'"
  die "dockerd still reports default runtime '${dockerd_default:-unknown}'$listed" \
    "${RUNTIME_WRAPPER_WAIT}s after SIGHUP, not $want${gone:+ without $gone}" \
    "(check dockerd's log: a daemon.json key may conflict with a dockerd flag)"
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
    log "  runtime wrapper installed and active (undo: sudo make uninstall-runtime-wrapper)"
  else
    log "  runtime wrapper already installed and active: nothing changed"
  fi
}

# daemon_json_mentions_runtime OBJECT: true when the daemon.json OBJECT names the runtime, as a
# runtime or as the default one.
daemon_json_mentions_runtime() {
  jq -e --arg name "$RUNTIME_WRAPPER_NAME" \
    '((.runtimes | objects | has($name)) // false) or .["default-runtime"] == $name' <<<"$1" >/dev/null
}

# runtime_wrapper_users: the containers, running or not, that Docker created with the runtime (one
# name a line); nothing when dockerd is not running.
runtime_wrapper_users() {
  pidof dockerd >/dev/null || return 0
  local ids
  ids=$(docker ps -aq) || die "dockerd is running but 'docker ps -a' failed"
  [[ -n $ids ]] || return 0
  # A container removed meanwhile makes inspect fail for it alone; the others are still printed.
  # shellcheck disable=SC2086 # one or more ids
  docker inspect --format '{{.Name}} {{.HostConfig.Runtime}}' $ids 2>/dev/null |
    awk -v name="$RUNTIME_WRAPPER_NAME" '$2 == name {sub(/^\//, "", $1); print $1}'
}

# uninstall_runtime_wrapper: undoes install_runtime_wrapper. daemon.json loses the runtime and gets
# back the default-runtime it had before the set-up's first change (none: the key goes, and Docker
# uses runc), keeping every other key as it is now; a default-runtime that is no longer the
# wrapper's stays. When nothing else changed since, the backup is copied back as it was (when
# there was no daemon.json, the file is removed). A running dockerd reloads (SIGHUP, with the wait
# of runtime_wrapper_reload, as for the install); one that is not running is left so. The binary
# and the backup go last, the backup at the very end, so that an interrupted undo can run again.
# Idempotent; dies (via die) on any failure, and refuses while containers created with the
# runtime exist (RUNTIME_WRAPPER_FORCE=1 overrides).
uninstall_runtime_wrapper() {
  command -v jq >/dev/null || apt_install jq
  local file=$DOCKER_DAEMON_JSON backup=$DOCKER_DAEMON_JSON_BACKUP name=$RUNTIME_WRAPPER_NAME
  local current before='{}' previous='' had_runtimes=false
  current=$(daemon_json_object "$file") || exit 1
  if [[ ! -e $backup && ! -e $RUNTIME_WRAPPER_BIN ]] && ! daemon_json_mentions_runtime "$current"; then
    log "  the runtime wrapper is not installed (no $name in $file, no $backup, no $RUNTIME_WRAPPER_BIN): nothing to undo"
    return 0
  fi

  local users
  users=$(runtime_wrapper_users) || exit 1
  if [[ -n $users ]]; then
    users=$(tr '\n' ' ' <<<"$users")
    if [[ $RUNTIME_WRAPPER_FORCE != 1 ]]; then
      die "containers created with the runtime $name exist: ${users% }." \
        "Without it Docker can no longer start, stop or exec into them: delete them first" \
        "(make clean-clusters for netcert's kind clusters), or set RUNTIME_WRAPPER_FORCE=1"
    fi
    log "  RUNTIME_WRAPPER_FORCE=1: going ahead although containers use $name: ${users% }"
  elif ! pidof dockerd >/dev/null; then
    log "  dockerd is not running: containers created with $name, if any, will not start after the undo"
  fi

  # verbatim: the backup can be copied back as it is, when daemon.json is still what the set-up
  # made of it and the backup does not name the runtime itself.
  local verbatim=
  if [[ -e $backup ]]; then
    before=$(daemon_json_object "$backup") || exit 1
    previous=$(jq -r '.["default-runtime"] // empty' <<<"$before")
    had_runtimes=$(jq 'has("runtimes")' <<<"$before")
    if daemon_json_mentions_runtime "$before"; then
      log "  $backup already names $name (an earlier set-up had changed $file before the backup)"
      [[ $previous != "$name" ]] || previous=
    elif jq -e --argjson want "$(runtime_wrapper_merge <<<"$before")" '. == $want' <<<"$current" >/dev/null; then
      verbatim=1
    fi
    log "  the backup $backup has default-runtime: ${previous:-none}"
  elif daemon_json_mentions_runtime "$current"; then
    log "  no backup of $file (a set-up older than the backup changed it): a default-runtime $name goes"
  fi

  # restored: the daemon.json object after the undo.
  local restored
  if [[ -n $verbatim ]]; then
    restored=$before
  else
    restored=$(jq --arg name "$name" --arg previous "$previous" --argjson had_runtimes "$had_runtimes" '
      if (.runtimes | type) == "object" then .runtimes |= del(.[$name]) else . end
      | if .runtimes == {} and ($had_runtimes | not) then del(.runtimes) else . end
      | if .["default-runtime"] == $name then
          if $previous == "" then del(.["default-runtime"]) else .["default-runtime"] = $previous end
        else . end' <<<"$current") || die "removing the runtime from $file failed"
  fi

  # A reload (SIGHUP) only applies the keys that daemon.json sets: without default-runtime or
  # runtimes, a running dockerd keeps the wrapper. So it first reloads a daemon.json that sets both
  # (as Docker's defaults: runc, no other runtime), then the file gets its final content, which
  # means the same to dockerd, now and when it starts.
  local want changed=0 runtime_wrapper_changed=0
  want=$(jq -r '.["default-runtime"] // "runc"' <<<"$restored")
  if pidof dockerd >/dev/null; then
    command -v docker >/dev/null || die "dockerd is running but the docker CLI is missing"
    local dockerd_default dockerd_runtimes applied
    if ! dockerd_runtime_ok "$want" "$name"; then
      applied=$(jq --arg want "$want" '.["default-runtime"] = $want | .runtimes = (.runtimes // {})' <<<"$restored")
      if [[ ! -e $file ]] || ! jq -e --argjson want "$applied" '. == $want' <<<"$current" >/dev/null; then
        daemon_json_write "$applied"
        log "  wrote $file with default-runtime $want and without $name, for dockerd to reload"
        changed=1
      fi
    fi
  fi
  runtime_wrapper_reload "$want" "$name"

  current=$(daemon_json_object "$file") || exit 1
  if [[ -e $backup && ! -s $backup ]] && jq -e '. == {}' <<<"$restored" >/dev/null; then
    # There was no daemon.json before and nothing else is in it now: remove it.
    if [[ -e $file ]]; then
      rm -f "$file" || die "removing $file failed"
      log "  removed $file (there was none before the set-up)"
      changed=1
    fi
  elif [[ -n $verbatim ]]; then
    if ! cmp -s "$backup" "$file"; then
      daemon_json_write --copy "$backup"
      log "  copied $backup back to $file (no other key changed since the set-up)"
      changed=1
    fi
  elif [[ -e $file ]] && ! jq -e --argjson want "$restored" '. == $want' <<<"$current" >/dev/null; then
    daemon_json_write "$restored"
    log "  wrote $file (runtime $name removed, default-runtime: $(jq -r '.["default-runtime"] // "none"' <<<"$restored")," \
      "every other key kept)"
    changed=1
  fi
  ((changed)) || log "  $file has no $name settings to undo"
  runtime_wrapper_changed=$((runtime_wrapper_changed | changed))

  if [[ -e $RUNTIME_WRAPPER_BIN ]]; then
    rm -f "$RUNTIME_WRAPPER_BIN" || die "removing $RUNTIME_WRAPPER_BIN failed"
    rmdir "$(dirname "$RUNTIME_WRAPPER_BIN")" 2>/dev/null || true # only when empty
    log "  removed $RUNTIME_WRAPPER_BIN"
    runtime_wrapper_changed=1
  fi
  if [[ -e $backup ]]; then
    rm -f "$backup" || die "removing $backup failed"
    log "  removed the backup $backup"
    runtime_wrapper_changed=1
  fi
  if ((runtime_wrapper_changed)); then
    log "  runtime wrapper removed"
  else
    log "  runtime wrapper already removed: nothing changed"
  fi
}
