#!/usr/bin/env bash
# The API load benchmark of BENCHMARKS.md: seeds 10,000 venues / 50,000 zones, then loads the
# venue endpoints and a hello-world route of the same server with wrk at 1,000 connections.
# Extra arguments go to the benchmark (--venues, --zones, --connections, --seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ensure_test_postgres
command -v wrk >/dev/null || apt_install wrk
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
unset DATABASE_URL REDIS_URL
RUST_LOG=warn cargo run --release --locked -p bma-bench -- api "$@"
