#!/usr/bin/env bash
# COPY from S3 into a cluster (nuage, release build) against DuckDB's read_csv on the same
# files, in one run: the seven TICKIT files of the built-in sample bucket, and a ~1 GB
# pipe-delimited file (TPC-H lineitem); then the Data API's round trip for a one-row query.
# Usage: bench/copy.sh [lineitem scale factor, default 1.4 (about 1 GB)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q duckdb psycopg2-binary boto3 pytest
cargo build --release --quiet -p nuage -p nuage-warehouse --bin nuage --example tpch
exec bench/.venv/bin/python bench/copy/bench.py --nuage target/release/nuage --tpch target/release/examples/tpch \
  --sf "${1:-1.4}"
