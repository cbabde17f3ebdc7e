#!/usr/bin/env bash
# Install everything syncoxide needs, idempotently; quick when it has run before.
#   Debian packages (borg's build deps), Go-built tools (Temporal CLI, restic, rclone, hey) cached in
#   ~/.cache/syncoxide/bin, and the Python environment in .venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${SYNCOXIDE_TOOLS_DIR:-$HOME/.cache/syncoxide/bin}"
TEMPORAL_VERSIONS=(v1.5.1 v1.4.1)   # later tags carry a replace directive `go install` refuses
RESTIC_VERSION=v0.18.1
RCLONE_VERSIONS=(v1.76.0 v1.75.1)   # test S3/WebDAV servers (`rclone serve`), the rclone provider, the sync bench
HEY_VERSION=v0.1.5                  # the HTTP load generator of the API bench (bench/api/run.py)
APT_PACKAGES=(libacl1-dev liblz4-dev libzstd-dev libxxhash-dev libssl-dev pkg-config gcc openssh-server openssh-client
              chromium)  # chromium: the dashboard's browser tests (Playwright drives it; no browser download)
PYTHON="${PYTHON:-python3}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (run as root or install sudo)"; fi
}

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# go_tool NAME MODULE VERSION...: build the first version that builds; remember which in a stamp.
go_tool() {
  local name=$1 module=$2; shift 2
  local stamp="$TOOLS/.$name.version"
  if [ -x "$TOOLS/$name" ] && [ -f "$stamp" ] && grep -qxF "$1" "$stamp"; then return; fi
  command -v go >/dev/null || die "Go is needed to build $name (install Go >= 1.25)"
  mkdir -p "$TOOLS"
  local version
  for version in "$@"; do
    say "building $name $version with go install (first time only)"
    if GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "$module@$version"; then
      printf '%s\n' "$1" > "$stamp"
      return
    fi
    say "go install $module@$version failed"
  done
  return 1
}

install_go_tools() {
  go_tool temporal github.com/temporalio/cli/cmd/temporal "${TEMPORAL_VERSIONS[@]}" \
    || die "could not build the Temporal CLI"
  if ! go_tool restic github.com/restic/restic/cmd/restic "$RESTIC_VERSION"; then
    say "falling back to Debian's restic"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null
  fi
  go_tool rclone github.com/rclone/rclone "${RCLONE_VERSIONS[@]}" || die "could not build rclone"
  go_tool hey github.com/rakyll/hey "$HEY_VERSION" || die "could not build hey"
}

install_python_env() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 is needed"
  local venv="$ROOT/.venv" stamp want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  stamp="$venv/.syncoxide-installed"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  say "installing the Python environment in .venv"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e "$ROOT[dev]"
  printf '%s\n' "$want" > "$stamp"
}

install_apt_packages
install_go_tools
install_python_env
say "ready: tools in $TOOLS, Python in $ROOT/.venv"
