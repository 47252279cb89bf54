#!/usr/bin/env bash
# Brings up the services the apps and tests need: RabbitMQ (with the management API) and MongoDB.
# Usage: scripts/services.sh up|down|status|accounts|browser | cluster up|down | mongo restart
# Honours VOCAB_RABBITMQ_URI / VOCAB_MONGO_URI when set (e.g. docker compose's real MongoDB);
# otherwise installs Debian's rabbitmq-server and the jongodb MongoDB stand-in and starts them in the background.
# Writes .services/env with the addresses; `source .services/env` to use them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.services"
mkdir -p "$state"

JONGODB_VERSION=0.1.6
MONGO_PORT="${VOCAB_MONGO_PORT:-27018}"
RABBIT_PIDFILE="$state/rabbitmq.pid"
MONGO_PIDFILE="$state/jongodb.pid"

log() { echo "[services] $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  # apt-get update once per script run: a fresh machine's package lists are empty or stale.
  if [ -z "${_apt_updated:-}" ]; then as_root apt-get update -qq; _apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
rabbit_ping() { timeout 15 rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
management_ready() { curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }

CERTS="$state/certs"
TLS_DIR=/etc/rabbitmq/vocab-tls
RABBIT_CONF=/etc/rabbitmq/rabbitmq.conf
CONF_MARKER="# managed by Vocab's scripts/services.sh"

# The AMQPS listener (5671) next to plain AMQP, with the local CA's broker certificate. Client certificates are
# verified when presented (mutual TLS) but not required.
rabbit_tls_config() {
  command -v openssl >/dev/null || apt_install openssl
  "$root/scripts/certs.sh" "$CERTS" >/dev/null
  # Another checkout's certificates may be loaded: a running broker must then restart with these.
  if ! cmp -s "$CERTS/broker.pem" "$TLS_DIR/broker.pem" 2>/dev/null; then tls_changed=1; fi
  as_root install -d -m 755 "$TLS_DIR"
  as_root install -m 644 "$CERTS/ca.pem" "$CERTS/broker.pem" "$TLS_DIR/"
  as_root install -m 640 -o rabbitmq -g rabbitmq "$CERTS/broker.key" "$TLS_DIR/"
  if [ -f "$RABBIT_CONF" ] && ! grep -qF "$CONF_MARKER" "$RABBIT_CONF"; then
    log "$RABBIT_CONF exists and is not ours: leaving it; AMQPS may be off"; return
  fi
  as_root tee "$RABBIT_CONF" >/dev/null <<CONF
$CONF_MARKER
listeners.tcp.default = 5672
listeners.ssl.default = 5671
ssl_options.cacertfile = $TLS_DIR/ca.pem
ssl_options.certfile = $TLS_DIR/broker.pem
ssl_options.keyfile = $TLS_DIR/broker.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
management.tcp.port = 15672
consumer_timeout = 1800000
CONF
}

# Test nodes the default node still lists as cluster members but that do not run (a cluster test cut short): forgotten,
# with their data, so the default node stands alone and `cluster up` starts them afresh.
forget_stopped_test_nodes() {
  local host n name; host="$(short_host)"
  for n in "${CLUSTER_NODES[@]}"; do
    name="vocab$n@$host"
    timeout 15 rabbitmqctl -q -n "$name" ping >/dev/null 2>&1 && continue
    [ -d "/var/lib/rabbitmq/vocab$n" ] || rabbitmqctl -q cluster_status 2>/dev/null | grep -q "$name" || continue
    log "forgetting stopped test node $name"
    as_root rabbitmqctl -q forget_cluster_node "$name" >/dev/null 2>&1 || true
    as_root rm -rf "/var/lib/rabbitmq/vocab$n"
  done
}

rabbit_up() {
  if [ -n "${VOCAB_RABBITMQ_URI:-}" ]; then log "RabbitMQ: using VOCAB_RABBITMQ_URI"; return; fi
  command -v curl >/dev/null || apt_install curl
  if ! command -v rabbitmq-server >/dev/null; then
    log "installing rabbitmq-server (apt)"
    apt_install rabbitmq-server
  fi
  tls_changed=0
  rabbit_tls_config
  if management_ready && port_open 127.0.0.1 5671 && [ "$tls_changed" = 0 ]; then log "RabbitMQ already running (AMQP and AMQPS)"; return; fi
  if management_ready; then
    log "RabbitMQ runs without this checkout's AMQPS listener or certificate: restarting it with TLS"
    as_root rabbitmqctl shutdown >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do port_open 127.0.0.1 5672 || break; sleep 1; done
  fi
  as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  if ! rabbit_ping; then
    # A cluster test cut short (machine stopped or snapshotted mid-run) leaves this node clustered with vocab2/vocab3,
    # which are not running: it would wait for them for five minutes and then give up. force_boot starts it alone.
    if as_root grep -qsE "vocab[0-9]+@" "/var/lib/rabbitmq/mnesia/rabbit@$(short_host)/cluster_nodes.config"; then
      log "the default node was left clustered with test nodes that are not running: starting it alone (force_boot)"
      as_root rabbitmqctl force_boot >/dev/null 2>&1 || true
      forced_boot=1
    fi
    log "starting RabbitMQ in the background"
    # The /usr/sbin wrapper switches to the rabbitmq user so the Erlang cookie matches.
    as_root env RABBITMQ_PID_FILE=/var/lib/rabbitmq/vocab.pid \
      nohup rabbitmq-server >"$state/rabbitmq.log" 2>&1 &
    echo "/var/lib/rabbitmq/vocab.pid" > "$RABBIT_PIDFILE"
  fi
  for _ in $(seq 1 120); do
    if management_ready && port_open 127.0.0.1 5672 && port_open 127.0.0.1 5671; then
      # Only after a forced boot: a cluster test may be stopping and starting nodes at any other time.
      if [ "${forced_boot:-0}" = 1 ]; then forget_stopped_test_nodes; fi
      log "RabbitMQ ready (AMQP, AMQPS and management API)"; return
    fi
    sleep 1
  done
  log "RabbitMQ did not become ready; last log lines:"; tail -n 30 "$state/rabbitmq.log" >&2 || true
  exit 1
}

# The broker accounts by role of rabbitmq/definitions.json (vocab-publisher, vocab-worker, vocab-bridge, vocab-ops,
# vocab-events), added on vhost / with exactly the permissions the definitions give them. Passwords come from
# RABBITMQ_<ROLE>_PASSWORD; unset, a local-development default (vocab-<role>-dev) that only this loopback broker knows.
# Only these users are written: guest and every other account stay as they are.
role_password() { local variable="RABBITMQ_${1^^}_PASSWORD"; echo "${!variable:-vocab-$1-dev}"; }
rabbit_accounts() {
  if [ -n "${VOCAB_RABBITMQ_URI:-}" ]; then log "RabbitMQ: external; create the accounts of rabbitmq/definitions.json there"; return; fi
  command -v jq >/dev/null || apt_install jq
  local definitions="$root/rabbitmq/definitions.json" api="http://127.0.0.1:15672/api" user
  for user in $(jq -r '.users[].name | select(startswith("vocab-"))' "$definitions"); do
    # Tags as defined: vocab-ops has `management`, so the ops console can read queue depths from the management API.
    jq -n --arg password "$(role_password "${user#vocab-}")" \
      --arg tags "$(jq -r --arg user "$user" '.users[] | select(.name == $user) | .tags | join(",")' "$definitions")" \
      '{password: $password, tags: $tags}' \
      | curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' --data @- "$api/users/$user" >/dev/null
    jq -c --arg user "$user" '.permissions[] | select(.user == $user and .vhost == "/") | {configure, write, read}' "$definitions" \
      | curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' --data @- "$api/permissions/%2F/$user" >/dev/null
  done
  log "RabbitMQ accounts by role ready on vhost / (rabbitmq/definitions.json)"
}

# amqp:// address of a role's account on the local broker (or the external address, when one is given).
role_uri() {
  if [ -n "${VOCAB_RABBITMQ_URI:-}" ]; then echo "$VOCAB_RABBITMQ_URI"; else echo "amqp://vocab-$1:$(role_password "$1")@127.0.0.1:5672/"; fi
}

jongodb_bin() { echo "$state/jongodb-$JONGODB_VERSION/package/bin/jongodb"; }

mongo_up() {
  if [ -n "${VOCAB_MONGO_URI:-}" ]; then log "MongoDB: using VOCAB_MONGO_URI"; return; fi
  if [ -f "$MONGO_PIDFILE" ] && kill -0 "$(cat "$MONGO_PIDFILE")" 2>/dev/null; then
    log "jongodb already running"; return
  fi
  if port_open 127.0.0.1 "$MONGO_PORT"; then
    log "something already listens on 127.0.0.1:$MONGO_PORT (another checkout's jongodb?); using it"; return
  fi
  local bin; bin="$(jongodb_bin)"
  if [ ! -x "$bin" ]; then
    command -v npm >/dev/null || apt_install npm
    log "fetching jongodb $JONGODB_VERSION (npm)"
    local dir="$state/jongodb-$JONGODB_VERSION"; mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "@jongodb/memory-server-bin-linux-x64-gnu@$JONGODB_VERSION" >/dev/null \
      && tar xzf ./*.tgz && rm -f ./*.tgz)
  fi
  log "starting jongodb (MongoDB stand-in) on 127.0.0.1:$MONGO_PORT"
  nohup "$bin" --host=127.0.0.1 --port="$MONGO_PORT" >"$state/jongodb.log" 2>&1 &
  echo $! > "$MONGO_PIDFILE"
  for _ in $(seq 1 60); do
    if grep -q '^JONGODB_URI=' "$state/jongodb.log" 2>/dev/null; then log "jongodb ready"; return; fi
    sleep 0.5
  done
  log "jongodb did not start:"; cat "$state/jongodb.log" >&2; exit 1
}

# A fresh stand-in: jongodb's writes slow with every document it holds, so long load tests start it empty.
mongo_restart() {
  # Someone else's MongoDB (a URI other than this stand-in's own) is never restarted.
  if [ -n "${VOCAB_MONGO_URI:-}" ] && [ "$VOCAB_MONGO_URI" != "mongodb://127.0.0.1:$MONGO_PORT" ]; then
    log "MongoDB: using VOCAB_MONGO_URI (not restarted)"; return
  fi
  unset VOCAB_MONGO_URI
  if [ -f "$MONGO_PIDFILE" ]; then
    local pid; pid="$(cat "$MONGO_PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$MONGO_PIDFILE"
  fi
  for _ in $(seq 1 50); do port_open 127.0.0.1 "$MONGO_PORT" || break; sleep 0.2; done
  mongo_up
}

# The Python (pika, from Debian) and Node (amqplib, from npm) clients the README's publisher recipes use; the tests run them.
PUBLISHERS="$state/publishers"
AMQPLIB_VERSION=2.3.1
publishers_up() {
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import pika" 2>/dev/null || apt_install python3 python3-pika
  if [ ! -f "$PUBLISHERS/node/node_modules/amqplib/package.json" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$PUBLISHERS/node"
    log "installing amqplib $AMQPLIB_VERSION (npm)"
    npm install --silent --no-audit --no-fund --prefix "$PUBLISHERS/node" "amqplib@$AMQPLIB_VERSION" >/dev/null
  fi
}

# The README's first run calls the bridge with curl and reads vocabctl's JSON with jq.
tools_up() { if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then apt_install curl jq; fi; }

# The ops console's browser tests drive Debian's chromium headless through Debian's chromium-driver (Selenium).
browser_up() { if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then log "installing chromium and chromium-driver (apt)"; apt_install chromium chromium-driver; fi; }

# The OpenID provider (npm oidc-provider, a certified implementation) the identity tests start from tests/OidcProvider.
OIDC="$state/oidc"
OIDC_PROVIDER_VERSION=9.13.3
oidc_up() {
  if [ ! -f "$OIDC/node_modules/oidc-provider/package.json" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$OIDC"
    log "installing oidc-provider $OIDC_PROVIDER_VERSION (npm)"
    npm install --silent --no-audit --no-fund --prefix "$OIDC" "oidc-provider@$OIDC_PROVIDER_VERSION" >/dev/null
  fi
}

write_env() {
  local rabbit="${VOCAB_RABBITMQ_URI:-amqp://guest:guest@127.0.0.1:5672/}"
  local mgmt="${VOCAB_RABBITMQ_MANAGEMENT_URI:-http://guest:guest@127.0.0.1:15672/}"
  local mongo="${VOCAB_MONGO_URI:-mongodb://127.0.0.1:$MONGO_PORT}"
  local tls="${VOCAB_RABBITMQ_TLS_URI:-amqps://guest:guest@localhost:5671/}"
  cat > "$state/env" <<ENV
export VOCAB_RABBITMQ_TLS_URI='$tls'
export VOCAB_NODE_PATH='$PUBLISHERS/node/node_modules'
export VOCAB_CERTS_DIR='${VOCAB_CERTS_DIR:-$CERTS}'
export VOCAB_RABBITMQ_URI='$rabbit'
export VOCAB_RABBITMQ_MANAGEMENT_URI='$mgmt'
export VOCAB_MONGO_URI='$mongo'
export VOCAB_RABBITMQ_PUBLISHER_URI='${VOCAB_RABBITMQ_PUBLISHER_URI:-$(role_uri publisher)}'
export VOCAB_RABBITMQ_WORKER_URI='${VOCAB_RABBITMQ_WORKER_URI:-$(role_uri worker)}'
export VOCAB_RABBITMQ_BRIDGE_URI='${VOCAB_RABBITMQ_BRIDGE_URI:-$(role_uri bridge)}'
export VOCAB_RABBITMQ_OPS_URI='${VOCAB_RABBITMQ_OPS_URI:-$(role_uri ops)}'
export VOCAB_RABBITMQ_EVENTS_URI='${VOCAB_RABBITMQ_EVENTS_URI:-$(role_uri events)}'
ENV
  echo "RabbitMQ   $rabbit (management ${mgmt}; TLS $tls, CA ${VOCAB_CERTS_DIR:-$CERTS}/ca.pem)"
  echo "MongoDB    $mongo"
}

down() {
  if [ -f "$MONGO_PIDFILE" ]; then
    kill "$(cat "$MONGO_PIDFILE")" 2>/dev/null || true; rm -f "$MONGO_PIDFILE"; log "jongodb stopped"
  fi
  if [ -f "$RABBIT_PIDFILE" ]; then
    as_root rabbitmqctl shutdown >/dev/null 2>&1 || true; rm -f "$RABBIT_PIDFILE"; log "RabbitMQ stopped"
  fi
}

status() {
  if [ -n "${VOCAB_RABBITMQ_URI:-}" ]; then echo "RabbitMQ: external"; elif management_ready; then echo "RabbitMQ: up"; else echo "RabbitMQ: down"; fi
  if [ -n "${VOCAB_MONGO_URI:-}" ]; then echo "MongoDB: external"
  elif [ -f "$MONGO_PIDFILE" ] && kill -0 "$(cat "$MONGO_PIDFILE")" 2>/dev/null; then echo "MongoDB (jongodb): up"
  else echo "MongoDB (jongodb): down"; fi
}

# A three-node RabbitMQ cluster on this host for the scale-out tests: the usual node (rabbit@host) plus vocab2 and vocab3,
# each with its own ports, data and config, joined to the first. Writes .services/cluster.env.
CLUSTER_NODES=(2 3)
short_host() { hostname -s; }
node_port() { echo $((5672 + 10 * ($1 - 1))); }

cluster_up() {
  rabbit_up
  local host; host="$(short_host)"
  for n in "${CLUSTER_NODES[@]}"; do
    local name="vocab$n@$host" port; port="$(node_port "$n")"
    local base="/var/lib/rabbitmq/vocab$n"
    if ! timeout 15 rabbitmqctl -q -n "$name" status >/dev/null 2>&1; then
      as_root install -d -o rabbitmq -g rabbitmq "$base" "$base/mnesia" "$base/log"
      printf 'listeners.tcp.default = %s\nmanagement.tcp.port = %s\nconsumer_timeout = 1800000\n' "$port" "$((port + 10000))" \
        | as_root tee "/etc/rabbitmq/vocab$n.conf" >/dev/null
      # A node started while another is still settling can fail its start-up checks: try twice. Each try waits for its
      # own server to answer (await_startup fails at once while the Erlang node is not up yet) and is started again only
      # if that server exited: two servers of one node name at once leave its data half written.
      for try in 1 2; do
        log "starting RabbitMQ node $name on $port (try $try)"
        as_root env RABBITMQ_NODENAME="$name" RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$((port + 20000))" \
          RABBITMQ_CONFIG_FILE="/etc/rabbitmq/vocab$n" RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
          RABBITMQ_PID_FILE="$base/pid" nohup rabbitmq-server >"$state/rabbitmq-vocab$n.log" 2>&1 &
        local server=$! started=0
        for _ in $(seq 1 120); do
          if timeout 30 rabbitmqctl -q -n "$name" await_startup >/dev/null 2>&1; then started=1; break; fi
          kill -0 "$server" 2>/dev/null || break
          sleep 1
        done
        [ "$started" = 1 ] && break
        kill "$server" 2>/dev/null || true
        [ "$try" = 2 ] && { log "node $name did not start:"; tail -n 20 "$state/rabbitmq-vocab$n.log" >&2; exit 1; }
        sleep 3
      done
    fi
    if ! rabbitmqctl -q -n "rabbit@$host" cluster_status 2>/dev/null | grep -q "$name"; then
      log "joining $name to rabbit@$host"
      rabbitmqctl -q -n "$name" stop_app >/dev/null
      rabbitmqctl -q -n "$name" reset >/dev/null
      rabbitmqctl -q -n "$name" join_cluster "rabbit@$host" >/dev/null
      rabbitmqctl -q -n "$name" start_app >/dev/null
    fi
    timeout 120 rabbitmqctl -q -n "$name" await_startup >/dev/null 2>&1 || { log "node $name did not finish starting"; exit 1; }
  done
  # Every node running in the cluster before anything declares a quorum queue: one declared while a node is still joining
  # gets fewer members, and then loses its quorum with one node.
  local running=0
  for _ in $(seq 1 60); do
    running=$(rabbitmqctl -q -n "rabbit@$host" cluster_status 2>/dev/null \
      | awk '/Running Nodes/ {f=1; next} /^$/ {if (f && n) exit; next} f && /@/ {n++} END {print n+0}')
    [ "$running" -ge 3 ] && break
    sleep 1
  done
  [ "$running" -ge 3 ] || { log "only $running of 3 nodes running in the cluster"; rabbitmqctl -q -n "rabbit@$host" cluster_status >&2 || true; exit 1; }
  cat > "$state/cluster.env" <<ENV
export VOCAB_RABBITMQ_CLUSTER_HOSTS='127.0.0.1:5672,127.0.0.1:$(node_port 2),127.0.0.1:$(node_port 3)'
ENV
  log "cluster ready: rabbit@$host, vocab2@$host, vocab3@$host"
}

cluster_down() {
  local host; host="$(short_host)"
  for n in "${CLUSTER_NODES[@]}"; do
    local name="vocab$n@$host"
    rabbitmqctl -q -n "$name" stop_app >/dev/null 2>&1 || true
    rabbitmqctl -q -n "rabbit@$host" forget_cluster_node "$name" >/dev/null 2>&1 || true
    rabbitmqctl -q -n "$name" shutdown >/dev/null 2>&1 || true
    as_root rm -rf "/var/lib/rabbitmq/vocab$n"
  done
  rm -f "$state/cluster.env"
  log "cluster nodes stopped"
}

case "${1:-up}" in
  cluster)
    case "${2:-up}" in
      up) cluster_up; rabbit_accounts; mongo_up; write_env ;;
      down) cluster_down ;;
      *) echo "usage: $0 cluster up|down" >&2; exit 2 ;;
    esac ;;
  up) rabbit_up; rabbit_accounts; mongo_up; publishers_up; tools_up; browser_up; oidc_up; write_env ;;
  browser) browser_up ;;
  oidc) oidc_up ;;
  # Adds the accounts to a broker that is already up (the addresses reach .services/env with the next `up`).
  accounts) rabbit_accounts; for role in publisher worker bridge ops events; do echo "vocab-$role  $(role_uri "$role")"; done ;;
  mongo)
    case "${2:-}" in
      restart) mongo_restart; write_env ;;
      *) echo "usage: $0 mongo restart" >&2; exit 2 ;;
    esac ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status|accounts|browser | cluster up|down | mongo restart" >&2; exit 2 ;;
esac
