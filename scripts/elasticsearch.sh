#!/usr/bin/env bash
# A real Elasticsearch for tests and local development: the integration-test distribution (core modules only)
# from Maven Central, on a free loopback port, security off, single node, 512 MB heap, data and logs in a temp
# directory.
#
#   scripts/elasticsearch.sh start   # prints the URL (last line of stdout); exit 0 once the cluster is healthy
#   scripts/elasticsearch.sh stop    # stops it and removes its temp directory
#   scripts/elasticsearch.sh java    # prints the Java 21+ home it would use, or fails saying why
#   scripts/elasticsearch.sh pid     # prints the process id of the server JVM (for fault tests: kill -STOP …)
#
#   export ELASTICSEARCH_URL=$(scripts/elasticsearch.sh start) && deno task test; scripts/elasticsearch.sh stop
#
# Environment: ES_STATE_DIR (where start records the running instance; default a fixed path under the temp
# directory, so one instance per user), ES_VERSION (default 9.1.5), ES_JAVA_HOME (else JAVA_HOME, else the
# newest JDK under /usr/lib/jvm, when 21 or newer), ES_START_TIMEOUT (seconds, default 180), ES_PORT (default:
# a free port), ES_DATA_DIR (keep data here instead of the temp directory, e.g. to restart on the same data;
# its parents must be traversable by the server's user).
# Elasticsearch refuses to run as root: as root the server runs as the system user `esrun` (created if
# needed); otherwise as the current user. Exit codes: 1 failure (with the log tail), 3 no Java 21+ or Maven.
set -euo pipefail

ES_VERSION=${ES_VERSION:-9.1.5}
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
M2=${M2_REPO:-$HOME/.m2/repository}
ZIP="$M2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/${ES_VERSION}/elasticsearch-${ES_VERSION}.zip"
STATE=${ES_STATE_DIR:-${TMPDIR:-/tmp}/dendrite-elasticsearch-$(id -u)}
RUN_USER=esrun

say() { echo "elasticsearch: $*" >&2; }

java_major() { "$1/bin/java" -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -n1; }

find_java() {
  local candidate
  for candidate in "${ES_JAVA_HOME:-}" "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidate=${candidate%/}
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    local major
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      echo "$candidate"
      return 0
    fi
  done
  say "no Java 21 or newer found (ES_JAVA_HOME, JAVA_HOME, /usr/lib/jvm); on Debian: apt-get install openjdk-21-jre-headless or a Temurin JDK"
  return 3
}

fetch_zip() {
  [ -f "$ZIP" ] && return 0
  command -v mvn >/dev/null 2>&1 || { say "Maven (mvn) is needed to fetch $ARTIFACT"; return 3; }
  say "fetching $ARTIFACT from Maven Central"
  mvn -q dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false >&2
  [ -f "$ZIP" ] || { say "Maven did not leave $ZIP"; return 1; }
}

# The unpacked distribution, shared by every instance (read-only for the server).
unpacked_home() {
  local cache
  if [ "$(id -u)" = 0 ]; then cache=/var/cache/dendrite; else cache=${XDG_CACHE_HOME:-$HOME/.cache}/dendrite; fi
  local home="$cache/elasticsearch-${ES_VERSION}"
  if [ ! -x "$home/bin/elasticsearch" ]; then
    mkdir -p "$cache"
    local tmp
    tmp=$(mktemp -d "$cache/unzip.XXXXXX")
    unzip -q "$ZIP" -d "$tmp"
    rm -rf "$home"
    mv "$tmp/elasticsearch-${ES_VERSION}" "$home"
    rm -rf "$tmp"
    chmod -R a+rX "$cache"
  fi
  echo "$home"
}

# A free port below the kernel's ephemeral range: programs that listen on port 0 (tests running meanwhile) are
# never handed it while the server boots, which takes tens of seconds before it binds.
free_port() {
  local low port
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 12000 ] || low=32768
  for _ in $(seq 1 100); do
    port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  say "no free port found below $low"
  return 1
}

