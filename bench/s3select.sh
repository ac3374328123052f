#!/usr/bin/env bash
# S3 Select (nuage, release build) against DuckDB on the same ~1 GB CSV of web-server log
# lines and the same queries, measured in one run; with nuage's peak RSS.
# Usage: bench/s3select.sh [rows, default 10000000 (about 1 GB)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q duckdb boto3
nuage=${NUAGE_BIN:-target/release/nuage}
if [ -z "${NUAGE_BIN:-}" ]; then cargo build --release --quiet -p nuage --bin nuage; fi
exec bench/.venv/bin/python bench/s3select/bench.py --nuage "$nuage" --rows "${1:-10000000}"
