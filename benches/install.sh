#!/usr/bin/env bash
# Installs the example app's real wheels (39, ~670 MB installed) three ways,
# in one run, and prints a table. Run by hand: bash benches/install.sh
#
#   pyko  examples/deps_layer: install (unzip + verify against RECORD +
#         launchers + RECORD) and write the deps layer (tar, parallel gzip,
#         sha256 of the tar and of the blob). Target detection (reading the
#         base image's layers) is timed apart and not in the total.
#   pip   pip install --no-deps --no-compile --no-index --target DIR
#   uv    uv pip install --no-deps --no-index --target DIR, with an empty uv cache
#         (uv unzips into its cache, then links/copies into DIR)
#
# pip and uv get tar | gzip -6 plus sha256 of the tar and of the .tar.gz
# added, so every row ends with a compressed, hashed layer like pyko's.
# The fixture cache must exist (tests/fixtures/*.sh; uv from install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${PYKO_FIXTURE_CACHE:-/var/cache/pyko-fixtures}"
WHEELS="$(bash tests/fixtures/wheels.sh | tail -1)"
BASE="$(bash tests/fixtures/base-images.sh slim | tail -1)"
UV="${UV:-$(bash "$(dirname "$0")/../tests/fixtures/uv.sh")}"
[ -x "$UV" ] || { echo "no uv at $UV: run tests/fixtures/install-deps.sh" >&2; exit 1; }
PY="${PYTHON:-python3}"
WORK="$(mktemp -d /tmp/pyko-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

cargo build --release --example deps_layer -q
now() { date +%s.%N; }
layer() { # DIR -> DIR.tar.gz, hashes of tar and blob
  tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@315532800 -cf - . |
    tee >(sha256sum >"$1.diffid") | gzip -6 >"$1.tar.gz"
  sha256sum "$1.tar.gz" >"$1.digest"
}

sync
t0=$(now)
out=$("${CARGO_TARGET_DIR:-target}"/release/examples/deps_layer "$BASE" "$WHEELS" "$WORK/pyko-cache")
t1=$(now)
pyko_total=$(grep install_and_layer_s <<<"$out" | cut -d= -f2)
detect=$(grep target_detect_s <<<"$out" | cut -d= -f2)
pyko_bytes=$(grep -o 'layer_bytes=[0-9]*' <<<"$out" | cut -d= -f2)

sync
t0=$(now)
"$PY" -m pip install -q --disable-pip-version-check --no-deps --no-compile --no-index \
  --no-cache-dir --target "$WORK/pip" "$WHEELS"/*.whl
t1=$(now)
layer "$WORK/pip"
t2=$(now)
pip_install=$(echo "$t1 - $t0" | bc); pip_total=$(echo "$t2 - $t0" | bc)

sync
t0=$(now)
"$UV" pip install -q --no-deps --no-index --python "$PY" --cache-dir "$WORK/uv-cache" \
  --target "$WORK/uv" "$WHEELS"/*.whl
t1=$(now)
layer "$WORK/uv"
t2=$(now)
uv_install=$(echo "$t1 - $t0" | bc); uv_total=$(echo "$t2 - $t0" | bc)

files() { find "$1" -type f | wc -l; }
printf '\n%-6s %12s %12s %14s %8s\n' tool "install s" "+layer s" "layer MB" "vs pyko"
printf '%-6s %12s %12.2f %14.1f %8s\n' pyko "(included)" "$pyko_total" "$(echo "$pyko_bytes/1000000" | bc -l)" 1.00
printf '%-6s %12.2f %12.2f %14.1f %8.2f\n' pip "$pip_install" "$pip_total" \
  "$(echo "$(stat -c %s "$WORK/pip.tar.gz")/1000000" | bc -l)" "$(echo "$pip_total/$pyko_total" | bc -l)"
printf '%-6s %12.2f %12.2f %14.1f %8.2f\n' uv "$uv_install" "$uv_total" \
  "$(echo "$(stat -c %s "$WORK/uv.tar.gz")/1000000" | bc -l)" "$(echo "$uv_total/$pyko_total" | bc -l)"
echo
echo "pyko target detection (reading the base layers, not in the total): ${detect}s"
echo "files: pip $(files "$WORK/pip"), uv $(files "$WORK/uv"); $(nproc) cores; $(uv_v=$("$UV" --version); echo "$uv_v"), $("$PY" -m pip --version | cut -d' ' -f1-2)"
