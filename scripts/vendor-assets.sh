#!/usr/bin/env bash
# Fetches the portal's third-party browser assets from npm into the repository (they are committed
# and embedded in the binary; nothing is loaded from a CDN and there is no JavaScript build step).
# Run again only to upgrade a version, then commit what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
assets=crates/portal/assets
test_vendor=crates/portal/tests/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() { # package@version, file inside the package, destination
  (cd "$tmp" && npm pack --silent "$1" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  tar -xzf "$tgz" -C "$tmp"
  cp "$tmp/package/$2" "$3"
  rm -rf "$tmp/package" "$tgz"
}
mkdir -p "$assets" "$test_vendor"
fetch htmx.org@2.0.11 dist/htmx.min.js "$assets/htmx.min.js"
fetch htmx-ext-sse@2.2.4 dist/sse.min.js "$assets/htmx-sse.min.js"
fetch uplot@1.6.32 dist/uPlot.iife.min.js "$assets/uplot.min.js"
fetch uplot@1.6.32 dist/uPlot.min.css "$assets/uplot.min.css"
# For the browser tests' accessibility check only; never served.
fetch axe-core@4.14.1 axe.min.js "$test_vendor/axe.min.js"
ls -l "$assets" "$test_vendor"
