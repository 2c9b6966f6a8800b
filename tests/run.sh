#!/usr/bin/env bash
# The test command: everything the tests need, then every test.
#
#   ./tests/run.sh
#
# - starts the local PostgreSQL cluster if it is not running (the storage, API and
#   CLI tests run on PostgreSQL and on SQLite, each test in a fresh database);
# - checks formatting and lints (cargo fmt, cargo clippy -D warnings);
# - runs the whole test suite (unit, integration, binary and entrypoint tests).
#
# Set NODEDC_TEST_POSTGRES_URL to use another PostgreSQL server (a role that may
# CREATE DATABASE); the default is postgres://postgres@127.0.0.1:5432/postgres.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url="${NODEDC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_up() { psql "$pg_url" -qtAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_up; then
    if [ -z "${NODEDC_TEST_POSTGRES_URL:-}" ] && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        echo "tests/run.sh: starting the local PostgreSQL cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
        for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    fi
    pg_up || { echo "tests/run.sh: PostgreSQL is not reachable at $pg_url" >&2; exit 1; }
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
