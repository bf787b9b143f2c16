#!/usr/bin/env bash
# Tests the runtime wrapper's backup of daemon.json and its undo (install-runtime-wrapper.sh,
# uninstall-runtime-wrapper.sh) without root, Docker or network. daemon.json, its backup and the
# wrapper's binary live in a temporary directory (DOCKER_DAEMON_JSON, RUNTIME_WRAPPER_BIN), and
# pidof and docker are fakes first on PATH. They see only a fake dockerd: a sleeping process that
# on SIGHUP reloads daemon.json the way dockerd does, taking only the keys that the file sets.
# The real dockerd is never looked at or signalled.
# Run by TestRuntimeWrapperBackupAndUndo (runtime_wrapper_test.go), or: bash images/runtime-wrapper_test.sh [DIR]
# shellcheck disable=SC2031 # the scripts sourced in install's subshell have locals of these names
# shellcheck source-path=SCRIPTDIR
set -o errexit -o nounset -o pipefail

images=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
fake=$work/fake
mkdir -p "$fake/bin"

export NETCERT_FAKE=$fake
export DOCKER_DAEMON_JSON=$work/etc/docker/daemon.json
export RUNTIME_WRAPPER_BIN=$work/libexec/netcert/runc-capfilter
export RUNTIME_WRAPPER_WAIT=5
export PATH=$fake/bin:$PATH
unset DOCKER_DAEMON_JSON_BACKUP RUNTIME_WRAPPER_FORCE RUNTIME_WRAPPER_NAME
json=$DOCKER_DAEMON_JSON
backup=$json.netcert-backup
wrapper=$RUNTIME_WRAPPER_BIN

cat >"$fake/bin/pidof" <<'EOF'
#!/usr/bin/env bash
# fake pidof: knows only the fake dockerd.
[[ $1 == dockerd && -s $NETCERT_FAKE/dockerd.pid ]] || exit 1
cat "$NETCERT_FAKE/dockerd.pid"
EOF
cat >"$fake/bin/docker" <<'EOF'
#!/usr/bin/env bash
# fake docker CLI: the fake dockerd's state and the containers listed in $NETCERT_FAKE/containers
# (lines: ID NAME RUNTIME).
set -o errexit -o nounset -o pipefail
[[ -s $NETCERT_FAKE/dockerd.pid ]] || { echo "fake docker: dockerd is not running" >&2; exit 1; }
state=$NETCERT_FAKE/dockerd-state.json containers=$NETCERT_FAKE/containers
case "$1 ${3:-}" in
  "info {{.DefaultRuntime}}") jq -r .default "$state" ;;
  "info {{range \$k, \$v := .Runtimes}}{{\$k}} {{end}}") jq -j '(.runtimes[] | . + " "), "\n"' "$state" ;;
  "ps ") [[ $2 == -aq ]] && awk '{print $1}' "$containers" ;;
  "inspect {{.Name}} {{.HostConfig.Runtime}}")
    shift 3
    for id; do awk -v id="$id" '$1 == id {print "/" $2, $3}' "$containers"; done ;;
  *) echo "fake docker: unexpected call: docker $*" >&2; exit 2 ;;
esac
EOF
cat >"$fake/dockerd" <<'EOF'
#!/usr/bin/env bash
# fake dockerd: its default runtime and runtimes in $NETCERT_FAKE/dockerd-state.json. At start it
# reads daemon.json; on SIGHUP it takes default-runtime and runtimes only when the file sets them,
# as dockerd's reload does. Each SIGHUP adds a line to $NETCERT_FAKE/hups.
state=$NETCERT_FAKE/dockerd-state.json
load() {
  local old='{"default": "runc", "runtimes": ["runc"]}' config='{}'
  [[ $1 == start ]] || old=$(cat "$state")
  [[ ! -s $DOCKER_DAEMON_JSON ]] || config=$(cat "$DOCKER_DAEMON_JSON")
  jq -n --argjson old "$old" --argjson c "$config" '$old
    | if $c | has("default-runtime") then .default = $c["default-runtime"] else . end
    | if $c | has("runtimes") then .runtimes = (["runc"] + ($c.runtimes | keys) | unique) else . end' \
    >"$state.new" && mv -f "$state.new" "$state"
}
trap 'echo hup >>"$NETCERT_FAKE/hups"; load reload' HUP
trap 'exit 0' TERM
load start
while kill -0 "$NETCERT_FAKE_PARENT" 2>/dev/null; do # ends with the test, even a killed one
  sleep 1 &
  wait $!
done
EOF
chmod +x "$fake/bin/pidof" "$fake/bin/docker" "$fake/dockerd"

# Never go on with the real pidof or docker: they would find and signal the real dockerd.
[[ $(command -v pidof) == "$fake/bin/pidof" && $(command -v docker) == "$fake/bin/docker" ]] ||
  { echo "runtime-wrapper_test: the fake pidof and docker are not first on PATH" >&2; exit 1; }

