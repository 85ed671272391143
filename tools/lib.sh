# Shared helpers for tools/*: sourced, not run.
set -euo pipefail

SPILLWAY_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Swift lives in /opt/swift on this project's machines; find it even when PATH does not.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it $1)"
}

# The spillway binary the benchmarks measure: $SPILLWAY_BIN if set, else the release build.
spillway_bin() {
  local bin=${SPILLWAY_BIN:-}
  [ -n "$bin" ] || bin="$(cd "$SPILLWAY_TOP" && swift build -c release --show-bin-path 2>/dev/null)/spillway"
  [ -x "$bin" ] || die "no spillway binary at '$bin': run tools/build first (or set SPILLWAY_BIN)"
  echo "$bin"
}
