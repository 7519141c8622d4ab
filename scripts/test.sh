#!/usr/bin/env bash
# Runs pyko's whole test suite on a fresh Debian machine (as root): installs
# the real tools the tests drive (registry, skopeo, umoci, podman, …), then
# `cargo test`. Test fixtures that take minutes (base images, PyPI wheels)
# are cached under $PYKO_FIXTURE_CACHE (default /var/cache/pyko-fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
# CI runs on a fresh clone each time: keep the compiled dependencies (and
# the fuzz build, whose sanitizer flags would invalidate them if shared)
# in a cache dir beside the fixtures, so a warm machine compiles only pyko.
if [ "${CI:-}" = true ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/pyko-ci/target}
    export PYKO_FUZZ_TARGET_DIR=${PYKO_FUZZ_TARGET_DIR:-/var/cache/pyko-ci/fuzz-target}
fi
bash tests/fixtures/install-deps.sh
# Build the slow fixtures once up front (cached), so test timeouts measure pyko.
bash tests/fixtures/wheels.sh >/dev/null
# The resolver tests' frozen index (six requirement sets, two arches, ~330 MB).
bash tests/fixtures/resolve-sets.sh >/dev/null
# Real sdists and their build requirements (sdist_build.rs).
bash tests/fixtures/sdists.sh >/dev/null
bash tests/fixtures/base-images.sh debian >/dev/null
bash tests/fixtures/base-images.sh slim >/dev/null
bash tests/fixtures/base-trixie.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --release --all-targets -- --test-threads=2
# Fuzz smoke: 30 s per parser target (skips, saying so, without nightly).
bash scripts/fuzz.sh
# Issue 15's benchmark, small: 5 wheels, no buildah, seconds (the table is
# printed; the full run is `bash benches/cold.sh`).
PYKO_BENCH_SMOKE=1 bash benches/cold.sh
