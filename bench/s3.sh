#!/usr/bin/env bash
# S3 benchmark: nuage (release build) against moto's server (PyPI) and, as this machine's
# ceiling, nginx serving a static 4 KiB file, measured in one run with wrk (16 connections).
# Usage: bench/s3.sh [seconds-per-measurement]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk nginx-light
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q 'moto[server]' boto3 requests psutil
cargo build --release --quiet -p nuage
exec bench/.venv/bin/python bench/s3_bench.py --nuage target/release/nuage --seconds "${1:-10}"
