#!/usr/bin/env bash
# TPC-H through the wire protocol: nuage (release build) against DuckDB (PyPI, in-process, on
# the same data) and PostgreSQL 15 (Debian's packages, on loopback), measured in one run.
# Usage: bench/tpch.sh [scale factor, default 1] [runs per query, default 3] [--no-postgres] [--queries 5,7]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null || echo "PostgreSQL could not be installed: it is left out" >&2
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q duckdb psycopg2-binary boto3
cargo build --release --quiet -p nuage -p nuage-warehouse --bin nuage --example tpch
exec bench/.venv/bin/python bench/tpch/bench.py --nuage target/release/nuage --tpch target/release/examples/tpch "${@:3}" \
  --sf "${1:-1}" --runs "${2:-3}"
