#!/usr/bin/env bash
# Import throughput: a synthetic CaseBook export of about 1,000,000 source rows (200,000
# people, about 220,000 cases, about 660,000 appointments, 1 row in 100 messy), reconciled
# by a dry run and then imported, into a fresh SQLite database with the demo data.
# Usage: cargo build --release && benches/import_1m.sh   (PEOPLE=200000 by default; FLOOR=1
# also times SQLite alone storing the same rows, benches/import_floor.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-./target/release/mhtr-pathway}   # another build to compare: BIN=path
PEOPLE=${PEOPLE:-200000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export APP_DATABASE__URL="sqlite://$WORK/bench.db"
"$BIN" demo > /dev/null
# FLOOR=1: keep the database as it was before the import, for benches/import_floor.sh below.
[ "${FLOOR:-0}" = 1 ] && cp "$WORK/bench.db" "$WORK/base.db" && { [ ! -f "$WORK/bench.db-wal" ] || cp "$WORK/bench.db-wal" "$WORK/base.db-wal"; }
"$BIN" import-sample --people "$PEOPLE" --practitioner tom.walker@turningpoint.demo.example --out "$WORK/export"
echo "--- dry run"
/usr/bin/time -f "peak memory %M KiB" "$BIN" import --mapping config/import/legacy_casebook.toml --dry-run \
  "$WORK"/export/cb_clients.csv "$WORK"/export/cb_cases.csv "$WORK"/export/cb_appointments.csv \
  | grep -E "^(FILE|cb_|Checksum|[0-9]+ source rows)" | tee "$WORK/dry.txt"
SUM=$(grep Checksum "$WORK/dry.txt" | awk '{print $NF}')
echo "--- import"
/usr/bin/time -f "peak memory %M KiB" "$BIN" import --mapping config/import/legacy_casebook.toml \
  --as sam.okafor@admin.demo.example --checksum "$SUM" \
  "$WORK"/export/cb_clients.csv "$WORK"/export/cb_cases.csv "$WORK"/export/cb_appointments.csv \
  | grep -E "^(FILE|cb_|Checksum|Import batch|[0-9]+ source rows)"
echo "--- again (nothing new)"
"$BIN" import --mapping config/import/legacy_casebook.toml --as sam.okafor@admin.demo.example \
  "$WORK"/export/cb_clients.csv "$WORK"/export/cb_cases.csv "$WORK"/export/cb_appointments.csv \
  | grep -E "^(FILE|cb_|[0-9]+ source rows)"
"$BIN" audit verify
if [ "${FLOOR:-0}" = 1 ]; then
  echo "--- SQLite's own share: the same rows copied by the sqlite3 shell (benches/import_floor.sh)"
  benches/import_floor.sh "$WORK/base.db" "$WORK/bench.db"
fi
