#!/usr/bin/env bash
# Runs every parser fuzz property (RELIABILITY.md, "Hostile input") at a large case count, one
# property at a time on one thread, and prints a line per property: its cases, its seconds and
# whether it passed. The normal suite runs the same properties at proptest's default 256 cases.
#   scripts/fuzz.sh                      # 20,000 cases each
#   PROPTEST_CASES=2000 scripts/fuzz.sh
# A failure prints proptest's minimal failing input and leaves its seed in the crate's
# proptest-regressions/ folder, so the next run tries it first.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma
cases="${PROPTEST_CASES:-20000}"
log=.bma/fuzz.log
: >"$log"

# cargo arguments | the tests' path prefix (each parser family's fuzz file)
suites=(
  "-p bma-domain --lib|bot::fuzz::"
  "-p bma-domain --test fuzz_templates|"
  "-p bma-integrations --test fuzz_webhooks|"
  "-p bma-integrations --lib|soundtrack::fuzz::"
  "-p bma-app --lib|messaging::email_inbound::fuzz::"
  "-p bma-app --lib|services::import::fuzz::"
)

status=0
total=0
count=0
printf '%-100s %8s %9s  %s\n' property cases seconds result
for suite in "${suites[@]}"; do
  read -ra args <<<"${suite%%|*}"
  prefix="${suite#*|}"
  cargo test --locked -q "${args[@]}" --no-run 2>>"$log"
  mapfile -t names < <(cargo test --locked -q "${args[@]}" -- --list "$prefix" 2>>"$log" | sed -n 's/: test$//p')
  for name in "${names[@]}"; do
    started=$(date +%s.%N)
    if PROPTEST_CASES="$cases" cargo test --locked -q "${args[@]}" -- --exact "$name" --test-threads=1 >>"$log" 2>&1; then
      result=passed
    else
      result=FAILED
      status=1
    fi
    seconds=$(echo "$(date +%s.%N) - $started" | bc)
    total=$(echo "$total + $seconds" | bc)
    count=$((count + 1))
    printf "%-100s %8s %9.1f  %s\n" "${args[*]:1} $name" "$cases" "$seconds" "$result"
  done
done
printf '%d properties, %s cases each, %.0f s in all; the output is in %s\n' "$count" "$cases" "$total" "$log"
exit "$status"
