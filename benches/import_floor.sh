#!/usr/bin/env bash
# SQLite's own share of an import: copies the rows an import wrote (RUN, the database after it)
# into a copy of the database before it (BASE), with the sqlite3 shell, in one transaction,
# with the secondary indexes set aside and then built, under the settings the import's batches
# use. No CSV is read, nothing is validated or reconciled, no row passes through the program:
# this is the time SQLite itself needs to store those rows in this schema, a floor under any
# import of them (BENCHMARKS.md, "Import from a legacy system").
#   benches/import_floor.sh BASE.db RUN.db     (or FLOOR=1 benches/import_1m.sh)
set -euo pipefail
BASE=$1 RUN=$2
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install sqlite3)"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$BASE" "$WORK/floor.db"
[ -f "$BASE-wal" ] && cp "$BASE-wal" "$WORK/floor.db-wal"

# Tables the import writes, parents first; rows after the base's last rowid are the import's.
ROWID_TABLES="import_batches people referrals referral_status_history treatment_sessions report_facts report_referral_months"
# The indexes the import sets aside (db::deferred_indexes), read from the schema itself.
INDEXES=$(sqlite3 "$WORK/floor.db" "SELECT name || '|' || sql FROM sqlite_master WHERE type = 'index'
  AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN
  ('people', 'referrals', 'referral_status_history', 'treatment_sessions', 'report_facts')")

{
  echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;"
  echo "PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 16384;"
  echo "ATTACH '$RUN' AS src;"
  while IFS='|' read -r name _; do echo "DROP INDEX $name;"; done <<<"$INDEXES"
  echo ".timer on"
  echo "BEGIN;"
  for t in $ROWID_TABLES; do
    echo ".print '-- $t'"
    echo "INSERT INTO main.$t SELECT * FROM src.$t WHERE rowid > (SELECT coalesce(max(rowid), 0) FROM main.$t) ORDER BY rowid;"
  done
  echo ".print '-- import_rows'"
  echo "INSERT INTO main.import_rows SELECT * FROM src.import_rows s WHERE NOT EXISTS (SELECT 1 FROM main.import_rows m
    WHERE m.source_system = s.source_system AND m.kind = s.kind AND m.source_id = s.source_id);"
  echo ".print '-- commit'"
  echo "COMMIT;"
  while IFS='|' read -r name sql; do echo ".print '-- index $name'"; echo "$sql;"; done <<<"$INDEXES"
  echo ".print '-- checkpoint'"
  echo "PRAGMA wal_checkpoint(TRUNCATE);"
} >"$WORK/floor.sql"

rows=$(sqlite3 "$RUN" "SELECT (SELECT count(*) FROM people) + (SELECT count(*) FROM referrals)
  + (SELECT count(*) FROM referral_status_history) + (SELECT count(*) FROM treatment_sessions)
  + (SELECT count(*) FROM import_rows) + (SELECT count(*) FROM report_facts)
  + (SELECT count(*) FROM report_referral_months)")
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$WORK/cpu" sqlite3 -bail "$WORK/floor.db" <"$WORK/floor.sql" >"$WORK/out"
end=$(date +%s.%N)
awk '/^-- /{step=substr($0, 4); order[++n]=step} /^Run Time/{real[step]+=$4}
  END{for (i = 1; i <= n; i++) printf "  %-40s %6.2f s\n", order[i], real[order[i]]}' "$WORK/out"
read -r user sys <"$WORK/cpu"
check=$(sqlite3 "$WORK/floor.db" "PRAGMA foreign_key_check; PRAGMA quick_check;")
[ "$check" = ok ] || { echo "the copy failed its checks: $check"; exit 1; }
printf 'SQLite floor: %s rows in the written tables, %.1f s (CPU user %s s, system %s s)\n' \
  "$rows" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b - a}')" "$user" "$sys"
