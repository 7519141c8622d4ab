#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default
# 30) each. Needs the nightly toolchain (libFuzzer's sanitizer flags); if
# it or cargo-fuzz cannot build the targets, says so and skips, so a
# machine without nightly still runs the rest of the suite.
#   FUZZ_SECONDS=3600 scripts/fuzz.sh            # a longer run
#   FUZZ_TARGETS="dockerfile record" scripts/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: no nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo fuzz --help >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || {
        echo "fuzz: SKIPPED: cargo install cargo-fuzz failed"
        exit 0
    }
fi
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
start=$(date +%s)
# Its own target dir: the sanitizer flags would invalidate the test build's.
fuzz_target_dir=(${PYKO_FUZZ_TARGET_DIR:+--target-dir "$PYKO_FUZZ_TARGET_DIR"})
if ! cargo +nightly fuzz build --dev "${fuzz_target_dir[@]}"; then
    echo "fuzz: SKIPPED: the nightly toolchain cannot build the fuzz targets (see above)"
    exit 0
fi
echo "fuzz: build took $(( $(date +%s) - start ))s"
failed=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    # Seeds: the hostile corpus and the repo's own examples of each format.
    case $t in
        dockerfile) find examples testdata -name '*Dockerfile*' -type f -exec cp {} "fuzz/corpus/$t/" \; 2>/dev/null ;;
        requirements) find examples testdata -name 'requirements*.txt' -type f -exec cp {} "fuzz/corpus/$t/" \; 2>/dev/null ;;
        pylock) find tests testdata -name 'pylock*.toml' -type f -exec cp {} "fuzz/corpus/$t/" \; 2>/dev/null ;;
        uvlock) find tests testdata -name 'uv.lock' -type f -exec cp {} "fuzz/corpus/$t/" \; 2>/dev/null ;;
    esac
    echo "fuzz: $t for ${seconds}s"
    if ! cargo +nightly fuzz run --dev "${fuzz_target_dir[@]}" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
        tail -n 15; then
        echo "fuzz: $t FAILED (crash input under fuzz/artifacts/$t/)"
        failed=1
    fi
done
exit $failed
