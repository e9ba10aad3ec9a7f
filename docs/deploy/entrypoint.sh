#!/bin/sh
# The container's entry point: runs mhtr-pathway with the arguments given (`serve` when none).
# Before a command that writes an embedded SQLite database it makes sure the data folder
# exists and is writable, so a volume mounted with the wrong owner fails with a message that
# says so rather than a database error. It refuses to run as root (the image runs as uid
# 10001) unless MHTR_ALLOW_ROOT is set.
set -eu

bin="${MHTR_BIN:-mhtr-pathway}"
[ "$#" -gt 0 ] || set -- serve

fail() {
  echo "mhtr-entrypoint: $*" >&2
  exit 2
}

if [ "$(id -u)" = 0 ] && [ -z "${MHTR_ALLOW_ROOT:-}" ]; then
  fail "refusing to run as root: run the image as its own user (uid 10001), or set MHTR_ALLOW_ROOT=1"
fi

case "$1" in
  serve | migrate | demo | backup | restore | import | synth)
    url="${APP_DATABASE__URL:-}"
    case "$url" in
      sqlite://*)
        path="${url#sqlite://}"
        dir=$(dirname "$path")
        mkdir -p "$dir" 2>/dev/null ||
          fail "cannot create the data folder $dir: mount a volume there that uid $(id -u) can write"
        [ -w "$dir" ] ||
          fail "the data folder $dir is not writable by uid $(id -u): give the volume that owner"
        ;;
    esac
    ;;
esac

exec "$bin" "$@"
