#!/usr/bin/env bash
# The live-feed benchmark of BMA Social's BENCHMARKS.md: 1,000 SSE clients on two `bma-social
# serve` processes, a `bma-social scheduler` running the monitor against the Soundtrack fake, and
# a zone's change timed to every client. Needs PostgreSQL and Redis (REDIS_URL or TEST_REDIS_URL).
# Extra arguments: --clients N --changes N --accounts N --zones N --latency-ms MS --refill R
# --members-per-role N.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
run_release_bench sse "$@"
