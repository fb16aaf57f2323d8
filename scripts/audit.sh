#!/usr/bin/env bash
# Checks the dependencies against deny.toml: licences, banned crates and sources, offline; then
# the vulnerability audit of Cargo.lock against a local copy of the RustSec advisory database,
# when one is given, and otherwise says in one line that it was skipped and why.
#   scripts/audit.sh
#   BMA_ADVISORY_DB=/path/to/advisory-db scripts/audit.sh
# BMA_ADVISORY_DB is a folder holding the database's `crates/` tree: a git clone of
# https://github.com/rustsec/advisory-db, or a plain copy of one (its date is then read from a
# SNAPSHOT file saying "... (YYYY-MM-DD) ...", or from the folder's modification time). Nothing
# here fetches advisories from the network; the audit is as current as that copy, and the
# script prints its date and age.
# Installs cargo-deny (`cargo install --locked cargo-deny`, from crates.io) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bma

if ! cargo deny --version >/dev/null 2>&1; then
  echo "== installing cargo-deny (cargo install --locked cargo-deny)"
  nice -n 10 cargo install --locked cargo-deny
fi
cargo deny --version

# cargo deny reads every package's manifest, for every platform; fetch them once so the checks
# themselves can run offline.
cargo fetch --locked --quiet

status=0
echo "== cargo deny --offline check bans licenses sources"
cargo deny --offline check --show-stats bans licenses sources || status=1

db="${BMA_ADVISORY_DB:-}"
if [[ -z "$db" ]]; then
  echo "== advisories: SKIPPED, no vulnerability audit was run: BMA_ADVISORY_DB is not set (point it at a local copy of the RustSec advisory database)"
  exit "$status"
fi
if [[ ! -d "$db/crates" ]]; then
  echo "== advisories: SKIPPED, no vulnerability audit was run: BMA_ADVISORY_DB=$db holds no crates/ folder of advisories"
  exit "$status"
fi

if [[ -d "$db/.git" ]]; then
  date_source="its last commit"
  db_date=$(git -C "$db" log -1 --format=%cs)
elif [[ -f "$db/SNAPSHOT" ]] && grep -qoE '\([0-9]{4}-[0-9]{2}-[0-9]{2}\)' "$db/SNAPSHOT"; then
  date_source="its SNAPSHOT file"
  db_date=$(grep -oE '\([0-9]{4}-[0-9]{2}-[0-9]{2}\)' "$db/SNAPSHOT" | head -1 | tr -d '()')
else
  date_source="the folder's modification time"
  db_date=$(date -u -r "$db" +%F)
fi
age_days=$(( ($(date -u +%s) - $(date -u -d "$db_date" +%s)) / 86400 ))
advisories=$(find "$db/crates" -name '*.md' | wc -l)
echo "== advisories: $db, $advisories advisories, dated $db_date by $date_source ($age_days days old)"

# cargo-deny opens its database as a git checkout under deny.toml's db-path, in a folder named
# after the database's URL; it tells where in its debug log. The copy there gets a FETCH_HEAD
# dated as the database, so cargo-deny's own staleness check sees the copy's real age.
root="$PWD/.bma/advisory-dbs"
mkdir -p "$root"
target=$(BMA_ADVISORY_DB_ROOT="$root" cargo deny -L debug --offline check advisories 2>&1 \
  | sed -n "s/.*Opening advisory database at '\(.*\)'.*/\1/p" | head -1 || true)
if [[ -z "$target" || "$target" != "$root"/* ]]; then
  echo "== advisories: FAILED, cargo-deny did not say where it reads its database" >&2
  exit 1
fi
rm -rf "$target"
mkdir -p "$target/.git"
cp -R "$db/crates" "$target/crates"
touch -d "$db_date" "$target/.git/FETCH_HEAD"

echo "== cargo deny --offline check advisories"
BMA_ADVISORY_DB_ROOT="$root" cargo deny --offline check --show-stats advisories || status=1
exit "$status"
