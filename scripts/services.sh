#!/usr/bin/env bash
# Makes sure what the product and its tests need is installed and running: PostgreSQL and Redis.
# Sourced by scripts/test.sh and scripts/demo.sh. Installs Debian packages when missing.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {
  echo "installing $* ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >/dev/null
  as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_postgres_binaries() {
  if [ -z "$(pg_bindir)" ] || ! command -v psql >/dev/null; then apt_install postgresql postgresql-contrib; fi
}

# Exports TEST_DATABASE_URL: the machine's PostgreSQL on 127.0.0.1:5432 when it lets the postgres
# user in without a password, else a private server in .bma/test-postgres (started if needed).
ensure_test_postgres() {
  ensure_postgres_binaries
  if [ -n "${TEST_DATABASE_URL:-}" ]; then return; fi
  if psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc 'select 1' >/dev/null 2>&1; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    return
  fi
  # The machine has a cluster that is merely stopped: start it and try again.
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >/dev/null 2>&1 || true
    sleep 1
    if psql "postgres://postgres@127.0.0.1:5432/postgres" -tAc 'select 1' >/dev/null 2>&1; then
      export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
      return
    fi
  fi
  local bin dir port=54330 run=()
  bin=$(pg_bindir)
  dir="$(pwd)/.bma/test-postgres"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; run=(runuser -u postgres --); fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    "${run[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  if ! "${run[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    "${run[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  fi
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# Exports TEST_REDIS_URL, starting a Redis on 127.0.0.1:6379 when none answers.
ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server; fi
  if [ -z "${TEST_REDIS_URL:-}" ]; then export TEST_REDIS_URL="redis://127.0.0.1:6379"; fi
  if ! redis-cli -u "$TEST_REDIS_URL" ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --logfile "$(pwd)/.bma/redis.log" >/dev/null
    for _ in $(seq 1 50); do redis-cli -u "$TEST_REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

# Drops databases left by earlier test runs, in one session (hundreds of them after a few runs).
# A database still held by a stray process is left for the next run rather than failing this one.
drop_old_test_databases() {
  psql "$TEST_DATABASE_URL" -tAc "select format('drop database if exists %I;', datname) from pg_database
      where datname like 'bma_test_%' or (datname like 'bma_tpl_%' and datname not like '%$(date -u +%Y%m%d)')" 2>/dev/null |
    psql "$TEST_DATABASE_URL" -q >/dev/null 2>&1 || true
}

# Installs Debian's headless browser, its WebDriver and a Thai font for the portal's browser tests
# (they start chromedriver themselves on a free port).
ensure_chromium() {
  # grep reads all of fc-list's output (no -q): an early exit would fail the pipe under pipefail.
  if [ ! -x /usr/bin/chromedriver ] || ! command -v chromium >/dev/null ||
    ! fc-list 2>/dev/null | grep -i "Noto Sans Thai" >/dev/null; then
    apt_install chromium chromium-driver fonts-noto-core
  fi
}

# Runs `bma-bench NAME ARGS…` from a release build made with the `bma-social` binary it starts as
# separate processes (the campaign worker, the live feed's servers and scheduler), against the
# test PostgreSQL; Redis from REDIS_URL or TEST_REDIS_URL.
run_release_bench() {
  ensure_test_postgres
  unset DATABASE_URL
  cargo build --release --locked -p bma-bench -p bma-social
  RUST_LOG=error "${CARGO_TARGET_DIR:-target}/release/bma-bench" "$@"
}
