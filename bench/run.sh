#!/usr/bin/env bash
# Runs every benchmark against the real services and writes docs/benchmarks.md (a few minutes).
# Never part of the test run. Pass parts to run only some: micro latency e2e bridge; --messages N, --rounds N.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
dotnet run -c Release --project bench/Vocab.Benchmarks -- --out "$root/docs/benchmarks.md" "$@"
