#!/bin/sh
# Container entrypoint for nodedc-agent-gateway.
#
#   (no arguments, or flags)      run `migrate`; only if it succeeds, exec `serve "$@"`
#   serve [FLAGS...]              the same (the word `serve` is dropped, FLAGS are kept)
#   -h|--help|-V|--version        exec the binary with the argument
#   any other subcommand [...]    exec the binary with the arguments exactly as given,
#                                 e.g. `docker run IMAGE agent list`, `... demo-setup`,
#                                 `... reference-tasker`: each command opens (and
#                                 migrates) the database itself; operator commands
#                                 refuse a database that does not exist yet unless
#                                 given --init (demo-setup creates it), and a
#                                 subcommand added to the binary needs no change here
#
# The gateway is exec'd, so it replaces this shell as PID 1 and receives the
# container's stop signal (SIGTERM) directly.
#
# Configure the gateway through NODEDC_AGENT_GATEWAY_* environment variables rather
# than command-line flags: flags given here reach `serve` only, so a --database-url
# flag would be missed by the `migrate` step. (`serve` migrates too, so the result
# is still correct, but the explicit step is what gives a clean failure.)
#
# NODEDC_AGENT_GATEWAY_BIN names the binary (default: nodedc-agent-gateway on PATH);
# the tests point it at the cargo-built binary.
set -eu

bin="${NODEDC_AGENT_GATEWAY_BIN:-nodedc-agent-gateway}"

case "${1:-}" in
    serve)
        shift
        ;;
    -h | --help | -V | --version)
        exec "$bin" "$@"
        ;;
    '' | -*)
        # Flags for `serve`.
        ;;
    *)
        exec "$bin" "$@"
        ;;
esac

status=0
"$bin" migrate || status=$?
if [ "$status" -ne 0 ]; then
    echo "entrypoint: \`$bin migrate\` failed (exit $status); not starting the gateway" >&2
    exit "$status"
fi

exec "$bin" serve "$@"
