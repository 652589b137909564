#!/usr/bin/env bash
# make bench: a separate venv with ringwatch and its peers, then every benchmark.
# Results: bench/results/*.json; summary: docs/benchmarks.md. Bounded: ~8-11 minutes (the fault harness, bench/faults.py, adds ~3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
VENV=bench/.venv
STAMP=$VENV/.installed
if [[ ! -x $VENV/bin/python ]]; then
    "$PY" -m venv "$VENV"
fi
if [[ ! -f $STAMP || pyproject.toml -nt $STAMP || bench/requirements.txt -nt $STAMP || collectors/ami/_speedups.c -nt $STAMP ]]; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e '.[audio]'
    # the peers: pyst2 is optional (old packaging); the others are required
    "$VENV/bin/pip" install -q asterisk-ami==0.1.7 panoramisk==1.4
    "$VENV/bin/pip" install -q pyst2==0.5.1 || echo "bench: pyst2 did not install; measured without it"
    "$VENV/bin/pip" install -q py-spy pyinstrument || echo "bench: profilers did not install"
    touch "$STAMP"
fi
exec "$VENV/bin/python" -m bench.run "$@"
