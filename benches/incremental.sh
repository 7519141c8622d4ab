#!/usr/bin/env bash
# Issue 14's targets, old pyko vs new, in the same run on the same machine:
# the example app (39 wheels) onto the python:3.11-slim look-alike, pushed to
# a local registry with its access log on. Per binary, with its own cache:
#   cold           first build + push
#   no-change      the same build again
#   app-only       one line of app.py changed
#   one-pin        itsdangerous re-pinned (2.2.0 -> 2.2.0.post1, same files)
# Then, NEW only, two fresh runners (empty caches) with --cache-repo:
#   repo-cold      the first fills the registry cache
#   repo-fresh     the second reads it: no deps layer built or uploaded
# and the same with a pylock.toml naming the wheels (served over HTTP) and
# their sha256, where the second runner downloads no wheel at all:
#   lock-cold, lock-fresh
# Prints wall seconds and, from the registry log, blob uploads (PUT) and
# base-layer downloads (GET) per step, and wheel downloads for the lock.
#   bash benches/incremental.sh OLD_PYKO NEW_PYKO   (binaries to compare)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old pyko binary}; new=${2:?new pyko binary}
layout=$(bash tests/fixtures/base-images.sh slim | tail -n1)
wheels=$(bash tests/fixtures/wheels.sh | tail -n1)
work=$(mktemp -d /tmp/pyko-incr.XXXXXX)
trap 'kill $reg_pid $files_pid 2>/dev/null; rm -rf $work' EXIT
files_pid=
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: false}}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: %s}\n' "$work" "$reg" > "$work/reg.yml"
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy --all --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$reg/library/python:3.11-slim"
base_layers=$(skopeo inspect --tls-verify=false --raw "docker://$reg/library/python:3.11-slim" | python3 -c '
import json,sys; m=json.load(sys.stdin); print(len(m.get("layers") or []))')

# The re-pinned wheelhouse: same files, new version, new sha256.
mkdir "$work/wheels2"
cp "$wheels"/*.whl "$work/wheels2/" && rm "$work/wheels2"/itsdangerous-*.whl
python3 - "$wheels"/itsdangerous-2.2.0-py3-none-any.whl "$work/wheels2/itsdangerous-2.2.0.post1-py3-none-any.whl" <<'PY'
import base64, hashlib, sys, zipfile
old, new = "itsdangerous-2.2.0.dist-info/", "itsdangerous-2.2.0.post1.dist-info/"
files = {}
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        d = z.read(n)
        if n == old + "METADATA":
            d = d.replace(b"Version: 2.2.0\n", b"Version: 2.2.0.post1\n", 1)
        files[new + n[len(old):] if n.startswith(old) else n] = d
rows = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
        for n, d in files.items() if n != new + "RECORD"]
files[new + "RECORD"] = ("\n".join(rows + [new + "RECORD,,"]) + "\n").encode()
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for n, d in files.items():
        z.writestr(n, d)
PY

step() { # label bin cache wheels app dest
    local label=$1 bin=$2 cache=$3 wh=$4 app=$5 dest=$6 mark
    mark=$(wc -c < "$work/reg.log")
    local t0=$(date +%s.%N)
    local source=(--wheels "$wh")
    [ "${WHEELS_FLAG:-}" = none ] && source=()
    PYKO_CACHE_DIR=$cache PYKO_NO_CONFIG=1 "$bin" build --from "$reg/library/python:3.11-slim" "${source[@]}" \
        --app "$app" --port 8501 --cmd 'streamlit run app.py' --push "$reg/$dest" ${EXTRA:-} \
        >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    [ -n "${BENCH_LOG:-}" ] && cp "$work/err" "$BENCH_LOG.$7"
    local t1=$(date +%s.%N)
    local puts gets
    puts=$(tail -c +$((mark + 1)) "$work/reg.log" | grep -c '"PUT /v2/[^ ]*/blobs/uploads/' || true)
    gets=$(tail -c +$((mark + 1)) "$work/reg.log" | grep -c '"GET /v2/library/python/blobs/' || true)
    printf '%-4s %-10s %6.2f s   blob PUTs %2d   GETs from base repo %2d\n' \
        "$label" "$7" "$(echo "$t1 - $t0" | bc)" "$puts" "$gets"
}
echo "== $(nproc) cores; base has $base_layers layers (0 = index); old=$old new=$new"
for which in old new; do
    bin=${!which}
    cp -r examples/diabetes "$work/app-$which"
    c=$work/cache-$which
    step "$which" "$bin" "$c" "$wheels" "$work/app-$which" "bench/$which:cold" cold
    step "$which" "$bin" "$c" "$wheels" "$work/app-$which" "bench/$which:same" no-change
    echo "# changed" >> "$work/app-$which/app.py"
    step "$which" "$bin" "$c" "$wheels" "$work/app-$which" "bench/$which:app" app-only
    step "$which" "$bin" "$c" "$work/wheels2" "$work/app-$which" "bench/$which:pin" one-pin
    grep -h "deps layer" "$work/err" | sed 's/^/       /' | head -20
done

echo "== --cache-repo, fresh runners (new only)"
EXTRA="--cache-repo $reg/ci/cache" step new "$new" "$work/runner1" "$wheels" "$work/app-new" "bench/r1:x" repo-cold
EXTRA="--cache-repo $reg/ci/cache" step new "$new" "$work/runner2" "$wheels" "$work/app-new" "bench/r2:x" repo-fresh
grep -h "deps layer" "$work/err" | sed 's/^/       /' | head -5

echo "== --cache-repo with a lock, fresh runners (new only)"
fport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server -b 127.0.0.1 -d "$wheels" "$fport" >"$work/files.log" 2>&1 & files_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$fport/" >/dev/null && break; sleep 0.1; done
python3 - "$wheels" "http://127.0.0.1:$fport" > "$work/pylock.toml" <<'PY'
import hashlib, os, sys
d, url = sys.argv[1:]
print('lock-version = "1.0"\ncreated-by = "benches/incremental.sh"')
for f in sorted(os.listdir(d)):
    if not f.endswith(".whl"):
        continue
    name, version = f.split("-")[:2]
    h = hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
    print(f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n'
          f'wheels = [{{ url = "{url}/{f}", hashes = {{ sha256 = "{h}" }} }}]')
PY
lock_step() { # label cache dest
    local before after
    before=$(grep -c '"GET /.*\.whl' "$work/files.log" || true)
    EXTRA="--cache-repo $reg/ci/lockcache --lock $work/pylock.toml" WHEELS_FLAG=none \
        step new "$new" "$work/$2" "" "$work/app-new" "$3" "$1"
    after=$(grep -c '"GET /.*\.whl' "$work/files.log" || true)
    printf '                wheel downloads %d\n' $((after - before))
}
lock_step lock-cold lrunner1 bench/l1:x
lock_step lock-fresh lrunner2 bench/l2:x
