#!/usr/bin/env bash
# Runs every benchmark against the real services and writes docs/benchmarks.md (a few minutes).
# Never part of the test run. Pass parts to run only some: micro latency e2e bridge tls llm flood; --messages N, --rounds N;
# --quick for a developer's check in under two minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
# --quick (under two minutes) writes .services/benchmarks-quick.md; only a full run rewrites the report.
out="$root/docs/benchmarks.md"
for arg in "$@"; do [ "$arg" = "--quick" ] && out="$root/.services/benchmarks-quick.md"; done
dotnet run -c Release --project bench/Vocab.Benchmarks -- --out "$out" "$@"
