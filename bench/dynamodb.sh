#!/usr/bin/env bash
# DynamoDB benchmark: nuage (release build) against moto's server (PyPI), PutItem, GetItem
# and Query throughput and p99 latency with wrk (16 connections), and peak RSS.
# Usage: bench/dynamodb.sh [seconds-per-measurement]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q 'moto[server]' boto3 requests psutil
cargo build --release --quiet -p nuage
exec bench/.venv/bin/python bench/dynamodb_bench.py --nuage target/release/nuage --seconds "${1:-10}"
