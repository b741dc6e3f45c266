#!/bin/sh
# summary.sh [BUILDDIR] - sums up the last `make check` in BUILDDIR
# (default: the current directory).
#
# For every test log it prints the Check summary lines ("100%: Checks: 25,
# Failures: 0, Errors: 0") or, for a script without Check output, its result;
# then one line "total: N passed, M failed": the checks passed and failed
# (failures + errors) over all Check suites, plus each other test script as one
# check.  A suite whose script failed although Check reported no failure (a
# leak found after the suite, a crash) counts one more failure.
# Exits 1 if anything failed, if no check passed or if no Check suite ran.

set -u
dir=${1:-.}

passed=0
failed=0
skipped=0
suites=0
for trs in "$dir"/tests/*.trs; do
    [ -f "$trs" ] || continue
    log=${trs%.trs}.log
    name=tests/$(basename "$log")
    result=$(sed -n 's/^:test-result: *//p' "$trs" | head -n 1)
    [ -n "$result" ] || result=ERROR
    lines=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null || true)
    if [ -n "$lines" ]; then
        suites=$((suites + 1))
        echo "$lines" | sed "s|^|$name: |"
        set -- $(echo "$lines" | awk '{
            gsub(/,/, "")
            for (i = 1; i < NF; i++) {
                if ($i == "Checks:") c += $(i + 1)
                if ($i == "Failures:" || $i == "Errors:") f += $(i + 1)
            }
        } END { print c - f, f }')
        passed=$((passed + $1))
        failed=$((failed + $2))
        case $result in
            FAIL|ERROR|XPASS)
                if [ "$2" -eq 0 ]; then
                    echo "$name: $result (the script failed although Check reported no failure; see $log)"
                    failed=$((failed + 1))
                fi ;;
        esac
    else
        echo "$name: $result"
        case $result in
            PASS|XFAIL) passed=$((passed + 1)) ;;
            SKIP) skipped=$((skipped + 1)) ;;
            *) failed=$((failed + 1)) ;;
        esac
    fi
done

[ "$skipped" -eq 0 ] || echo "skipped: $skipped test script(s)"
status=0
if [ "$suites" -eq 0 ]; then
    echo "no Check suite ran (is Check installed? see the summary at the end of configure)"
    status=1
fi
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
    status=1
fi
echo "total: $passed passed, $failed failed"
exit "$status"
