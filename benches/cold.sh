#!/usr/bin/env bash
# Issue 15's benchmark: one table, one run, one machine. pyko on the example
# (39 real wheels onto the python:3.11-slim look-alike, pushed to a local
# docker-registry): cold cache, warm after an app-only change, no change,
# cold with --compression zstd;
# against, over the same wheels:
#   (a) pip install --no-deps --no-compile --target + tar + gzip -6 + sha256sum
#   (b) uv pip install --target (cold uv cache) + tar | pigz -p2 -6 | sha256sum
#   (c) buildah bud --isolation chroot (RUN pip install --no-index) + buildah push
#   (d) the scripted floor: tar -cf - TREE | pigz -p2 -6 | sha256sum
#   (e) the hard floor: libdeflate at pyko's level on every core over the
#       same tar read from memory, plus both sha256 (benches/floor.rs)
#   (f) over an uplink limited to PYKO_BENCH_UPLINK MB/s (benches/uplink.py;
#       default 50, 0 skips): compress then push (pyko to an OCI layout, then
#       skopeo copy), against pyko's cold push over the same link
# Columns: wall s, CPU s (user+sys), peak RSS MB (/usr/bin/time), bytes
# (compressed bytes sent to the registry / written), wall ratio to pyko cold.
#
#   bash benches/cold.sh           (as root; uses the test fixtures)
#   PYKO_BENCH_SMOKE=1 bash benches/cold.sh   (5 small wheels, no buildah:
#                                   seconds; scripts/test.sh runs this)
#   PYKO_BENCH_SET=large bash benches/cold.sh (the example plus tensorflow-cpu:
#                                   62 wheels, ~1.9 GB installed, from
#                                   benches/large-requirements.txt; minutes)
# pyko and the floor are release builds (PYKO_BENCH_PROFILE=dev for debug
# ones); scripts/test.sh has just built the release dependencies for
# `cargo test --release`, so the smoke run compiles almost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
smoke=${PYKO_BENCH_SMOKE:-}
set_name=${PYKO_BENCH_SET:-example}
case $set_name in
  example) wheels_fixture=tests/fixtures/wheels.sh ;;
  large) wheels_fixture=tests/fixtures/wheels-large.sh ;;
  *) echo "cold.sh: PYKO_BENCH_SET must be example or large, not '$set_name'" >&2; exit 1 ;;
esac
for t in docker-registry skopeo pigz gzip sha256sum /usr/bin/time python3 curl; do
  command -v "$t" >/dev/null || { echo "cold.sh: $t missing (tests/fixtures/install-deps.sh)" >&2; exit 1; }
done
[ -n "$smoke" ] || command -v buildah >/dev/null || { echo "cold.sh: buildah missing" >&2; exit 1; }
uv=$(bash tests/fixtures/uv.sh | tail -n1)
layout=$(bash tests/fixtures/base-images.sh slim | tail -n1)
all_wheels=$(bash "$wheels_fixture" | tail -n1)
profile=${PYKO_BENCH_PROFILE:-release}
cargo build --quiet --profile "$profile" --bin pyko
floor=$(cargo build --quiet --profile "$profile" --bench floor --message-format=json \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
pyko=${CARGO_TARGET_DIR:-$root/target}/$([ "$profile" = dev ] && echo debug || echo "$profile")/pyko

work=$(mktemp -d /tmp/pyko-cold.XXXXXX)
reg_pid=
B="buildah --root $work/b/root --runroot $work/b/run --storage-driver vfs"
cleanup() {
  [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null
  [ -d "$work/b" ] && $B rm -a >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

wheels=$work/wheels; mkdir -p "$wheels"
if [ -n "$smoke" ]; then
  for w in idna certifi packaging typing_extensions click; do ln -s "$all_wheels/$w"-*.whl "$wheels/"; done
else
  ln -s "$all_wheels"/*.whl "$wheels/"
fi
mkdir -p "$work/app"; cp examples/diabetes/app.py "$work/app/"
ls "$wheels" | sed -E 's/^([^-]+)-([^-]+)-.*/\1==\2/' > "$work/app/requirements.txt"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: %s}\n' "$work" "$reg" > "$work/reg.yml"
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy --all --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$reg/library/python:3.11-slim"

regbytes() { du -sb "$work/reg" | cut -f1; }
# name, bytes-command, command...: one row; bytes-command runs after.
rows=()
measure() {
  local name=$1 bytes_cmd=$2; shift 2
  local before; before=$(regbytes)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "cold.sh: $name failed:" >&2; tail -n 20 "$work/$name.err" >&2; exit 1; }
  local secs user sys kb bytes
  read -r secs user sys kb < "$work/time"
  case $bytes_cmd in
    registry) bytes=$(( $(regbytes) - before )) ;;
    *) bytes=$(cat "$work/$bytes_cmd") ;;
  esac
  rows+=("$name $secs $(python3 -c "print(f'{$user+$sys:.2f}')") $((kb / 1024)) $bytes")
}

