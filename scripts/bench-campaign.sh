#!/usr/bin/env bash
# The campaign benchmark of BENCHMARKS.md: a 10,000-venue WhatsApp campaign against the fake at
# 80 messages/s, the same with the worker killed twice, and a 10,000-contact LINE multicast.
# Needs PostgreSQL and Redis (REDIS_URL or TEST_REDIS_URL). Extra arguments: --venues N
# --rate R --kills K.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
run_release_bench campaign "$@"
