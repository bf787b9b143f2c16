# The Docker engine: installed from Debian's docker.io when missing, started when not answering,
# and checked for what kind needs (privileged containers, privileged exec).
# shellcheck shell=bash

DOCKERD_LOG=/var/log/netcert-dockerd.log
apt_updated=

# apt_install PACKAGE...: installs Debian packages, updating the package lists once per run.
apt_install() {
  if [[ -z "$apt_updated" ]]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed: the set-up needs the Debian package archive"
    apt_updated=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

ensure_docker_engine() {
  if docker info >/dev/null 2>&1; then
    log "a Docker engine answers: $(docker version -f '{{.Server.Version}}')"
    return 0
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || die "docker.io is installed but no docker client is on PATH"
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  local i
  for i in $(seq 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "dockerd did not answer within 60s: see $DOCKERD_LOG"
}

# check_privileged_containers runs and execs into a privileged container of a tiny local image, as
# kind does for every node, and explains what to do when the engine refuses.
check_privileged_containers() {
  local image=netcert.local/privileged-check:1 dir out name=netcert-privileged-check
  if [[ -z "$(docker images -q "$image")" ]]; then
    dir=$(mktemp -d)
    printf '#include <unistd.h>\nint main(int c, char **v) { if (c > 1) pause(); return 0; }\n' |
      gcc -static -Os -x c -o "$dir/check" - || return
    tar -C "$dir" -c check | docker import - "$image" >/dev/null || return
    rm -rf "$dir"
  fi
  docker rm -f "$name" >/dev/null 2>&1 || true
  if ! out=$(docker run -d --name "$name" --privileged "$image" /check wait 2>&1) ||
    ! out=$(docker exec --privileged "$name" /check 2>&1); then
    docker rm -f "$name" >/dev/null 2>&1 || true
    die "this Docker engine cannot run privileged containers, which kind needs for its nodes:
  $out
Run dockerd as root (not rootless) without user-namespace remapping. Where the capability bounding set
is short (grep CapBnd /proc/self/status), the set-up's runtime wrapper must be Docker's default
runtime: see 'docker info | grep -i runtime' and /etc/docker/daemon.json."
  fi
  docker rm -f "$name" >/dev/null
}