dockerd_pid=
stop_dockerd() {
  if [[ -n $dockerd_pid ]]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  dockerd_pid=
  rm -f "$fake/dockerd.pid"
}
trap stop_dockerd EXIT
start_dockerd() {
  rm -f "$fake/dockerd-state.json" "$fake/hups"
  touch "$fake/hups"
  NETCERT_FAKE_PARENT=$$ "$fake/dockerd" >>"$fake/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local i
  for i in $(seq 50); do
    [[ -s $fake/dockerd-state.json ]] && break
    sleep 0.1
  done
  [[ -s $fake/dockerd-state.json ]] || { echo "runtime-wrapper_test: the fake dockerd did not start ($i)" >&2; exit 1; }
  echo "$dockerd_pid" >"$fake/dockerd.pid"
}

failures=0 case_name=
fail() {
  echo "FAIL [$case_name]: $*" >&2
  failures=$((failures + 1))
}
begin() {
  case_name=$1
  echo "=== $case_name"
  stop_dockerd
  rm -rf "${work:?}/etc" "${work:?}/libexec" "${work:?}"/*.json
  : >"$fake/containers"
  mkdir -p "$(dirname "$json")" "$(dirname "$wrapper")"
}
# write_json TEXT: daemon.json as the user left it, also kept as $work/original.json.
write_json() {
  printf '%s\n' "$1" >"$json"
  cp "$json" "$work/original.json"
}
# install: the daemon.json part of install_runtime_wrapper (the bounding set and the Go build left
# out: the binary is a stand-in file); its output is in $work/out.
install() {
  : >"$wrapper"
  chmod 0755 "$wrapper"
  echo "--- install"
  (
    # shellcheck source=lib.sh
    source "$images/lib.sh"
    # shellcheck source=docker-engine.sh
    source "$images/docker-engine.sh"
    # shellcheck source=install-runtime-wrapper.sh
    source "$images/install-runtime-wrapper.sh"
    runtime_wrapper_daemon_json
    runtime_wrapper_reload
  ) >"$work/out" 2>&1 && status=0 || status=$?
  cat "$work/out"
  return "$status"
}
undo() {
  echo "--- undo"
  bash "$images/uninstall-runtime-wrapper.sh" >"$work/out" 2>&1 && status=0 || status=$?
  cat "$work/out"
  return "$status"
}
ok() { "$@" || fail "'$*' failed (exit $?)"; }
fails() { if "$@"; then fail "'$*' succeeded, want a failure"; fi; }
said() { grep -qF -- "$1" "$work/out" || fail "the output lacks '$1'"; }
# expect FILTER WANT: jq -c FILTER on daemon.json gives WANT.
expect() {
  local got
  got=$(jq -c "$1" "$json" 2>&1) || got="(jq failed: $got)"
  [[ $got == "$2" ]] || fail "daemon.json: $1 is $got, want $2"
}
same() { cmp -s "$1" "$2" || fail "$1 differs from $2"; }
absent() { [[ ! -e $1 ]] || fail "$1 exists"; }
no_wrapper_in_json() { ! grep -q netcert-runc "$json" || fail "daemon.json still names netcert-runc: $(cat "$json")"; }
dockerd_default() { jq -r .default "$fake/dockerd-state.json"; }
dockerd_runtimes() { jq -c .runtimes "$fake/dockerd-state.json"; }
hups() { wc -l <"$fake/hups" | tr -d ' '; }
want_eq() { [[ $2 == "$3" ]] || fail "$1 is $2, want $3"; }

begin "another default runtime and other keys"
write_json '{
  "log-level": "warn",
  "default-runtime": "crun",
  "runtimes": {"crun": {"path": "/usr/bin/crun"}},
  "features": {"buildkit": true}
}'
ok install
same "$backup" "$work/original.json"
said "kept a backup of $json (default-runtime: crun) in $backup"
expect '.["default-runtime"]' '"netcert-runc"'
expect '.runtimes' "{\"crun\":{\"path\":\"/usr/bin/crun\"},\"netcert-runc\":{\"path\":\"$wrapper\"}}"
expect '[.["log-level"], .features]' '["warn",{"buildkit":true}]'
cp "$json" "$work/installed.json"
ok install
said "already makes netcert-runc the default runtime"
same "$backup" "$work/original.json"
same "$json" "$work/installed.json"
# The user adds a key before the undo.
jq '. + {debug: true}' "$work/installed.json" >"$json"
ok undo
said "the backup $backup has default-runtime: crun"
said "dockerd is not running; it will use crun when it starts"
expect '.' '{"log-level":"warn","default-runtime":"crun","runtimes":{"crun":{"path":"/usr/bin/crun"}},"features":{"buildkit":true},"debug":true}'
no_wrapper_in_json
absent "$backup"
absent "$wrapper"
absent "$(dirname "$wrapper")"
cp "$json" "$work/undone.json"
ok undo
said "the runtime wrapper is not installed"
said "nothing to undo"
same "$json" "$work/undone.json"

begin "nothing changed since the set-up: the backup comes back byte for byte"
write_json '{"runtimes":{}, "log-driver":"json-file",    "log-opts": {"max-size": "10m"}}'
ok install
ok install
same "$backup" "$work/original.json"
ok undo
said "copied $backup back to $json"
same "$json" "$work/original.json"
absent "$backup"

begin "no daemon.json before"
rm -f "$json"
ok install
[[ -f $backup && ! -s $backup ]] || fail "want an empty $backup"
said "recorded in $backup (empty) that there was no $json"
expect '.' "{\"runtimes\":{\"netcert-runc\":{\"path\":\"$wrapper\"}},\"default-runtime\":\"netcert-runc\"}"
ok install
[[ -f $backup && ! -s $backup ]] || fail "want $backup still empty"
ok undo
said "removed $json (there was none before the set-up)"
absent "$json"
absent "$backup"
absent "$wrapper"
ok undo
said "nothing to undo"
absent "$json"

begin "no daemon.json before, a key added since"
rm -f "$json"
ok install
jq '. + {debug: true}' "$json" >"$work/edited.json" && cp "$work/edited.json" "$json"
ok undo
expect '.' '{"debug":true}'
absent "$backup"

begin "the user chose another default runtime after the set-up"
write_json '{"default-runtime": "crun", "runtimes": {"crun": {"path": "/usr/bin/crun"}}}'
ok install
jq '.["default-runtime"] = "runc"' "$json" >"$work/edited.json" && cp "$work/edited.json" "$json"
ok undo
expect '.' '{"default-runtime":"runc","runtimes":{"crun":{"path":"/usr/bin/crun"}}}'
absent "$backup"

begin "a set-up older than the backup: no backup, the wrapper is the default"
printf '{\n  "runtimes": {\n    "netcert-runc": {\n      "path": "%s"\n    }\n  },\n  "default-runtime": "netcert-runc"\n}\n' \
  "$wrapper" >"$json"
: >"$wrapper"
ok undo
said "no backup of $json"
expect '.' '{}'
absent "$wrapper"
ok undo
said "nothing to undo"

begin "daemon.json is not valid JSON"
write_json '{"log-level": "warn",'
fails install
said "$json is not a valid JSON object; fix it by hand"
same "$json" "$work/original.json"
absent "$backup"
fails undo
said "$json is not a valid JSON object; fix it by hand"
same "$json" "$work/original.json"
write_json '["not", "an", "object"]'
fails install
said "is not a valid JSON object"
absent "$backup"

begin "a running dockerd reloads, once, and containers of the runtime stop the undo"
write_json '{"default-runtime": "crun", "runtimes": {"crun": {"path": "/usr/bin/crun"}}}'
start_dockerd
want_eq "dockerd's default runtime" "$(dockerd_default)" crun
ok install
said "dockerd now uses netcert-runc as its default runtime"
want_eq "dockerd's default runtime" "$(dockerd_default)" netcert-runc
want_eq "SIGHUPs" "$(hups)" 1
ok install
said "dockerd already uses netcert-runc as its default runtime"
want_eq "SIGHUPs" "$(hups)" 1
cp "$json" "$work/installed.json"
echo "c0ffee netcert-smoke-worker netcert-runc" >"$fake/containers"
echo "beef01 other crun" >>"$fake/containers"
fails undo
said "containers created with the runtime netcert-runc exist: netcert-smoke-worker."
same "$json" "$work/installed.json"
same "$backup" "$work/original.json"
[[ -e $wrapper ]] || fail "the refused undo removed $wrapper"
want_eq "SIGHUPs" "$(hups)" 1
echo "beef01 other crun" >"$fake/containers"
ok undo
said "dockerd now uses crun as its default runtime and no longer lists netcert-runc"
want_eq "dockerd's default runtime" "$(dockerd_default)" crun
want_eq "dockerd's runtimes" "$(dockerd_runtimes)" '["crun","runc"]'
want_eq "SIGHUPs" "$(hups)" 2
same "$json" "$work/original.json"
absent "$backup"
absent "$wrapper"
ok undo
said "nothing to undo"
want_eq "SIGHUPs" "$(hups)" 2

begin "a running dockerd, no daemon.json before: the reload sets default-runtime and runtimes"
rm -f "$json"
start_dockerd
ok install
want_eq "dockerd's default runtime" "$(dockerd_default)" netcert-runc
echo "c0ffee netcert-smoke-worker netcert-runc" >"$fake/containers"
RUNTIME_WRAPPER_FORCE=1 ok undo
said "RUNTIME_WRAPPER_FORCE=1: going ahead although containers use netcert-runc: netcert-smoke-worker"
want_eq "dockerd's default runtime" "$(dockerd_default)" runc
want_eq "dockerd's runtimes" "$(dockerd_runtimes)" '["runc"]'
want_eq "SIGHUPs" "$(hups)" 2
absent "$json"
absent "$backup"
absent "$wrapper"
stop_dockerd

if ((failures)); then
  echo "runtime-wrapper_test: $failures failure(s)" >&2
  exit 1
fi
echo "runtime-wrapper_test: ok"
