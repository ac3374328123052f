#!/usr/bin/env bash
# Large objects: a 1 GiB single PUT and GET through nuage (release build) with curl on
# presigned URLs, beside `dd ... conv=fsync` writing and nginx serving the same bytes in the
# same run, and a 5 GiB multipart upload; nuage's peak RSS over its idle RSS for each.
# Usage: bench/large.sh [object GiB] [multipart GiB]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive
if ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nginx-light curl
fi
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q boto3
cargo build --release --quiet -p nuage
bin=${CARGO_TARGET_DIR:-target}/release/nuage
out=$(bench/.venv/bin/python bench/large_bench.py --nuage "$bin" --size-gib "${1:-1}" --multipart-gib "${2:-5}")
echo "$out"
{ echo "# bench/large.sh, $(date -u +%F), commit $(git rev-parse --short HEAD)"; echo "$out"; } >bench/large/last-run.txt
