# shellcheck shell=bash
# Shared by the server scripts in this folder (sourced, not run). The sourcing script sets NAME
# (its own file name, for messages), HOST, and per port PID_FILE and STOP_TIMEOUT.

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$NAME" "$*" >&2; exit 1; }

# The sourcing script's header comment, as its help text.
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# Dies unless $JAVA runs and is 17 or newer; $1 names what needs it.
check_java() {
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install a JDK 17+ or set JAVA_HOME)"
    local out major
    # Capture first, parse after: piping `java -version` into head can SIGPIPE java and trip pipefail.
    out=$("$JAVA" -version 2>&1) || die "'$JAVA -version' failed: $out"
    major=$(sed -n 's/.*version "\([0-9]*\).*/\1/p' <<<"$out" | sed -n 1p)
    if [[ -z $major ]] || (( major < 17 )); then
        die "$1 needs Java 17+, found: ${out%%$'\n'*}"
    fi
}

# True if something accepts TCP connections on HOST:$1.
port_open() {
    # shellcheck disable=SC2016  # $0/$1 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# Prints the pid from PID_FILE if that process is alive and its command line contains $1: guards
# against a stale pid file whose pid was reused by another process.
running_pid_of() {
    [[ -f $PID_FILE ]] || return 1
    local pid
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r /proc/$pid/cmdline ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$1" || return 1
    fi
    echo "$pid"
}

# Stops the server whose pid `running_pid` prints: SIGTERM, then SIGKILL after STOP_TIMEOUT s.
# $1 is what to call it in messages ("broker", "database").
stop_server() {
    local what=$1 pid
    if ! pid=$(running_pid); then
        rm -f "$PID_FILE"
        log "not running on port $PORT"
        return 0
    fi
    log "stopping $what pid $pid (port $PORT) ..."
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            log "still running after ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            local _
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && die "could not kill pid $pid"
            break
        fi
        sleep 0.2
    done
    rm -f "$PID_FILE"
    log "stopped"
}

# Removes DATA_DIR of a stopped server; $1 is what to call it.
clean_server() {
    running_pid >/dev/null && die "$1 on port $PORT is running; stop it first"
    rm -rf "$DATA_DIR"
    log "removed $DATA_DIR"
}

# Starts "$@" (a java command line) in its own session, so it outlives this script and is not hit by
# Ctrl-C / SIGHUP aimed at the caller; output is appended to $1's file. The inner sh records its own
# pid in PID_FILE and then execs java, so PID_FILE holds the JVM's pid. Sets LAUNCHED_PID; $2 names
# the server in messages.
launch_detached() {
    local out=$1 what=$2
    shift 2
    # shellcheck disable=SC2016  # $$/$0/$@ expand in the inner sh
    setsid sh -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "$@" </dev/null >>"$out" 2>&1 &
    local _
    for _ in $(seq 50); do
        [[ -s $PID_FILE ]] && break
        sleep 0.1
    done
    [[ -s $PID_FILE ]] || { show_log_tail; die "$what process did not start (no pid file)"; }
    # shellcheck disable=SC2034  # read by the sourcing script
    LAUNCHED_PID=$(<"$PID_FILE")
}

# Waits up to START_TIMEOUT s until the command $3 succeeds for the server with pid $1 ($2 names it,
# $4 says where its logs are); dies (stopping it when it hangs) if it exits or never becomes ready.
wait_ready() {
    local pid=$1 what=$2 ready=$3 logs=$4
    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail
            rm -f "$PID_FILE"
            die "$what exited during startup ($logs)"
        fi
        "$ready" && break
        if (( SECONDS >= deadline )); then
            show_log_tail
            log "not ready after ${START_TIMEOUT}s; stopping it"
            cmd_stop "$PORT" || true
            die "$what did not become ready on $HOST:$PORT"
        fi
        sleep 0.5
    done
}

# The command line of every server script: <install|start|stop|status|clean|help> [PORT].
dispatch() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        install) cmd_install ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        clean) cmd_clean "$@" ;;
        -h | --help | help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}
