#!/bin/sh
# bridge-demo.sh - the whole path of `scb bridge` on one machine: a writer
# pushes 64-byte items into a ring, `scb bridge out` publishes them to a
# nats-server of its own (127.0.0.1, a free port, a temporary directory),
# `scb bridge in` writes them into a second ring, and a reader reads that
# one; each prints what it counted, and the reader checks that what it read
# is byte for byte what the writer pushed, in order.
#
#     examples/bridge-demo.sh [--stream] [ITEMS]
#
# --stream goes through a JetStream stream (R1, file storage) instead of
# core NATS.  It runs the programs of the build tree SCB_BUILD (default: the
# source tree it is in; scripts/demo.sh --bridge builds that and runs
# this); NATS_SERVER names the server program (default: nats-server in PATH
# or /usr/sbin).  Exit status: 0 when the reader got every item, 1
# otherwise, 2 for bad usage, 77 when something it needs is missing.

set -u
build=${SCB_BUILD:-$(dirname "$0")/..}
scb=$build/tools/scb
stream=
n=200000
for a in "$@"; do
    case $a in
    --stream) stream=DEMO$$ ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *[!0-9]* | '') echo "bridge-demo.sh: usage: bridge-demo.sh [--stream] [ITEMS]" >&2; exit 2 ;;
    *) n=$a ;;
    esac
done
[ "$n" -ge 1 ] 2>/dev/null || { echo "bridge-demo.sh: ITEMS must be at least 1" >&2; exit 2; }

if [ ! -x "$build/bridge/scb-bridge" ]; then
    echo "bridge-demo.sh: bridge/scb-bridge is not built (configure found no libnats:" \
        "apt-get install libnats-dev, then configure again)" >&2
    exit 77
fi
server=${NATS_SERVER:-$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)}
if [ ! -x "$server" ]; then
    echo "bridge-demo.sh: no nats-server (Debian: apt-get install nats-server)" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scb-bridge-demo.XXXXXX") || exit 1
src=demo$$.src
dst=demo$$.dst
pids=
cleanup() {
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    "$scb" rm "$src" "$dst" "$dst.bridge-in" ${stream:+"$src.bridge-out.$stream"} >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The value of "key" in the last JSON line of file $1.
stat_of() {
    tail -n 1 "$1" | sed -n "s/.*\"$2\": \\([0-9]*\\).*/\\1/p"
}

# The server, on a port the kernel picks for a socket of ours first.
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null || echo $((49152 + $$ % 16000)))
"$server" -a 127.0.0.1 -p "$port" -js -sd "$tmp/store" >"$tmp/server.log" 2>&1 &
pids="$pids $!"
i=0
until grep -q "Server is ready" "$tmp/server.log"; do
    i=$((i + 1))
    [ $i -lt 50 ] || { cat "$tmp/server.log"; echo "bridge-demo.sh: nats-server did not start" >&2; exit 1; }
    sleep 0.1
done
url=nats://127.0.0.1:$port
echo "nats-server: $url${stream:+ (JetStream stream $stream, R1, file storage)}"

# Both rings lossless, so that nothing is lost on this machine: the writer
# waits for out, in waits for the reader.
"$scb" create "$src" --item-size 64 --length 64K --lossless || exit 1
"$scb" create "$dst" --item-size 64 --length 64K --lossless || exit 1
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "item %058d\n", i }' >"$tmp/items"

"$scb" pop "$dst" -n "$n" --wait 60000 --format raw >"$tmp/got" 2>"$tmp/reader.err" &
reader=$!
pids="$pids $reader"
"$scb" bridge in "$url" "$dst" --subject "scb.$src" ${stream:+--stream "$stream"} \
    --stats 1 >"$tmp/in.stats" 2>"$tmp/in.err" &
in_pid=$!
pids="$pids $in_pid"
"$scb" bridge out "$src" "$url" ${stream:+--stream "$stream"} \
    --stats 1 >"$tmp/out.stats" 2>"$tmp/out.err" &
out_pid=$!
pids="$pids $out_pid"
sleep 0.5

t0=$(date +%s.%N)
"$scb" push "$src" --stdin --wait 60000 <"$tmp/items" || exit 1
t1=$(date +%s.%N)
awk -v n="$n" -v r="$src" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "writer: pushed %d items of 64 bytes into %s in %.2f s\n", n, r, b - a }'
wait "$reader"
reader_status=$?
t2=$(date +%s.%N)
kill -TERM "$out_pid" "$in_pid"
wait "$out_pid" "$in_pid"

printf 'out:    published %s, lost at the source %s\n' \
    "$(stat_of "$tmp/out.stats" published)" "$(stat_of "$tmp/out.stats" lost_source)"
printf 'in:     delivered %s, lost on the way %s, duplicates dropped %s\n' \
    "$(stat_of "$tmp/in.stats" delivered)" "$(stat_of "$tmp/in.stats" lost_upstream)" \
    "$(stat_of "$tmp/in.stats" duplicates)"
got=$(($(wc -c <"$tmp/got") / 64))
if [ "$reader_status" -eq 0 ] && cmp -s "$tmp/items" "$tmp/got"; then
    awk -v n="$got" -v r="$dst" -v a="$t0" -v b="$t2" 'BEGIN { printf "reader: read %d items from %s, byte-identical and in order, %.0f items/s end to end\n", n, r, n / (b - a) }'
    exit 0
fi
echo "reader: read $got items from $dst: NOT the items pushed, in order"
cat "$tmp/reader.err" "$tmp/out.err" "$tmp/in.err"
exit 1
