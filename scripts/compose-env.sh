#!/usr/bin/env bash
# Writes a .env for docker compose to stdout: .env.example with every empty secret (a *_PASSWORD, *_SECRET, *_SIGNING_KEY or *_COOKIE
# left blank there) filled with 48 random hex digits, so no deployment runs on a secret anyone can read in this repo.
#   scripts/compose-env.sh > .env      then set LLM_ENDPOINT / LLM_MODEL / LLM_API_KEY in .env
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v openssl >/dev/null || { echo "compose-env.sh: needs openssl" >&2; exit 1; }
while IFS= read -r line || [ -n "$line" ]; do
  if [[ "$line" =~ ^([A-Z0-9_]*(PASSWORD|SECRET|SIGNING_KEY|COOKIE))=$ ]]; then
    echo "${BASH_REMATCH[1]}=$(openssl rand -hex 24)"
  else
    echo "$line"
  fi
done < .env.example
