#!/usr/bin/env bash
# Runs every check and test: format, clippy with warnings as errors, and the whole suite against
# a real PostgreSQL and Redis (installed and started when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh

ensure_test_postgres
ensure_redis
ensure_chromium
drop_old_test_databases
echo "PostgreSQL: ${TEST_DATABASE_URL}  Redis: ${TEST_REDIS_URL}"

# Tests must not pick up a developer's .env or production settings.
unset DATABASE_URL REDIS_URL

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
status=0
cargo test --workspace --locked 2>&1 | tee .bma/test.log || status=1

# The suites that run on a virtual clock, again with every clock's start moved a year back and a
# year ahead (read by bma_domain::clock::test_start): no test may depend on the date it runs on.
clock_suites=(
  "-p bma-web --test api -- monitor:: alerts:: soundtrack::"
  "-p bma-integrations --test soundtrack --test whatsapp"
  "-p bma-fakes --test whatsapp"
)
for shift in -365 365; do
  for suite in "${clock_suites[@]}"; do
    read -ra args <<<"$suite"
    echo "== BMA_TEST_CLOCK_SHIFT_DAYS=${shift} cargo test ${suite}" | tee -a .bma/test.log
    BMA_TEST_CLOCK_SHIFT_DAYS="$shift" cargo test --locked "${args[@]}" 2>&1 | tee -a .bma/test.log || status=1
  done
done

grep -E '^test result:' .bma/test.log | awk '{p+=$4; f+=$6} END {printf "\n%d passed, %d failed\n", p, f}'
exit "$status"
