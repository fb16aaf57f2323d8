#!/usr/bin/env bash
# The load benchmark of BMA Social's BENCHMARKS.md: a seeded fleet, one `bma-social serve` and one
# `bma-social worker` (release builds), and virtual users sending the day's mix (portal pages, API
# reads, analytics, signed WhatsApp webhooks, team replies) at 1,000 and 10,000 concurrent users,
# then 1,000,000 calls, each beside a `GET /livez` baseline of the same users or calls. Needs
# PostgreSQL and Redis (REDIS_URL or TEST_REDIS_URL). Extra arguments: --venues N --zones N
# --history-days D --users 1000,10000 --seconds S --think-ms MS --calls N --connections C.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
run_release_bench load "$@"
