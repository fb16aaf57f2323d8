#!/usr/bin/env bash
# Runs every check and test: format, clippy with warnings as errors, and the whole suite against
# a real PostgreSQL and Redis (installed and started when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh

ensure_test_postgres
ensure_redis
drop_old_test_databases
echo "PostgreSQL: ${TEST_DATABASE_URL}  Redis: ${TEST_REDIS_URL}"

# Tests must not pick up a developer's .env or production settings.
unset DATABASE_URL REDIS_URL

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked 2>&1 | tee .bma/test.log
grep -E '^test result:' .bma/test.log | awk '{p+=$4; f+=$6} END {printf "\n%d passed, %d failed\n", p, f}'