export PYKO_CACHE_DIR=$work/pyko-cache
build_pyko=("$pyko" build --from "$reg/library/python:3.11-slim" --wheels "$wheels" --app "$work/app"
  --port 8501 --cmd 'streamlit run app.py' --push)
measure pyko-cold registry "${build_pyko[@]}" "$reg/bench/pyko:cold"
echo "# changed" >> "$work/app/app.py"
measure pyko-warm-app registry "${build_pyko[@]}" "$reg/bench/pyko:warm"
measure pyko-no-change registry "${build_pyko[@]}" "$reg/bench/pyko:warm"
# The same cold build with --compression zstd (its own empty cache).
measure pyko-cold-zstd registry env PYKO_CACHE_DIR="$work/pyko-cache-zstd" \
  "${build_pyko[@]}" "$reg/bench/pyko:zstd" --compression zstd

# Over a limited uplink (PYKO_BENCH_UPLINK MB/s, 50 by default; 0 skips):
# pyko's cold push, whose large layers stream while they compress, against
# (f) compress then push: the same cold pyko build to an OCI layout, then
# `skopeo copy` of it over the same link.
uplink=${PYKO_BENCH_UPLINK:-50}
if [ "$uplink" != 0 ]; then
  up_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 benches/uplink.py "$uplink" "$up_port" "$port" >"$work/uplink.log" 2>&1 & up_pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$up_port/v2/" >/dev/null && break; sleep 0.1; done
  measure pyko-cold-uplink registry env PYKO_CACHE_DIR="$work/pyko-cache-up" \
    "${build_pyko[@]}" "127.0.0.1:$up_port/bench/uplink:cold"
  cat > "$work/f.sh" <<F
set -e
PYKO_CACHE_DIR=$work/pyko-cache-f "\$@" --oci-layout $work/f-layout
skopeo copy --quiet --dest-tls-verify=false oci:$work/f-layout docker://127.0.0.1:$up_port/bench/f:uplink
F
  measure f-layout+skopeo-uplink registry bash "$work/f.sh" "${build_pyko[@]:0:$((${#build_pyko[@]} - 1))}"
  kill "$up_pid" 2>/dev/null; rm -rf "$work/pyko-cache-up" "$work/pyko-cache-f" "$work/f-layout"
fi

