#!/usr/bin/env bash
# `make bench-compare`: mreg and MLflow side by side (see BENCHMARKS.md and bench/compare.py).
#
# Installs MLflow from PyPI into bench/.mlflow/venv the first time (several minutes, ~850 MB;
# kept across runs, ignored by git), builds the release binary, then runs bench/compare.py.
# Environment: SWIFT, PYTHON (the interpreter for the venv, python3), MLFLOW_VERSION (3.17.2),
# COMPARE_ROUNDS (3), COMPARE_DURATION (seconds per cell, 2), MREG_BIN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PYTHON=${PYTHON:-python3}
export MLFLOW_VERSION=${MLFLOW_VERSION:-3.17.2}
venv=bench/.mlflow/venv

scripts/install-deps.sh python3 python3-venv wrk

if ! "$venv/bin/python" -c "import sys, mlflow; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
  echo "Installing mlflow==$MLFLOW_VERSION into $venv (first time: several minutes)" >&2
  # A virtualenv left half-made (no pip) is made again; a good one is kept and upgraded in place.
  if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
fi

bin_dir=${MREG_BIN_DIR:-.build/release}
if [[ -z ${MREG_BIN_DIR:-} ]]; then
  "$SWIFT" build -c release --product mreg --static-swift-stdlib
fi

exec "$PYTHON" bench/compare.py --bin-dir "$bin_dir" "$@"
