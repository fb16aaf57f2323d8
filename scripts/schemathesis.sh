#!/usr/bin/env bash
# Checks the API against its own OpenAPI document from outside: starts the demo (fakes, a small
# seeded fleet, rate limits raised for the run), signs in as the demo manager, and runs
# schemathesis (installed from PyPI when missing) with every check, bounded in time.
#   scripts/schemathesis.sh                 # all phases, at most SCHEMATHESIS_MAX_TIME s (600)
#   SCHEMATHESIS_PHASES=coverage scripts/schemathesis.sh
# The report (JUnit and the run's NDJSON) goes to .bma/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma/schemathesis
source scripts/services.sh
ensure_postgres_binaries

if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet "schemathesis>=4.3,<5"
fi

port="${SCHEMATHESIS_PORT:-8100}"
base="http://127.0.0.1:${port}"
cargo build --locked -q -p bma-social
bin="${CARGO_TARGET_DIR:-target}/debug/bma-social"
PORT="$port" RATE_LIMIT_PER_IP=100000000 RATE_LIMIT_PER_USER=100000000 \
  "$bin" demo --venues 40 --zones 160 >.bma/schemathesis/demo.log 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -fsS "${base}/health" >/dev/null 2>&1 && break
  kill -0 "$demo" 2>/dev/null || { cat .bma/schemathesis/demo.log; exit 1; }
  sleep 0.5
done

token=$(curl -fsS "${base}/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"manager@demo.bma","password":"demo-password-1"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Signing out would end the session the run signs in with; it has its own API tests.
set +e
# schemathesis.toml holds the per-operation exceptions (rules a JSON schema cannot state); every
# check runs on every operation.
timeout --signal=INT "$(( ${SCHEMATHESIS_MAX_TIME:-600} + 60 ))" schemathesis --config-file schemathesis.toml \
  run "${base}/api/v1/openapi.json" \
  --url "$base" \
  -H "Authorization: Bearer ${token}" \
  --checks all \
  --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}" \
  --max-time "${SCHEMATHESIS_MAX_TIME:-600}" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/events \
  --request-timeout 20 \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --report junit,ndjson --report-dir .bma/schemathesis \
  2>&1 | tee .bma/schemathesis/run.log
status=${PIPESTATUS[0]}
set -e
exit "$status"
