#!/usr/bin/env bash
# Instructions the service executes per request of one page, counted by valgrind's callgrind:
# repeatable for the same build, database and page whatever else the machine is doing, so two
# builds can be compared where wrk's requests/s move by a fifth between runs.
#
#   cargo build --release
#   benches/instructions.sh /referrals                 # the demo officer's case list
#   N=100 benches/instructions.sh /referrals/ID       # a referral page
#   AS=lead N=5 benches/instructions.sh /capacity     # as the demo clinical lead
#
# The service runs under callgrind on LOAD_DATABASE_URL (the million-referral SQLite database
# by default), signed in as the demo probation officer (AS=lead: the demo clinical lead); 20
# requests (WARM) warm it up, the counters
# are zeroed, N requests (100) are made one after another, and the count over them (every
# thread: workers, database threads, the audit appender) is divided by N.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need valgrind callgrind_control curl
P=${1:?give the page, e.g. /referrals}
N=${N:-100} PORT=${PORT:-8098} WARM=${WARM:-20} AS=${AS:-officer}
case $AS in
  officer) who=(priya.shah@probation.demo.example "amber tractor quilt seventy" QRHNNK7LIHHC5NXD2SNMP6FK2TYD5P62) ;;
  lead) who=(helen.carter@turningpoint.demo.example "copper meadow falcon eighty" M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI) ;;
  *) echo "AS must be officer or lead"; exit 2 ;;
esac
URL=${LOAD_DATABASE_URL:-sqlite:///var/tmp/mhtr-1m.db}
dir=$(mktemp -d)
base=http://localhost:$PORT
APP_SERVER__BIND=127.0.0.1:$PORT APP_SERVER__BASE_URL=$base APP_DATABASE__URL=$URL \
  APP_EMAIL__TRANSPORT=log APP_EMAIL__RUN_WORKER=false RUST_LOG=warn \
  APP_SECURITY__THROTTLE__PER_ADDRESS=1000000 APP_SECURITY__THROTTLE__PER_ACCOUNT=1000000 \
  APP_SECURITY__THROTTLE__PER_ACCOUNT_AND_ADDRESS=1000000 \
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.5; done
cookie=$(sign_in "$base" "${who[0]}" "${who[1]}" "${who[2]}" "$dir/jar")
get() { curl -fs -o /dev/null -H "Cookie: __Host-mhtr-session=$cookie" "$base$P"; }
for _ in $(seq 1 "$WARM"); do get; done
# Housekeeping run once at start (the weekly digests, the hourly checks) is not the page's:
# SETTLE seconds (0) let it finish before counting.
sleep "${SETTLE:-0}"
callgrind_control -z "$pid" >/dev/null
for _ in $(seq 1 "$N"); do get; done
callgrind_control -d "$pid" >/dev/null
sleep 1
total=$(awk '/^summary:|^totals:/{print $2; exit}' "$dir/cg.out.1")
echo "$P: $((total / N)) instructions per request (N=$N; profile: callgrind_annotate $dir/cg.out.1)"
