#!/usr/bin/env bash
# The bot benchmark of BENCHMARKS.md: webhook → bot → Soundtrack → reply accepted by the fake
# WhatsApp, 50 conversations at once; then the LLM path with the fake Claude's latency.
# Extra arguments: --seconds N --llm-latency-ms MS.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ensure_test_postgres
unset DATABASE_URL REDIS_URL
RUST_LOG=error cargo run --release --locked -p bma-bench -- bot "$@"
