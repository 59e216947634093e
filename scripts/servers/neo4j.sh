#!/usr/bin/env bash
# Local embedded Neo4j 5.26 LTS (community) serving Bolt, for eventlens tests. No Docker, no
# tarball download: the database's jars come from Maven Central through
# scripts/servers/neo4j/pom.xml, and scripts/servers/neo4j/EmbeddedNeo4j.java (compiled with javac
# at install time) runs a DatabaseManagementService with the Bolt connector on the machine's Java 17.
#
# Usage: scripts/servers/neo4j.sh <command> [PORT]
#   install        resolve the jars into $NEO4J_HOME/libs and compile the main class (idempotent)
#   start [PORT]   start in the background, wait until Bolt answers (installs first if needed)
#   stop [PORT]    stop the database started on PORT (SIGTERM: a clean shutdown) and wait for it
#   status [PORT]  exit 0 if running (and say whether it answers), 3 if not
#   clean [PORT]   delete the (stopped) database's data dir for a fresh graph
#
# PORT defaults to $NEO4J_PORT, else 17687. Bolt listens on 127.0.0.1:PORT with auth disabled;
# clients use bolt://127.0.0.1:PORT (neo4j://… works too). The HTTP connector is off.
#
# Environment:
#   EVENTLENS_SERVERS     root for installed servers (default ~/.eventlens-servers)
#   NEO4J_VERSION         org.neo4j:neo4j version (default 5.26.30, the 5.26 LTS line)
#   NEO4J_PORT            default port
#   NEO4J_HEAP_OPTS       JVM heap flags (default "-Xms128m -Xmx512m")
#   NEO4J_START_TIMEOUT   seconds to wait for readiness (default 90)
#   NEO4J_STOP_TIMEOUT    seconds to wait for a clean shutdown before SIGKILL (default 30)
#   JAVA_HOME             Java 17+ to use (default: java and javac on PATH)
#
# Layout under $EVENTLENS_SERVERS/neo4j:
#   libs/                   jars (+ .installed stamp)
#   classes/                EmbeddedNeo4j.class
#   data-PORT/              the database (Neo4j's data/ and logs/)
#   data-PORT/neo4j.out     JVM stdout/stderr
#   data-PORT/neo4j.pid     pid of the running database
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
POM="$SCRIPT_DIR/neo4j/pom.xml"
MAIN_SRC="$SCRIPT_DIR/neo4j/EmbeddedNeo4j.java"
NEO4J_VERSION=${NEO4J_VERSION:-5.26.30}
SERVERS_ROOT=${EVENTLENS_SERVERS:-$HOME/.eventlens-servers}
NEO4J_HOME="$SERVERS_ROOT/neo4j"
LIBS="$NEO4J_HOME/libs"
CLASSES="$NEO4J_HOME/classes"
HOST=127.0.0.1
DEFAULT_PORT=${NEO4J_PORT:-17687}
HEAP_OPTS=${NEO4J_HEAP_OPTS:--Xms128m -Xmx512m}
START_TIMEOUT=${NEO4J_START_TIMEOUT:-90}
STOP_TIMEOUT=${NEO4J_STOP_TIMEOUT:-30}
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
READY_LINE="EmbeddedNeo4j ready"

NAME=neo4j.sh
# shellcheck source=scripts/servers/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---------------------------------------------------------------- helpers

# Validates the port and sets the per-port paths. Sets globals rather than echoing: a `die`
# inside $(...) would only exit the subshell.
set_paths() {
    PORT=${1:-$DEFAULT_PORT}
    if ! [[ $PORT =~ ^[1-9][0-9]{3,4}$ ]] || (( PORT < 1024 || PORT > 65535 )); then
        die "invalid port '$PORT' (need 1024-65535)"
    fi
    DATA_DIR="$NEO4J_HOME/data-$PORT"
    OUT="$DATA_DIR/neo4j.out"
    PID_FILE="$DATA_DIR/neo4j.pid"
}

install_stamp() {
    # Ties libs/ and classes/ to the version, the pom and the main class, so editing any of them
    # re-installs instead of silently reusing what is there.
    echo "neo4j_version=$NEO4J_VERSION pom_sha256=$(sha256sum "$POM" | cut -d' ' -f1)" \
        "main_sha256=$(sha256sum "$MAIN_SRC" | cut -d' ' -f1)"
}

is_installed() {
    [[ -f "$LIBS/.installed" && "$(cat "$LIBS/.installed")" == "$(install_stamp)" \
        && -f "$CLASSES/EmbeddedNeo4j.class" ]]
}

# Prints the pid from the pid file if that process is alive and really is the database for this
# port (guards against a stale pid file whose pid was reused).
running_pid() {
    running_pid_of "EmbeddedNeo4j $DATA_DIR "
}

# True once Bolt accepts connections and the main class has said the database answered a query
# (since OUT_OFFSET, i.e. this start).
database_ready() {
    port_open "$PORT" && tail -c "+$((${OUT_OFFSET:-0} + 1))" "$OUT" 2>/dev/null | grep -qF "$READY_LINE"
}

show_log_tail() {
    local f
    for f in "$OUT" "$DATA_DIR/logs/debug.log"; do
        [[ -s $f ]] || continue
        log "---- last lines of $f ----"
        tail -n 25 "$f" >&2
    done
}

