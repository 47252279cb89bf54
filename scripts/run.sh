#!/usr/bin/env bash
# Runs Vocab on this machine: brings up RabbitMQ and MongoDB (installing what is missing), then the worker and the
# HTTP bridge (http://127.0.0.1:8080). Ctrl-C stops both.
# Secrets come from the environment (see README: Configuration); when none are set, a development JWT key is generated
# once into .services/dev.env and the LLM key defaults to a placeholder for a local Ollama.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export Llm__ApiKey="${Llm__ApiKey:-ollama}"
# Say first whether there is an LLM to talk to: without one every request ends as llm_unavailable.
llm="${Llm__Endpoint:-http://127.0.0.1:11434/v1}"
if command -v curl >/dev/null && curl -fsS -m 5 -H "Authorization: Bearer $Llm__ApiKey" "${llm%/}/models" >/dev/null 2>&1; then
  echo "[run] LLM endpoint $llm (Llm:Endpoint) answered; model ${Llm__Model:-llama3.1} (Llm:Model)" >&2
else
  echo "[run] LLM endpoint $llm (Llm:Endpoint) did not answer: set Llm__Endpoint, Llm__Model and Llm__ApiKey" \
    "(OpenAI https://api.openai.com/v1, Ollama http://127.0.0.1:11434/v1, vLLM http://host:8000/v1); starting anyway" >&2
fi
scripts/services.sh up
# shellcheck disable=SC1091
source .services/env
# Each process on its own broker account (rabbitmq/definitions.json): ConnectionStrings__RabbitMq, when set, wins for both.
worker_rabbitmq="${ConnectionStrings__RabbitMq:-$VOCAB_RABBITMQ_WORKER_URI}"
bridge_rabbitmq="${ConnectionStrings__RabbitMq:-$VOCAB_RABBITMQ_BRIDGE_URI}"
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
# The local development run is the one place plaintext is allowed: the MongoDB stand-in speaks no TLS and everything
# stays on loopback. appsettings.Production.json (and docker-compose) turn Security:RequireTls on.
export Security__RequireTls="${Security__RequireTls:-false}"
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://127.0.0.1:8080}"

dotnet build Vocab.sln -c Release --nologo -v quiet
ConnectionStrings__RabbitMq="$worker_rabbitmq" dotnet run --project src/Worker -c Release --no-build &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
echo "[run] worker started (pid $worker); bridge on $ASPNETCORE_URLS" >&2
ConnectionStrings__RabbitMq="$bridge_rabbitmq" dotnet run --project src/HttpBridge -c Release --no-build
