#!/usr/bin/env bash
# `make bench` and `make bench-smoke` (see BENCHMARKS.md).
#
#   bench/run.sh           build the release binaries, then in-process (mreg-bench), HTTP (wrk)
#                          and CLI (hyperfine) runs; prints a table, writes bench/results/<date>.json
#   bench/run.sh --smoke   a few seconds on the debug build: checks that the harness still works
#                          (wrk -d 1s on two routes, hyperfine 3 runs, mreg-bench --quick, the
#                          compare client against mreg); exits non-zero if it does not
#
# Any further arguments go to bench/httpbench.py (--runs N, --duration 15s, --only http,...).
# Environment: SWIFT (swift), PYTHON (python3), BENCH_RUNS, BENCH_DURATION, MREG_BIN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PYTHON=${PYTHON:-python3}
smoke=0
if [[ ${1:-} == --smoke ]]; then smoke=1; fi

scripts/install-deps.sh wrk hyperfine python3

if ((smoke)); then
  bin_dir=${MREG_BIN_DIR:-.build/debug}
  if [[ -z ${MREG_BIN_DIR:-} ]]; then
    "$SWIFT" build --product mreg
    "$SWIFT" build --product mreg-bench
  fi
else
  bin_dir=${MREG_BIN_DIR:-.build/release}
  if [[ -z ${MREG_BIN_DIR:-} ]]; then
    "$SWIFT" build -c release --product mreg --static-swift-stdlib
    "$SWIFT" build -c release --product mreg-bench --static-swift-stdlib
  fi
fi

exec "$PYTHON" bench/httpbench.py --bin-dir "$bin_dir" "$@"
