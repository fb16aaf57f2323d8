#!/usr/bin/env bash
# The fault benchmark of BMA Social's BENCHMARKS.md: two `bma-social serve`, two `worker` and two
# `scheduler` processes under load on a PostgreSQL and a Redis of the bench's own (started and
# removed by it, so the machine's shared servers are never restarted), through kill -9 of each
# role, a PostgreSQL restart, Redis down, Soundtrack and WhatsApp faults; then the invariants
# (nothing acknowledged lost, nothing sent twice, no duplicate alert or storm, periodic jobs and
# the monitor once, live events on both servers, recovery and zone changes seen within 30 s) as
# PASS / FAIL. About five minutes; fails when an invariant does. Needs the PostgreSQL binaries and
# redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
command -v redis-server >/dev/null || apt_install redis-server
run_release_bench faults "$@"
