#!/usr/bin/env bash
# End-to-end build benchmark: the example app (39 real wheels, ~540 MB
# installed) built onto the python:3.11-slim look-alike and pushed to a local
# registry, by pyko (cold cache, then warm after an app-only change) and by
# buildah running the equivalent Dockerfile (`RUN pip install`), in the same
# run on the same machine. Prints wall seconds, peak RSS and ratios.
#   bash benches/build.sh            (as root; uses the test fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/fixtures/install-deps.sh >/dev/null
command -v buildah >/dev/null || { echo "buildah missing: apt-get install buildah" >&2; exit 1; }
cargo build --release --quiet
pyko=${CARGO_TARGET_DIR:-$PWD/target}/release/pyko
layout=$(bash tests/fixtures/base-images.sh slim | tail -n1)
wheels=$(bash tests/fixtures/wheels.sh | tail -n1)

work=$(mktemp -d /tmp/pyko-bench.XXXXXX)
trap 'kill $reg_pid 2>/dev/null; buildah --root $work/b/root --runroot $work/b/run --storage-driver vfs rm -a >/dev/null 2>&1; rm -rf $work' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: %s}\n' "$work" "$reg" > "$work/reg.yml"
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy --all --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$reg/library/python:3.11-slim"

cp -r examples/diabetes "$work/app"
measure() { # name, command...: prints "name seconds maxrss_MB"
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" \
        || { cat "$work/$name.err" >&2; exit 1; }
    read -r secs kb < "$work/time"
    printf '%-28s %8.2f s %8.0f MB\n' "$name" "$secs" "$((kb / 1024))"
    echo "$secs" > "$work/$name.secs"
}
build_pyko=("$pyko" build --from "$reg/library/python:3.11-slim" --wheels "$wheels" --app "$work/app"
    --port 8501 --cmd 'streamlit run app.py' --push)
export PYKO_CACHE_DIR=$work/pyko-cache
# The copied example ships a pyko.toml; the bench measures these flags alone.
export PYKO_NO_CONFIG=1

echo "== same run, same machine ($(nproc) cores)"
measure pyko-cold "${build_pyko[@]}" "$reg/bench/pyko:cold"
echo "# changed" >> "$work/app/app.py"
measure pyko-warm-app-change "${build_pyko[@]}" "$reg/bench/pyko:warm"

# The Dockerfile a user writes today, with the same wheels (no network).
mkdir -p "$work/ctx" && cp -r "$work/app/." "$work/ctx/" && cp -r "$wheels" "$work/ctx/wheels"
cat > "$work/ctx/Dockerfile" <<DOCKERFILE
FROM $reg/library/python:3.11-slim
EXPOSE 8501
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir --no-index --find-links /app/wheels -r requirements.txt
CMD streamlit run app.py
DOCKERFILE
cat > "$work/bud.sh" <<BUD
set -e
B="buildah --root $work/b/root --runroot $work/b/run --storage-driver vfs"
\$B bud --isolation chroot --tls-verify=false -q -f $work/ctx/Dockerfile -t localhost/bench:\$1 $work/ctx
\$B push --tls-verify=false -q localhost/bench:\$1 docker://$reg/bench/buildah:\$1
BUD
measure buildah-cold bash "$work/bud.sh" cold
echo "# changed again" >> "$work/ctx/app.py"
measure buildah-warm-app-change bash "$work/bud.sh" warm

ratio() { python3 -c "print(f'{float(open(\"$work/$2.secs\").read())/float(open(\"$work/$1.secs\").read()):.1f}x')"; }
echo "== pyko is faster by: cold $(ratio pyko-cold buildah-cold), after an app-only change $(ratio pyko-warm-app-change buildah-warm-app-change)"
grep -h "deps layer" "$work"/pyko-*.err | sed 's/^/   pyko: /'
