#!/usr/bin/env bash
# The music-monitor benchmark of BENCHMARKS.md: detection latency (fault start → alert) against
# the Soundtrack fake in honest virtual time, at 2,540 zones / 856 accounts and 50,000 / 10,000,
# with refill 50/s and 5/s; also tokens, requests, false alerts, CPU and memory.
# Extra arguments go to the benchmark (--zones, --accounts, --refill, --minutes, --seed, --rate,
# --rtt-ms, --outage-minutes, --flapping, --detail-share); without --zones/--refill it runs all four
# combinations. BENCH_MONITOR_DEBUG=1 prints the samples seen of each missed fault.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ensure_test_postgres
unset DATABASE_URL REDIS_URL
RUST_LOG=warn cargo run --release --locked -p bma-bench -- monitor "$@"
