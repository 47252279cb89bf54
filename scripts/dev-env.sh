# shellcheck shell=bash
# The local development settings that scripts/run.sh and scripts/vocabctl share, so the admin CLI talks to what
# run.sh runs: the services' addresses (.services/env, written by scripts/services.sh), a development JWT key and
# plaintext allowed. Sourced, never run; starts nothing. Settings already in the environment win.
_vocab_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$_vocab_root/.services/env" ]; then
  echo "[dev-env] $_vocab_root/.services/env is missing: start the services first (scripts/run.sh or scripts/services.sh up)" >&2
  return 1
fi
# shellcheck disable=SC1091
source "$_vocab_root/.services/env"
# Set before sourcing: one address for every app (an external broker). Unset: each app its own account by role,
# vocabctl as vocab-ops (scripts/run.sh gives the worker and the bridge theirs).
if [ -n "${ConnectionStrings__RabbitMq:-}" ]; then export VOCAB_RABBITMQ_GIVEN="$ConnectionStrings__RabbitMq"; fi
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-${VOCAB_RABBITMQ_OPS_URI:-$VOCAB_RABBITMQ_URI}}"
export ConnectionStrings__Mongo="${ConnectionStrings__Mongo:-$VOCAB_MONGO_URI}"
if [ -z "${Jwt__Keys__0__Secret:-}${Jwt__Keys__0__PublicKeyPem:-}" ]; then
  if [ ! -f "$_vocab_root/.services/dev.env" ]; then
    (umask 077 && printf "export Jwt__Keys__0__Id='dev'\nexport Jwt__Keys__0__Algorithm='HS256'\nexport Jwt__Keys__0__Secret='%s'\n" \
      "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')" > "$_vocab_root/.services/dev.env")
    echo "[dev-env] generated a development JWT key in .services/dev.env" >&2
  fi
  # shellcheck disable=SC1091
  source "$_vocab_root/.services/dev.env"
fi
# Dead-letter copies are signed by the worker and verified by vocabctl before a replay: both need the same key.
if [ -z "${DeadLetter__SigningKey:-}" ]; then
  if [ ! -f "$_vocab_root/.services/dead-letter.env" ]; then
    (umask 077 && printf "export DeadLetter__SigningKey='%s'\n" "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')" \
      > "$_vocab_root/.services/dead-letter.env")
    echo "[dev-env] generated a development dead-letter signing key in .services/dead-letter.env" >&2
  fi
  # shellcheck disable=SC1091
  source "$_vocab_root/.services/dead-letter.env"
fi
# The local development run is the one place plaintext is allowed: the MongoDB stand-in speaks no TLS and everything
# stays on loopback. appsettings.Production.json (and docker-compose) turn Security:RequireTls on.
export Security__RequireTls="${Security__RequireTls:-false}"
unset _vocab_root
