#!/usr/bin/env bash
# Load test against the running service on a large database (issue "Proof under pressure",
# Load): the caseload list and a referral page, signed in as the demo probation officer,
# and the all-areas uptake report for the last full financial year, signed in as the demo
# clinical lead; each with wrk at 64 connections; then, in the same run, the actix-web
# plain-text ceiling (examples/plaintext.rs) for comparison. Prints requests/s, p50, p99,
# the ratio to the ceiling and the service's peak memory.
#
#   cargo build --release --bin mhtr-pathway --example plaintext
#   LOAD_DATABASE_URL=sqlite:///var/tmp/mhtr-1m.db benches/load.sh
#   LOAD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mhtr_1m benches/load.sh
#
# The database must hold the demo accounts and the synthetic referrals, made in that order
# so the demo staff have caseloads among them (BENCHMARKS.md says how). Environment:
# DUR (seconds per target, 20), CONN (64), THREADS (wrk threads, 2), PORT (8097).
# Every referral page view writes its audit entry, as in real use.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need wrk curl
CEILING=./target/release/examples/plaintext
[ -x "$CEILING" ] || { echo "build first: cargo build --release --example plaintext"; exit 1; }
URL=${LOAD_DATABASE_URL:-sqlite:///var/tmp/mhtr-1m.db}
DUR=${DUR:-20} CONN=${CONN:-64} THREADS=${THREADS:-2} PORT=${PORT:-8097}
dir=$(mktemp -d)
base=http://localhost:$PORT

export APP_SERVER__BIND=127.0.0.1:$PORT APP_SERVER__BASE_URL=$base APP_DATABASE__URL=$URL \
  APP_EMAIL__TRANSPORT=log APP_EMAIL__RUN_WORKER=false RUST_LOG=warn
$BIN serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; kill $ceiling 2>/dev/null || true' EXIT
ceiling=""
wait_up "$base" "$dir/server.log"

officer=$(sign_in "$base" priya.shah@probation.demo.example "amber tractor quilt seventy" \
  QRHNNK7LIHHC5NXD2SNMP6FK2TYD5P62 "$dir/officer.jar")
lead=$(sign_in "$base" helen.carter@turningpoint.demo.example "copper meadow falcon eighty" \
  M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI "$dir/lead.jar")

# The officer's caseload: the referrals linked from the first page of each tab.
for tab in new in_assessment awaiting_sentence waiting in_treatment ended; do
  curl -fs -H "Cookie: __Host-mhtr-session=$officer" "$base/referrals?tab=$tab"
done | grep -o 'href="/referrals/[0-9a-f-]\{36\}"' | sed 's/href="//;s/"$//' | sort -u >"$dir/paths"
count=$(wc -l <"$dir/paths")
[ "$count" -gt 0 ] || { echo "the officer has no caseload: load the demo data before synth"; exit 1; }
fy=$(( $(date +%Y) - ( $(date +%m) < 4 ? 2 : 1 ) ))

results=()
measure() { # $1 = label, $2 = cookie (or -), $3 = URL, [$4 = wrk script]
  local out script=()
  [ -n "${4:-}" ] && script=(-s "$4")
  local cookie=()
  [ "$2" != - ] && cookie=(-H "Cookie: __Host-mhtr-session=$2")
  # A short warm-up, then the measured run.
  PATHS_FILE="$dir/paths" wrk -t"$THREADS" -c"$CONN" -d3s "${cookie[@]}" "${script[@]}" "$3" >/dev/null
  out=$(PATHS_FILE="$dir/paths" wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency "${cookie[@]}" "${script[@]}" "$3")
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr '\n' ' ' || true)
  results+=("$1|$rps|$p50|$p99|${errs:-none}")
  echo "$1: $rps req/s, p50 $p50, p99 $p99 ${errs}"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); database $URL"
echo "$count referral pages of the officer's caseload in rotation"
measure "caseload list (/referrals)" "$officer" "$base/referrals"
measure "referral page (/referrals/{id}, audited view)" "$officer" "$base/" benches/load_referrals.lua
measure "uptake report, all areas, FY$fy" "$lead" "$base/reports/uptake?period=FY$fy"
mem=$(peak_mib $pid)
kill $pid; wait $pid 2>/dev/null || true

$CEILING 127.0.0.1:$((PORT + 1)) >/dev/null 2>&1 &
ceiling=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$((PORT + 1))/plaintext" >/dev/null && break; sleep 0.1; done
measure "actix-web plain text (ceiling)" - "http://127.0.0.1:$((PORT + 1))/plaintext"
kill $ceiling; wait $ceiling 2>/dev/null || true

top=$(cut -d'|' -f2 <<<"${results[-1]}")
echo
echo "| target | requests/s | p50 | p99 | of the ceiling | errors |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in "${results[@]}"; do
  IFS='|' read -r label rps p50 p99 errs <<<"$r"
  echo "| $label | $rps | $p50 | $p99 | $(awk -v a="$rps" -v b="$top" 'BEGIN{printf "%.0f%%", 100*a/b}') | $errs |"
done
echo
echo "service peak memory (VmHWM) over the run: $mem MiB"
rm -rf "$dir"
