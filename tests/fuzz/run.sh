#!/usr/bin/env bash
# API fuzzing: schemathesis against /api/v1/openapi.json of a running `serve --demo`, once per
# role with that role's bearer token. Checks: no 5xx (not_a_server_error) and every response
# matches the schema the document promises (response_schema_conformance).
#
#   tests/fuzz/run.sh                  # 25 examples per operation and phase
#   FUZZ_EXAMPLES=200 tests/fuzz/run.sh
#
# Needs python3 with venv, and the debug binary (built when missing). Installs schemathesis
# from PyPI into target/fuzz-venv the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLES="${FUZZ_EXAMPLES:-25}"
PORT="${FUZZ_PORT:-8091}"
LIMIT="${FUZZ_TIME_LIMIT:-600}"   # seconds for each role's run
SCHEMATHESIS_VERSION="4.32.5"
BASE="http://127.0.0.1:$PORT"
BIN=./target/debug/mhtr-pathway
VENV="${FUZZ_VENV:-target/fuzz-venv}"

[ -x "$BIN" ] || cargo build --quiet
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

work=$(mktemp -d)
log=target/fuzz-server.log
APP_ENVIRONMENT=development APP_SERVER__BIND=127.0.0.1:$PORT APP_SERVER__BASE_URL=$BASE \
  APP_DATABASE__URL="sqlite://$work/fuzz.db" APP_EMAIL__TRANSPORT=log APP_EMAIL__RUN_WORKER=false \
  APP_SECURITY__SECURE_COOKIES=false \
  "$BIN" serve --demo > "$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$log"; echo "FAIL: the server did not start" >&2; exit 1; }

# The demo accounts' published credentials (src/demo.rs): role, email, password, authenticator key.
accounts=(
  "probation_officer|priya.shah@probation.demo.example|amber tractor quilt seventy|QRHNNK7LIHHC5NXD2SNMP6FK2TYD5P62"
  "assistant_psychologist|tom.walker@turningpoint.demo.example|velvet harbour cactus ninety|YDZVZUAJCYYUIZZ5UFZIPU65VQYV4G7J"
  "clinical_lead|helen.carter@turningpoint.demo.example|copper meadow falcon eighty|M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI"
  "councillor|jo.bennett@rutland.demo.example|silent orchard pepper forty|FOCWUUS5DAYE5MYRQUBNFWVBIZB2MWA3"
  "admin|sam.okafor@admin.demo.example|lantern gravel mosaic sixty|GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ"
)

# Every token first: the fuzzing of POST /api/v1/auth/token soon meets the sign-in throttle.
declare -A tokens
for account in "${accounts[@]}"; do
  IFS='|' read -r role email password key <<< "$account"
  code=$("$BIN" totp "$key")
  body=$("$VENV/bin/python" -c 'import json,sys; print(json.dumps({"email":sys.argv[1],"password":sys.argv[2],"code":sys.argv[3]}))' "$email" "$password" "$code")
  token=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$BASE/api/v1/auth/token" \
    | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  tokens[$role]=$token
done

failed=()
for account in "${accounts[@]}"; do
  role=${account%%|*}
  echo
  echo "---- schemathesis as $role ----"
  # Revoking the token would end this role's run early, so that one operation is left out.
  if ! timeout "$LIMIT" "$VENV/bin/schemathesis" --no-color run "$BASE/api/v1/openapi.json" \
      --url "$BASE" \
      --checks not_a_server_error,response_schema_conformance \
      --max-examples "$EXAMPLES" \
      --header "Authorization: Bearer ${tokens[$role]}" \
      --exclude-operation-id revoke_token \
      --request-timeout 20 \
      --generation-database none \
      --seed 1; then
    failed+=("$role")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAIL: schemathesis found problems for: ${failed[*]} (server log: $log)" >&2
  exit 1
fi
echo "API fuzzing passed for every role."
