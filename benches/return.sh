#!/usr/bin/env bash
# The evaluation return of a large partnership, downloaded as the demo clinical lead (nine
# areas): the last full financial year, then the five years to the end of last month. Prints
# each download's rows, size and time, and the service's peak memory before and after, to
# show the return is streamed (the service holds a day of referrals, not the file).
#
#   cargo build --release --bin mhtr-pathway
#   RETURN_DATABASE_URL=sqlite:///var/tmp/mhtr-1m.db benches/return.sh
#   RETURN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mhtr_1m benches/return.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need curl
URL=${RETURN_DATABASE_URL:-sqlite:///var/tmp/mhtr-1m.db} PORT=${PORT:-8099}
dir=$(mktemp -d)
base=http://localhost:$PORT
APP_SERVER__BIND=127.0.0.1:$PORT APP_SERVER__BASE_URL=$base APP_DATABASE__URL=$URL \
  APP_EMAIL__TRANSPORT=log APP_EMAIL__RUN_WORKER=false RUST_LOG=warn \
  "$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
wait_up "$base" "$dir/server.log"
lead=$(sign_in "$base" helen.carter@turningpoint.demo.example "copper meadow falcon eighty" \
  M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI "$dir/lead.jar")
fy=$(( $(date +%Y) - ( $(date +%m) < 4 ? 2 : 1 ) ))
first=$(date -d "$(date +%Y-%m-01) -5 years" +%F)
last=$(date -d "$(date +%Y-%m-01) -1 day" +%F)
echo "database $URL; service peak memory after sign-in: $(peak_mib $pid) MiB"
for period in "FY$fy" "$first..$last"; do
  t=$( { /usr/bin/time -f %e curl -fs -o "$dir/return.csv" -H "Cookie: __Host-mhtr-session=$lead" \
    "$base/reports/evaluation?download=yes&return=evaluation&period=$period"; } 2>&1 )
  rows=$(( $(wc -l <"$dir/return.csv") - 1 ))
  echo "$period: $rows rows, $(( $(stat -c %s "$dir/return.csv") / 1048576 )) MiB in $t s; service peak memory $(peak_mib $pid) MiB"
done