# (a) pip, its own tar and gzip, both digests.
cat > "$work/a.sh" <<A
set -eo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --find-links $wheels --target $work/tree-a -r $work/app/requirements.txt
tar -C $work/tree-a -cf $work/a.tar .
sha256sum $work/a.tar >/dev/null
gzip -6 -c $work/a.tar > $work/a.tar.gz
sha256sum $work/a.tar.gz >/dev/null
stat -c %s $work/a.tar.gz > $work/a.bytes
rm $work/a.tar.gz
A
measure a-pip+tar+gzip a.bytes bash "$work/a.sh"
# (b) uv with a cold cache, one streamed tar | pigz.
cat > "$work/b.sh" <<BB
set -eo pipefail
UV_CACHE_DIR=$work/uv-cache $uv pip install -q --no-index --no-deps --no-compile --find-links $wheels --target $work/tree-b --python 3.11 -r $work/app/requirements.txt
tar -C $work/tree-b -cf - . | tee >(sha256sum >/dev/null) | pigz -p2 -6 | tee >(wc -c > $work/b.bytes) | sha256sum >/dev/null
BB
measure b-uv+tar+pigz b.bytes bash "$work/b.sh"
rm -rf "$work/uv-cache" "$work/tree-b"
# (c) buildah, the Dockerfile a user writes today, same wheels, no network.
if [ -z "$smoke" ]; then
  mkdir -p "$work/ctx/wheels" && cp -r "$work/app/." "$work/ctx/" && cp -L "$wheels"/*.whl "$work/ctx/wheels/"
  cat > "$work/ctx/Dockerfile" <<DOCKERFILE
FROM $reg/library/python:3.11-slim
EXPOSE 8501
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir --no-index --no-deps --find-links /app/wheels -r requirements.txt
CMD streamlit run app.py
DOCKERFILE
  cat > "$work/c.sh" <<CC
set -e
$B bud --isolation chroot --tls-verify=false -q -f $work/ctx/Dockerfile -t localhost/bench:cold $work/ctx
$B push --tls-verify=false -q localhost/bench:cold docker://$reg/bench/buildah:cold
CC
  measure c-buildah-bud+push registry bash "$work/c.sh"
  $B rm -a >/dev/null 2>&1 || true; rm -rf "$work/b" "$work/ctx"
fi
# (d) the scripted floor over (a)'s installed tree.
cat > "$work/d.sh" <<D
set -eo pipefail
tar -C $work/tree-a -cf - . | tee >(sha256sum >/dev/null) | pigz -p2 -6 | tee >(wc -c > $work/d.bytes) | sha256sum >/dev/null
D
measure d-tar+pigz-floor d.bytes bash "$work/d.sh"
# (e) the hard floor over the same tar, from memory (its own timer: the
# file read is not part of it; RSS includes the whole tar).
PYKO_FLOOR_TAR=$work/a.tar /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$floor" --bench >"$work/e.out" 2>"$work/e.err"
read -r e_secs e_bytes < "$work/e.out"; read -r _ e_user e_sys e_kb < "$work/time"
rows+=("e-libdeflate-floor $e_secs $(python3 -c "print(f'{$e_user+$e_sys:.2f}')") $((e_kb / 1024)) $e_bytes")
installed=$(du -sb "$work/tree-a" | cut -f1); tar_bytes=$(stat -c %s "$work/a.tar"); gz_bytes=$(cat "$work/a.bytes")
rm -rf "$work/tree-a" "$work/a.tar"

echo "== pyko cold.sh: $set_name set, $(ls "$wheels" | wc -l) wheels, $((installed / 1000000)) MB installed, tar $((tar_bytes / 1000000)) MB, $(nproc) cores, $profile builds${smoke:+, SMOKE (no buildah)}"
cold=$(echo "${rows[0]}" | cut -d' ' -f2)
printf '%-20s %8s %8s %8s %12s %8s %8s\n' run wall_s cpu_s rss_MB bytes vs_cold size/gzip6
for r in "${rows[@]}"; do
  read -r n s c m b <<<"$r"
  printf '%-20s %8.2f %8.2f %8d %12d %8s %8s\n' "$n" "$s" "$c" "$m" "$b" \
    "$(python3 -c "print(f'{$s/$cold:.2f}x')")" "$(python3 -c "print(f'{$b/$gz_bytes:.3f}')")"
done
if [ "$uplink" != 0 ]; then
  up=$(printf '%s\n' "${rows[@]}" | awk '$1 == "pyko-cold-uplink" {print $2}')
  f=$(printf '%s\n' "${rows[@]}" | awk '$1 == "f-layout+skopeo-uplink" {print $2}')
  echo "uplink ${uplink} MB/s: pyko cold push $up s = $(python3 -c "print(f'{$up/$f:.2f}')")x of compress then push (f) $f s"
fi
echo "(bytes: registry growth for pyko/buildah (layers + config + manifest; warm rows only what changed), compressed output for the rest)"
grep -h "deps layer" "$work"/pyko-cold.err | sed 's/^/   pyko: /' || true
