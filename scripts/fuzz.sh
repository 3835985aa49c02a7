#!/usr/bin/env bash
# Runs palaudit's cargo-fuzz targets (fuzz/), each for SECONDS (default 60), from seeds
# taken from the repository's fixtures, rule files and documentation.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 300 api_flows   # one target, 5 minutes
#
# Installs cargo-fuzz if it is missing. libFuzzer needs unstable compiler flags; with a
# stable toolchain they are enabled with RUSTC_BOOTSTRAP=1, for this build only. A crash
# is saved under fuzz/artifacts/<target>/; once fixed, copy it into
# crates/fuzzing/regressions/<target>/ so every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
if ! command -v cargo-fuzz >/dev/null; then
    cargo install --locked cargo-fuzz
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^palaudit-fuzz$')
fi
cargo run --quiet -p palaudit-fuzzing --example write_seeds -- fuzz/corpus
export RUSTC_BOOTSTRAP=1
(cd fuzz && cargo fuzz build --sanitizer none -O)
mkdir -p target/fuzz-logs
failed=()
for t in "${targets[@]}"; do
    echo "== $t (${seconds} s)"
    log="target/fuzz-logs/$t.log"
    if ! (cd fuzz && cargo fuzz run --sanitizer none -O "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
        -print_final_stats=1) >"$log" 2>&1; then
        failed+=("$t")
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE|==[0-9]+== ERROR|SUMMARY)' "$log" || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (logs in target/fuzz-logs/, inputs in fuzz/artifacts/)" >&2
    exit 1
fi
