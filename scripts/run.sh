#!/usr/bin/env bash
# Runs Vocab on this machine: brings up RabbitMQ and MongoDB (installing what is missing), then the worker.
# Secrets come from the environment (see README: Configuration); when none are set, a development JWT key is generated
# once into .services/dev.env and the LLM key defaults to a placeholder for a local Ollama.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-$VOCAB_RABBITMQ_URI}"
export ConnectionStrings__Mongo="${ConnectionStrings__Mongo:-$VOCAB_MONGO_URI}"
if [ -z "${Jwt__Keys__0__Secret:-}${Jwt__Keys__0__PublicKeyPem:-}" ]; then
  if [ ! -f .services/dev.env ]; then
    umask 077
    printf "export Jwt__Keys__0__Id='dev'\nexport Jwt__Keys__0__Algorithm='HS256'\nexport Jwt__Keys__0__Secret='%s'\n" \
      "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')" > .services/dev.env
    echo "[run] generated a development JWT key in .services/dev.env" >&2
  fi
  # shellcheck disable=SC1091
  source .services/dev.env
fi
export Llm__ApiKey="${Llm__ApiKey:-ollama}"
exec dotnet run --project src/Worker -c Release