log_tail() {
  local dir=$1
  say "--- first errors in the log ($dir) ---"
  grep -m 5 -E "^(ERROR|Caused by|[a-z.]+Exception)|BindException|Exception:" "$dir/console.log" >&2 2>/dev/null || true
  say "--- last lines of the log ---"
  tail -n 40 "$dir/console.log" >&2 2>/dev/null || true
}

stop() {
  [ -f "$STATE/pid" ] || { say "not running (no $STATE/pid)"; return 0; }
  local pid
  pid=$(cat "$STATE/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  local tmp server
  tmp=$(cat "$STATE/dir" 2>/dev/null || true)
  server=$(cat "$tmp/server.pid" 2>/dev/null || true)
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -CONT "$server" 2>/dev/null || true
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$server" 2>/dev/null && kill -KILL "$server" 2>/dev/null || true
  fi
  [ -n "$tmp" ] && rm -rf "$tmp"
  rm -rf "$STATE"
  say "stopped"
}

start() {
  if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
    say "already running (pid $(cat "$STATE/pid"))"
    cat "$STATE/url"
    return 0
  fi
  rm -rf "$STATE"
  local java home port dir data user=""
  java=$(find_java) || return 3
  fetch_zip || return $?
  home=$(unpacked_home)
  port=${ES_PORT:-$(free_port)} || return 1
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dendrite-es.XXXXXX")
  data=${ES_DATA_DIR:-$dir/data}
  mkdir -p "$dir/logs" "$dir/tmp" "$data"
  cp -r "$home/config" "$dir/config"
  if [ "$(id -u)" = 0 ]; then
    id "$RUN_USER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$RUN_USER"
    chown -R "$RUN_USER" "$dir" "$data"
    chmod a+x "$dir"
    user=$RUN_USER
  fi
  mkdir -p "$STATE"
  echo "$dir" >"$STATE/dir"
  local url="http://127.0.0.1:$port"
  local -a env=(ES_JAVA_HOME="$java" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" ES_JAVA_OPTS="-Xms512m -Xmx512m")
  local -a cmd=("$home/bin/elasticsearch" -p "$dir/server.pid" -Expack.security.enabled=false -Ediscovery.type=single-node
    -Ehttp.host=127.0.0.1 -Ehttp.port="$port" -Etransport.host=127.0.0.1 -Etransport.port=0
    -Epath.data="$data" -Epath.logs="$dir/logs" -Ecluster.name=dendrite-test
    -Ecluster.routing.allocation.disk.threshold_enabled=false)
  say "starting Elasticsearch ${ES_VERSION} on $url (Java $(java_major "$java"), home $home, files $dir)"
  (
    cd "$dir"
    if [ -n "$user" ]; then
      exec runuser -u "$user" -- env "${env[@]}" "${cmd[@]}"
    else
      exec env "${env[@]}" "${cmd[@]}"
    fi
  ) </dev/null >"$dir/console.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$STATE/pid"
  echo "$url" >"$STATE/url"
  local deadline=$((SECONDS + ${ES_START_TIMEOUT:-180}))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the server exited during start-up"
      log_tail "$dir"
      stop
      return 1
    fi
    if curl -sf "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      say "healthy after $((SECONDS))s"
      echo "$url"
      return 0
    fi
    sleep 1
  done
  say "not healthy within ${ES_START_TIMEOUT:-180}s"
  log_tail "$dir"
  stop
  return 1
}

server_pid() {
  local dir
  dir=$(cat "$STATE/dir" 2>/dev/null) || { say "not running"; return 1; }
  cat "$dir/server.pid"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
java) find_java ;;
pid) server_pid ;;
*)
  echo "usage: $0 start|stop|java|pid" >&2
  exit 2
  ;;
esac
