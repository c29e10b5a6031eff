#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for a fixed time and prints
# how many inputs each survived.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 60 s, all targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); libFuzzer's instrumentation
# needs nightly compiler flags, which RUSTC_BOOTSTRAP=1 allows on the stable
# toolchain. Each target starts from fuzz/corpus/TARGET (what earlier runs
# found, not committed) and the committed seeds in fuzz/seeds/TARGET
# (scripts/fuzz_seeds.py; parse and check share fuzz/seeds/pt), with
# fuzz/dicts/*.dict where there is one (keywords). A crash, a hang (10 s
# for one input), a leak or more than 2 GiB of memory fails the run; the
# input is saved under fuzz/artifacts/TARGET/ (reproduce: RUSTC_BOOTSTRAP=1
# cargo fuzz run -O TARGET FILE). Logs: fuzz/logs/TARGET.log.
# Exit status: 0 when every target survived.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(parse check plan npy camera_script lsp_frame)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O || exit 2
mkdir -p fuzz/logs
status=0
printf '%-14s %12s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    log="fuzz/logs/$t.log"
    case $t in
        parse | check) seeds=pt ;;
        *) seeds=$t ;;
    esac
    dict=()
    if [ -f "fuzz/dicts/$seeds.dict" ]; then dict=(-dict="fuzz/dicts/$seeds.dict"); fi
    cargo fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$seeds" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        status=1
        result="FAILED (rc $rc): $(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|thread .* panicked)' "$log" || true)"
    fi
    printf '%-14s %12s %8s  %s\n' "$t" "${runs:-?}" "${took:-?}" "$result"
done
exit $status
