# Shared by the load scripts: start the release server, sign in, read a process's peak memory.
# Source it: . benches/lib.sh

BIN=${BIN:-./target/release/mhtr-pathway}

need() { # the tools a script needs
  for t in "$@"; do command -v "$t" >/dev/null || { echo "needs $t (apt-get install $t)"; exit 1; }; done
  [ -x "$BIN" ] || { echo "build first: cargo build --release"; exit 1; }
}

wait_up() { # $1 = base URL, $2 = log file
  for _ in $(seq 1 100); do curl -fs "$1/healthz" >/dev/null && return 0; sleep 0.2; done
  echo "the service did not start:"; cat "$2"; exit 1
}

form_token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//'; }

# Signs in with password and authenticator code; prints the session cookie's value.
sign_in() { # $1 = base URL, $2 = email, $3 = password, $4 = authenticator key, $5 = cookie jar
  local base=$1 jar=$5 csrf
  csrf=$(curl -s -c "$jar" -b "$jar" "$base/sign-in" | form_token)
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "email=$2" --data-urlencode "password=$3" "$base/sign-in"
  csrf=$(curl -s -c "$jar" -b "$jar" "$base/sign-in/code" | form_token)
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "code=$($BIN totp "$4")" "$base/sign-in/code"
  local cookie; cookie=$(awk '$6=="__Host-mhtr-session"{print $7}' "$jar")
  [ -n "$cookie" ] || { echo "sign-in failed for $2" >&2; return 1; }
  echo "$cookie"
}

peak_mib() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
