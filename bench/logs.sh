#!/usr/bin/env bash
# CloudWatch Logs: PutLogEvents ingest rate (aim >= 200,000 events/s) and a Logs Insights
# `stats count(*), count_distinct(ip) by bin(5m), status` over 1,000,000 events (aim <= 1 s),
# nuage (release build) against moto's server in the same run, and nuage's peak RSS.
# Usage: bench/logs.sh [events, default 1000000]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q 'moto[server]' boto3
nuage=${NUAGE_BIN:-target/release/nuage}
if [ -z "${NUAGE_BIN:-}" ]; then cargo build --release --quiet -p nuage --bin nuage; fi
exec bench/.venv/bin/python bench/logs/bench.py --nuage "$nuage" --events "${1:-1000000}"
