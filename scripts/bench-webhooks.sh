#!/usr/bin/env bash
# The webhook benchmark of BENCHMARKS.md: signed WhatsApp webhooks at rising concurrency against
# a bare INSERT + COMMIT loop on the same database. Extra arguments: --levels 1,8,32 --seconds N.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ensure_test_postgres
unset DATABASE_URL REDIS_URL
RUST_LOG=error cargo run --release --locked -p bma-bench -- webhooks "$@"
