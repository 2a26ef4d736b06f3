#!/bin/sh
# The benchmark tables (bench/run.py) with the active Python: ./bench/run.sh [--quick]
cd "$(dirname "$0")/.." && exec "${PYTHON:-python3}" bench/run.py "$@"
