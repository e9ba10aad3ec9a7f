#!/usr/bin/env bash
# Measures what a burst of sign-ins does to everyone else: p50/p99 of a signed-in page
# (/account, which reads the session, the user and their sessions and tokens) alone, then
# while 32 connections hammer POST /sign-in with wrong passwords, with argon2 bounded to 2
# concurrent hashes (the default) and, for comparison, effectively unbounded (64).
# Needs: a release build (cargo build --release), wrk, curl. Uses ports 8095/8096 on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./target/release/mhtr-pathway
[ -x "$BIN" ] || { echo "build first: cargo build --release"; exit 1; }
DUR=${DUR:-15}

run() { # $1 = max concurrent hashes, $2 = port
  local hashes=$1 port=$2 dir; dir=$(mktemp -d)
  export APP_SERVER__BIND=127.0.0.1:$port APP_SERVER__BASE_URL=http://localhost:$port \
    APP_DATABASE__URL=sqlite://$dir/bench.db APP_SECURITY__MAX_CONCURRENT_HASHES=$hashes \
    APP_SECURITY__THROTTLE__PER_ADDRESS=100000000 APP_SECURITY__THROTTLE__PER_ACCOUNT=100000000 \
    APP_SECURITY__THROTTLE__PER_ACCOUNT_AND_ADDRESS=100000000 RUST_LOG=warn
  $BIN serve --demo >"$dir/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do curl -fs "http://localhost:$port/healthz" >/dev/null && break; sleep 0.2; done
  # Sign in as the demo administrator.
  local jar=$dir/jar page csrf code base=http://localhost:$port
  page=$(curl -s -c "$jar" -b "$jar" "$base/sign-in")
  csrf=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//;s/"$//')
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "email=sam.okafor@admin.demo.example" --data-urlencode "password=lantern gravel mosaic sixty" "$base/sign-in"
  page=$(curl -s -c "$jar" -b "$jar" "$base/sign-in/code")
  csrf=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//;s/"$//')
  code=$($BIN totp GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ)
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf_token=$csrf" --data-urlencode "code=$code" "$base/sign-in/code"
  local cookie; cookie=$(awk '$6=="__Host-mhtr-session"{print $7}' "$jar")
  [ -n "$cookie" ] || { echo "sign-in failed"; cat "$dir/server.log"; kill $pid; exit 1; }

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
  grep VmHWM /proc/$pid/status
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr)"
run 2 8095
run 64 8096
