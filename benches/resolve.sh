#!/usr/bin/env bash
# Resolve benchmark (issue 12): the example's five top-level names
# (joblib numpy pandas scikit-learn streamlit) for CPython 3.11 on
# x86_64-manylinux_2_28 against the local index of real wheels that the
# parity tests use (tests/fixtures/resolve-sets.sh), served as PEP 691 JSON
# with PEP 658 metadata and as PEP 503 HTML with range requests. Per form:
# pyko with a cold cache, `uv pip compile` with a cold cache (same index,
# same flags), then pyko warm (best of 5). Prints seconds and ratios.
#
#   bash benches/resolve.sh     PYKO_BENCH_PROFILE=debug to skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PYKO_BENCH_PROFILE:-release}
flag=(); [ "$profile" = release ] && flag=(--release)
uv=$(bash tests/fixtures/uv.sh)
bash tests/fixtures/resolve-sets.sh >/dev/null
cargo build "${flag[@]}" --quiet --bin pyko
pyko=${CARGO_TARGET_DIR:-$PWD/target}/$profile/pyko
# The test binary hosts the index server (tests/it/resolve/bench_server.rs).
it=$(cargo test "${flag[@]}" --test it --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\)).*/\1/p' | tail -n1)
[ -x "$it" ] || { echo "resolve.sh: no test binary found" >&2; exit 1; }

work=$(mktemp -d /tmp/pyko-bench-resolve.XXXXXX)
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
printf 'joblib\nnumpy\npandas\nscikit-learn\nstreamlit\n' >"$work/requirements.txt"
export UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1
unset UV_INDEX_URL UV_EXTRA_INDEX_URL PIP_INDEX_URL SOURCE_DATE_EPOCH

now() { echo "$EPOCHREALTIME"; }
# Runs "$@" quietly, prints its wall seconds; shows stderr on failure.
timed() {
  local t0 t1
  t0=$(now)
  "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
pyko_lock() {
  PYKO_CACHE_DIR=$1 "$pyko" lock -r "$work/requirements.txt" --python 3.11 \
    --platform linux/amd64 --libc glibc-2.28 --index-url "$url" -o "$work/pylock.toml"
}
uv_compile() {
  "$uv" pip compile --quiet --cache-dir "$1" --index-url "$url" --only-binary :all: \
    --python-platform x86_64-manylinux_2_28 --python-version 3.11 \
    -o "$work/uv.txt" "$work/requirements.txt"
}

printf '%-11s %10s %10s %10s %13s\n' index "pyko cold" "uv cold" "pyko warm" "cold pyko/uv"
for form in json+658 html+range; do
  PYKO_BENCH_INDEX_FORM=$form "$it" resolve::bench_server::bench_index_server \
    --ignored --exact --nocapture >"$work/server.out" 2>"$work/server.err" &
  server=$!
  url=
  for _ in $(seq 600); do
    url=$(sed -n 's/^PYKO_BENCH_INDEX_URL=//p' "$work/server.out")
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "resolve.sh: the index server did not start" >&2; exit 1; }
  rm -rf "$work/pc" "$work/uc"
  cold=$(timed pyko_lock "$work/pc")
  uvc=$(timed uv_compile "$work/uc")
  warm=
  for _ in 1 2 3 4 5; do
    t=$(timed pyko_lock "$work/pc")
    if [ -z "$warm" ] || [ "$(echo "$t < $warm" | bc -l)" = 1 ]; then warm=$t; fi
  done
  # Same answer, or the numbers mean nothing.
  diff <(grep -o '^[a-z0-9._-]*==[^ ;]*' "$work/uv.txt" | sort) \
    <(python3 -c 'import sys, tomllib
for p in tomllib.load(open(sys.argv[1], "rb"))["packages"]: print(p["name"] + "==" + p["version"])' \
      "$work/pylock.toml" | sort) >&2 || { echo "resolve.sh: pyko and uv disagree ($form)" >&2; exit 1; }
  printf '%-11s %9.2fs %9.2fs %9.3fs %12.2fx\n' "$form" "$cold" "$uvc" "$warm" \
    "$(echo "$cold / $uvc" | bc -l)"
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=
done
echo "($profile pyko, uv $("$uv" --version | cut -d' ' -f2), $(nproc) cores; warm = best of 5)"
