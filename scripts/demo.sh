#!/usr/bin/env bash
# Runs the demo: a private PostgreSQL (created in .bma/ on first use), a seeded fleet, the demo
# team, the fake outside services and every role, on http://localhost:8000. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
source scripts/services.sh
ensure_postgres_binaries
cargo run --locked -p bma-social -- demo "$@"
