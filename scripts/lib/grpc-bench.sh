# Shell helpers shared by scripts/bench-grpc.sh (servers side by side) and
# scripts/bench-grpc-client.sh (clients side by side). Sourced from the
# repository root, not run.

# gb_wait_listening PORT PID: waits (up to 10 s) until 127.0.0.1:PORT
# accepts connections; fails if process PID exits first.
gb_wait_listening() {
    local port=$1 pid=$2
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$port (process $pid)" >&2
    return 1
}

# gb_stop PID...: SIGTERM, up to 5 s for a clean exit, then SIGKILL.
gb_stop() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# gb_cpu_ticks PID: the process's CPU time so far, in clock ticks (utime +
# stime: fields 14 and 15, counted after the parenthesised command name).
gb_cpu_ticks() {
    sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# gb_per_call TICKS CALLS: CPU µs per call from a tick difference.
gb_per_call() {
    awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" \
        'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "nan" }'
}

# gb_field LINE KEY: the value of KEY in grpc_load's `key=value ...` line.
gb_field() {
    sed -nE "s/.*(^| )$2=([^ ]+).*/\2/p" <<<"$1"
}

# gb_median TSV COLUMN SCENARIO SUBJECT: the median of COLUMN (by header
# name) over the rows whose first two columns are SCENARIO and SUBJECT.
gb_median() {
    awk -F'\t' -v col="$2" -v sc="$3" -v sv="$4" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        $1 == sc && $2 == sv { print $c }' "$1" |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# gb_ratio A B: A/B to two decimals.
gb_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

# gb_rotate R ITEM...: the items rotated left by R-1 (run R of a
# benchmark starts with item R mod n), one per line.
gb_rotate() {
    local run=$1 i
    shift
    local items=("$@")
    for i in "${!items[@]}"; do
        echo "${items[$(((i + run - 1) % ${#items[@]}))]}"
    done
}

# gb_build_servers: builds grpc_server and grpc_load, and connectrpc_server
# (benches/connectrpc, into $GB_CRPC_TARGET) unless CONNECTRPC=0; sets
# SERVERS to the servers to measure: protocall, tonic, and connectrpc when
# it built. CONNECTRPC=auto (the default) says so when it does not build;
# CONNECTRPC=1 makes that an error.
GB_CRPC_TARGET=$PWD/target/connectrpc
gb_build_servers() {
    cargo build --release -p protocall-benches --bin grpc_server --bin grpc_load >&2
    SERVERS=(protocall tonic)
    [[ "${CONNECTRPC:-auto}" = 0 ]] && return 0
    if cargo build --release --manifest-path benches/connectrpc/Cargo.toml --target-dir "$GB_CRPC_TARGET" >&2; then
        SERVERS+=(connectrpc)
    elif [[ "${CONNECTRPC:-auto}" = auto ]]; then
        echo "benches/connectrpc does not build: measuring protocall and tonic only" >&2
    else
        exit 1
    fi
}

# gb_server_command IMPL PORT: sets GB_SERVER to the command line (an
# array) of server IMPL on PORT.
gb_server_command() {
    if [[ "$1" = connectrpc ]]; then
        GB_SERVER=("$GB_CRPC_TARGET/release/connectrpc_server" "$2")
    else
        GB_SERVER=(target/release/grpc_server "$1" "$2")
    fi
}
