#!/usr/bin/env bash
# Installs lavapipe, Mesa's software Vulkan driver, so that onnxruntime-node's WebGPU provider
# (Dawn on Vulkan) runs on the CPU: mesa-vulkan-drivers 25.x from Debian's bookworm-backports
# suite (bookworm's own 22.3 is not the tested one), libvulkan1 (the loader) and vulkan-tools
# (vulkaninfo, for the check). Idempotent: when a Mesa >= 25 lavapipe is already there it only
# checks it (well under a second); a first install takes about 10 s on a 2-core machine.
#
# Prints one line on stdout, the XDG_RUNTIME_DIR to use (an existing one that is a private
# directory of this user, or ${TMPDIR:-/tmp}/xdg-runtime-<uid>, mode 0700); everything else goes
# to stderr. Exit status 1 when lavapipe cannot be installed or vulkaninfo does not list it.
#
#   export XDG_RUNTIME_DIR="$(bash .ci/install-lavapipe.sh)"
set -euo pipefail

MIN_MESA_MAJOR=25
PACKAGES=(mesa-vulkan-drivers libvulkan1 vulkan-tools)
BACKPORTS_FILE=/etc/apt/sources.list.d/bookworm-backports.sources

log() { echo "install-lavapipe: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# A private runtime directory: Mesa's and the Vulkan loader's window-system code warn without one.
runtime_dir() {
  local dir="${XDG_RUNTIME_DIR:-}"
  if [ -n "$dir" ] && [ -d "$dir" ] && [ -O "$dir" ] && [ ! -L "$dir" ]; then
    chmod 0700 "$dir"
    echo "$dir"
    return
  fi
  dir="${TMPDIR:-/tmp}/xdg-runtime-$(id -u)"
  if [ -e "$dir" ] && { [ ! -d "$dir" ] || [ -L "$dir" ] || [ ! -O "$dir" ]; }; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/xdg-runtime-XXXXXX") # taken by someone else
  fi
  mkdir -p "$dir"
  chmod 0700 "$dir"
  echo "$dir"
}

# The installed version of package $1, empty when it is not installed.
installed_version() {
  dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null |
    awk '$1 == "installed" { print $2 }'
}

# True when mesa-vulkan-drivers >= MIN_MESA_MAJOR, libvulkan1 and vulkan-tools are installed.
packages_ok() {
  local mesa major
  mesa=$(installed_version mesa-vulkan-drivers)
  major=${mesa%%.*}
  major=${major#*:} # drop an epoch
  [ -n "$mesa" ] && [ "$major" -ge "$MIN_MESA_MAJOR" ] 2>/dev/null &&
    [ -n "$(installed_version libvulkan1)" ] && [ -n "$(installed_version vulkan-tools)" ]
}

# vulkaninfo lists a llvmpipe device (prints its summary lines to stderr).
lavapipe_listed() {
  local summary
  summary=$(XDG_RUNTIME_DIR="$1" vulkaninfo --summary 2>/dev/null) || return 1
  echo "$summary" | grep -E 'deviceName|driverInfo' | sed 's/^[[:space:]]*/  /' >&2
  echo "$summary" | grep -q 'driverName[[:space:]]*= llvmpipe'
}

# The mirror of the first enabled bookworm suite in the apt source files given (deb822 .sources
# or one-line .list), or deb.debian.org.
debian_mirror() {
  local uri=""
  if [ "$#" -gt 0 ]; then
    uri=$(awk '
      FNR == 1 { emit() }
      /^[[:space:]]*#/ { next }
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
        if ($(i + 1) == "bookworm") { print $i; exit }
        next
      }
      /^[[:space:]]*$/ { emit(); next }
      tolower($1) == "uris:" { uris = $2 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
      END { if (!done) emit() }
      function emit() {
        if (suites ~ / bookworm / && uris != "") { print uris; done = 1; exit }
        uris = ""; suites = ""
      }
    ' "$@" 2>/dev/null | head -n 1)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# True when an enabled apt source already names bookworm-backports.
backports_enabled() {
  grep -hsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources >/dev/null
}

xdg=$(runtime_dir)

if packages_ok && lavapipe_listed "$xdg"; then
  log "lavapipe already installed (mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers))"
  echo "$xdg"
  exit 0
fi

. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] ||
  die "expected Debian 12 (bookworm), found ${PRETTY_NAME:-an unknown system}; install Mesa >= ${MIN_MESA_MAJOR}'s mesa-vulkan-drivers and libvulkan1 by hand"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "needs root (apt-get install) and sudo is not available"
  SUDO=(sudo)
fi

if ! backports_enabled; then
  mirror=$(debian_mirror $(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null))
  log "adding bookworm-backports from ${mirror} in ${BACKPORTS_FILE}"
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
Types: deb
URIs: ${mirror}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  chmod 0644 "$tmp"
  "${SUDO[@]}" mv "$tmp" "$BACKPORTS_FILE"
fi

# apt's output goes to a log, shown only when a step fails.
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
apt_step() {
  log "$*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$apt_log" 2>&1 || {
    cat "$apt_log" >&2
    die "$* failed"
  }
}
apt_step apt-get update
apt_step apt-get install -y --no-install-recommends -t bookworm-backports "${PACKAGES[@]}"

packages_ok ||
  die "mesa-vulkan-drivers is $(installed_version mesa-vulkan-drivers), expected >= ${MIN_MESA_MAJOR} from bookworm-backports"
lavapipe_listed "$xdg" || die "vulkaninfo --summary does not list a llvmpipe device"
log "installed mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers)"
echo "$xdg"
