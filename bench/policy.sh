#!/usr/bin/env bash
# Evaluations per second of the IAM policy evaluator on a realistic policy set (release build,
# one core). The S3 cost of enforcement is measured by bench/s3.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p nuage-policy --example eval_bench
