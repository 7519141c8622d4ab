#!/usr/bin/env bash
# The main job on the bundled example, on a fresh Debian machine (as root):
# starts a local registry, puts a test Python base image in it (built from
# Debian packages, cached), builds examples/diabetes with pyko (push +
# tarball), then unpacks the tarball and runs the app to show it answering.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash tests/fixtures/install-deps.sh
cargo build --release --quiet
pyko=$root/target/release/pyko

work=$(mktemp -d /tmp/pyko-demo.XXXXXX)
cleanup() {
    [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
    [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null
    local busy=
    for m in proc dev; do
        mountpoint -q "$work/bundle/rootfs/$m" 2>/dev/null || continue
        umount "$work/bundle/rootfs/$m" 2>/dev/null || umount -l "$work/bundle/rootfs/$m" || busy=1
    done
    # Never rm -rf through a mount of the host's /dev.
    if [ -z "$busy" ]; then rm -rf "$work"; else echo "left $work (still mounted)" >&2; fi
}
trap cleanup EXIT

echo "== test base image (python:3.11-slim look-alike, cached) and the example's wheels"
layout=$(bash tests/fixtures/base-images.sh slim | tail -n1)
wheels=$(bash tests/fixtures/wheels.sh | tail -n1)

echo "== local registry on 127.0.0.1:5000"
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:5000}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -fs http://127.0.0.1:5000/v2/ >/dev/null && break; sleep 0.1; done
skopeo copy --all --quiet --dest-tls-verify=false "oci:$layout:latest" \
    docker://127.0.0.1:5000/library/python:3.11-slim

echo "== pyko build"
time "$pyko" build --from 127.0.0.1:5000/library/python:3.11-slim \
    --wheels "$wheels" --app examples/diabetes \
    --port 8501 --cmd 'streamlit run app.py' \
    --push 127.0.0.1:5000/demo/app:1.0 --tarball "$work/app.tar"

echo "== what the registry holds"
skopeo inspect --tls-verify=false --config docker://127.0.0.1:5000/demo/app:1.0 \
    | python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; print(json.dumps({k: c.get(k) for k in ("ExposedPorts","Cmd","WorkingDir","Env")}, indent=1))'

echo "== running the image from the tarball (umoci unpack + chroot)"
skopeo copy --quiet "oci-archive:$work/app.tar" "oci:$work/oci:app"
umoci unpack --image "$work/oci:app" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs
mount -t proc proc "$rootfs/proc"; mount --bind /dev "$rootfs/dev"
chroot "$rootfs" /bin/sh -c 'cd /app && exec streamlit run app.py --server.port=8501 --server.address=127.0.0.1 --server.headless=true --browser.gatherUsageStats=false' \
    >"$work/app.log" 2>&1 & app_pid=$!
for _ in $(seq 120); do
    if curl -fs http://127.0.0.1:8501/_stcore/health; then echo " <- the example app answers on http://127.0.0.1:8501"; exit 0; fi
    sleep 0.5
done
echo "the app did not answer within 60 s; its log:" >&2; cat "$work/app.log" >&2; exit 1
