# shellcheck shell=bash
# Sourced by scripts/image-build and scripts/image-run: podman with this machine's settings,
# configured through files under ~/.cache/myctl/podman so the system's /etc/containers stays
# as the distribution shipped it. Why each setting: docs/operations.md ("Build the image").

MYCTL_CACHE=${MYCTL_CACHE:-$HOME/.cache/myctl}
PODMAN_DIR=$MYCTL_CACHE/podman
MYCTL_IMAGE=${MYCTL_IMAGE:-localhost/myctl:dev}

podman_ensure_installed() {
  # podman, runc and debootstrap (the stand-in base image) come from Debian's packages.
  if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
    return
  fi
  local sudo_cmd=""
  [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  echo "image: installing podman, runc and debootstrap (Debian packages)" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
    podman runc debootstrap uidmap >&2
}

podman_configure() {
  mkdir -p "$PODMAN_DIR/storage" "$PODMAN_DIR/run" "$PODMAN_DIR/tmp"
  # runc: crun fails on this host's cgroup layout (cgroup v1 hierarchies plus an unused v2
  # mount); cgroupfs: there is no systemd to delegate cgroups to. The ulimits are what the
  # host allows a container (the defaults podman computes exceed it). Host networking: no
  # CNI bridge is needed to reach the control plane and the Slack emulator on loopback.
  cat >"$PODMAN_DIR/containers.conf.$$" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "host"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$PODMAN_DIR/tmp"
EOF
  cat >"$PODMAN_DIR/storage.conf.$$" <<EOF
[storage]
driver = "overlay"
graphroot = "$PODMAN_DIR/storage"
runroot = "$PODMAN_DIR/run"
EOF
  # Written under a per-process name and renamed: several scripts may start at once (the
  # smoke test runs the bot and the CLI side by side), and a rename is atomic.
  local f
  for f in containers.conf storage.conf; do
    if ! cmp -s "$PODMAN_DIR/$f.$$" "$PODMAN_DIR/$f"; then
      mv -f "$PODMAN_DIR/$f.$$" "$PODMAN_DIR/$f"
    else
      rm -f "$PODMAN_DIR/$f.$$"
    fi
  done
  export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
  export CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf
}