# ---------------------------------------------------------------- commands

cmd_install() {
    [[ -f $POM ]] || die "missing $POM"
    [[ -f $MAIN_SRC ]] || die "missing $MAIN_SRC"
    check_java "Neo4j 5"
    command -v "$JAVAC" >/dev/null 2>&1 || die "javac not found (install a JDK 17+, not only a JRE)"
    mkdir -p "$NEO4J_HOME"
    # Serialise concurrent installs on one lock; the fd is closed again afterwards so that a
    # database launched later by this same shell does not hold the lock for its lifetime.
    exec 9>"$NEO4J_HOME/.install.lock"
    flock 9
    install_locked
    exec 9>&-
}

install_locked() {
    if is_installed; then
        log "Neo4j $NEO4J_VERSION already installed in $NEO4J_HOME"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (install Maven 3.x)"
    log "resolving org.neo4j:neo4j:$NEO4J_VERSION from Maven Central into $LIBS ..."
    local tmp tmp_classes
    # Resolve and compile into temp dirs and swap them in, so an interrupted install never leaves
    # a half-filled libs/ that looks complete.
    tmp=$(mktemp -d "$NEO4J_HOME/libs.tmp.XXXXXX")
    tmp_classes=$(mktemp -d "$NEO4J_HOME/classes.tmp.XXXXXX")
    chmod 755 "$tmp" "$tmp_classes"
    if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" -DincludeScope=runtime \
            -Dneo4j.version="$NEO4J_VERSION" >"$NEO4J_HOME/install.log" 2>&1; then
        tail -n 40 "$NEO4J_HOME/install.log" >&2
        rm -rf "$tmp" "$tmp_classes"
        die "maven could not resolve Neo4j $NEO4J_VERSION (full output: $NEO4J_HOME/install.log)"
    fi
    [[ -f "$tmp/neo4j-$NEO4J_VERSION.jar" && -f "$tmp/neo4j-bolt-$NEO4J_VERSION.jar" ]] \
        || { rm -rf "$tmp" "$tmp_classes"; die "neo4j-$NEO4J_VERSION.jar or neo4j-bolt missing after resolve"; }
    if ! "$JAVAC" -nowarn -cp "$tmp/*" -d "$tmp_classes" "$MAIN_SRC" >>"$NEO4J_HOME/install.log" 2>&1; then
        tail -n 40 "$NEO4J_HOME/install.log" >&2
        rm -rf "$tmp" "$tmp_classes"
        die "javac could not compile $MAIN_SRC against Neo4j $NEO4J_VERSION"
    fi
    install_stamp >"$tmp/.installed"
    # A database still running from the old libs/ keeps its open jars until restarted.
    rm -rf "$LIBS.old" "$CLASSES.old"
    [[ -d $LIBS ]] && mv "$LIBS" "$LIBS.old"
    [[ -d $CLASSES ]] && mv "$CLASSES" "$CLASSES.old"
    mv "$tmp_classes" "$CLASSES"
    mv "$tmp" "$LIBS"
    rm -rf "$LIBS.old" "$CLASSES.old"
    log "installed Neo4j $NEO4J_VERSION ($(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1))"
}

cmd_start() {
    set_paths "${1:-}"
    is_installed || cmd_install
    check_java "Neo4j 5"

    local pid
    OUT_OFFSET=$(stat -c %s "$OUT" 2>/dev/null || echo 0)
    if pid=$(running_pid); then
        if port_open "$PORT"; then
            log "already running (pid $pid) on $HOST:$PORT"
            return 0
        fi
        log "already running (pid $pid) but not answering yet; waiting"
        OUT_OFFSET=0
    else
        rm -f "$PID_FILE"
        port_open "$PORT" && die "port $PORT on $HOST is already in use by another process"
        mkdir -p "$DATA_DIR"
        printf '\n==== %s starting Neo4j %s on %s:%s ====\n' "$(date -Is)" "$NEO4J_VERSION" "$HOST" "$PORT" >>"$OUT"
        OUT_OFFSET=$(stat -c %s "$OUT")
        local -a heap
        read -r -a heap <<<"$HEAP_OPTS"
        # The main class rewrites PID_FILE with the same pid once the database is ready.
        launch_detached "$OUT" database \
            "$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
            -cp "$LIBS/*:$CLASSES" EmbeddedNeo4j "$DATA_DIR" "$HOST" "$PORT" "$PID_FILE"
        pid=$LAUNCHED_PID
        log "started Neo4j $NEO4J_VERSION (pid $pid), waiting up to ${START_TIMEOUT}s for $HOST:$PORT ..."
    fi

    wait_ready "$pid" database database_ready "output in $OUT"
    log "ready: bolt://$HOST:$PORT (pid $pid, data $DATA_DIR)"
}

cmd_stop() {
    set_paths "${1:-}"
    stop_server database
}

cmd_status() {
    set_paths "${1:-}"
    local pid
    if pid=$(running_pid); then
        if port_open "$PORT"; then
            echo "neo4j: running (pid $pid), ready at bolt://$HOST:$PORT"
        else
            echo "neo4j: running (pid $pid), NOT answering on $HOST:$PORT"
        fi
        return 0
    fi
    echo "neo4j: not running on port $PORT"
    return 3
}

cmd_clean() {
    set_paths "${1:-}"
    clean_server database
}

dispatch "$@"
