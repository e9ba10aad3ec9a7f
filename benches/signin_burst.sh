#!/usr/bin/env bash
# Measures what a burst of sign-ins does to everyone else: p50/p99 of a signed-in page
# (/account, which reads the session, the user and their sessions and tokens) alone, then
# while 32 connections hammer POST /sign-in with wrong passwords, with argon2 bounded to 2
# concurrent hashes (the default) and, for comparison, effectively unbounded (64).
# Needs: a release build (cargo build --release), wrk, curl. Uses ports 8095/8096 on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need wrk curl
DUR=${DUR:-15}

run() { # $1 = max concurrent hashes, $2 = port
  local hashes=$1 port=$2 dir; dir=$(mktemp -d)
  export APP_SERVER__BIND=127.0.0.1:$port APP_SERVER__BASE_URL=http://localhost:$port \
    APP_DATABASE__URL=sqlite://$dir/bench.db APP_SECURITY__MAX_CONCURRENT_HASHES=$hashes \
    APP_SECURITY__THROTTLE__PER_ADDRESS=100000000 APP_SECURITY__THROTTLE__PER_ACCOUNT=100000000 \
    APP_SECURITY__THROTTLE__PER_ACCOUNT_AND_ADDRESS=100000000 RUST_LOG=warn
  $BIN serve --demo >"$dir/server.log" 2>&1 &
  local pid=$!
  local base=http://localhost:$port cookie
  wait_up "$base" "$dir/server.log"
  cookie=$(sign_in "$base" sam.okafor@admin.demo.example "lantern gravel mosaic sixty" \
    GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ "$dir/jar") || { kill $pid; exit 1; }

  echo "### max_concurrent_hashes = $hashes"
  echo "--- /account alone (8 connections, ${DUR}s)"
  wrk -t1 -c8 -d"${DUR}s" --latency -H "Cookie: __Host-mhtr-session=$cookie" "$base/account" | grep -E "Requests/sec|^ +(50|90|99)%"
  echo "--- /account during a sign-in burst (32 connections of failed sign-ins)"
  wrk -t1 -c32 -d"$((DUR + 4))s" -s benches/signin_burst.lua "$base/sign-in" >"$dir/burst.txt" &
  local burst=$!
  sleep 2
  wrk -t1 -c8 -d"${DUR}s" --latency -H "Cookie: __Host-mhtr-session=$cookie" "$base/account" | grep -E "Requests/sec|^ +(50|90|99)%"
  wait $burst
  echo "--- the burst itself"
  grep -E "Requests/sec|Latency" "$dir/burst.txt"
  echo "--- server memory (max RSS so far)"
  echo "$(peak_mib $pid) MiB"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr)"
run 2 8095
run 64 8096
