#!/bin/sh
# run-suite.sh BACKEND - runs the Check suite of one backend
# (tests/check_scb BACKEND) and fails if it left shared memory behind: any
# /dev/shm entry or System V segment that appeared while it ran and is still
# there afterwards is a leak.  Otherwise exits with the suite's status
# (77 = skipped).
#
# Backend suites of one build directory run one at a time (a lock), so one
# suite's live segments never look like another's leak under `make -j check`.
# It writes nothing outside $TMPDIR and the build directory.

set -u
backend=${1:?usage: run-suite.sh BACKEND}
: "${builddir:=.}"
suite=$builddir/tests/check_scb

if [ ! -x "$suite" ]; then
    echo "run-suite.sh: $suite is not built" >&2
    exit 99
fi

# --- one suite at a time in this build directory ---------------------------
lock=$builddir/tests/run-suite.lock
waited=0
while ! mkdir "$lock" 2>/dev/null; do
    holder=$(cat "$lock/pid" 2>/dev/null || true)
    if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
        rm -rf "$lock"          # its holder died without cleaning up
        continue
    fi
    if [ -z "$holder" ] && [ "$waited" -ge 10 ]; then
        rm -rf "$lock"          # created but never claimed
        continue
    fi
    if [ "$waited" -ge 3600 ]; then
        echo "run-suite.sh: waited an hour for $lock; giving up" >&2
        exit 99
    fi
    sleep 1
    waited=$((waited + 1))
done
echo $$ >"$lock/pid"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scb-suite.XXXXXX") || exit 99
trap 'rm -rf "$lock" "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- snapshots of shared memory ---------------------------------------------
# One line per object: "/dev/shm/NAME" or "sysv key=K shmid=I owner=O
# perms=P bytes=B" (never the attach count, which changes).
snapshot() {
    if [ -d /dev/shm ]; then
        ls -A /dev/shm 2>/dev/null | sed 's,^,/dev/shm/,'
    fi
    if command -v ipcs >/dev/null 2>&1; then
        ipcs -m 2>/dev/null | awk '
            # Linux: key shmid owner perms bytes nattch status.  A segment
            # marked "dest" was removed already and only waits for its last
            # process to detach: not a leak (and never one of this suite'"'"'s
            # once its processes are gone).
            $1 ~ /^0x[0-9a-fA-F]+$/ && $2 ~ /^[0-9]+$/ && $7 != "dest" {
                print "sysv key=" $1 " shmid=" $2 " owner=" $3 " perms=" $4 " bytes=" $5; next }
            # BSD, macOS: T ID KEY MODE OWNER GROUP
            $1 == "m" && $2 ~ /^[0-9]+$/ {
                print "sysv key=" $3 " shmid=" $2 " owner=" $5 " perms=" $4 }'
    fi
}

snapshot | sort >"$tmp/before"

unset CK_DEFAULT_TIMEOUT        # every tcase sets its own timeout
echo "run-suite.sh: $suite $backend"
"$suite" "$backend"
rc=$?
echo "run-suite.sh: tests/check_scb $backend exited with status $rc"

# A new object may be another program's that is about to go: look twice,
# a second apart, and report what is new both times.
snapshot | sort >"$tmp/after1"
comm -13 "$tmp/before" "$tmp/after1" >"$tmp/new1"
if [ -s "$tmp/new1" ]; then
    sleep 1
    snapshot | sort >"$tmp/after2"
    comm -13 "$tmp/before" "$tmp/after2" | comm -12 "$tmp/new1" - >"$tmp/leaked"
    if [ -s "$tmp/leaked" ]; then
        echo "run-suite.sh: FAIL: the $backend suite left shared memory behind:" >&2
        sed 's/^/  /' "$tmp/leaked" >&2
        echo "  (remove with rm /dev/shm/NAME or ipcrm -m SHMID)" >&2
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then rc=1; fi
        exit "$rc"
    fi
fi
echo "run-suite.sh: no shared memory left behind"
exit "$rc"
