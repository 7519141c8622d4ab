#!/usr/bin/env bash
# The main job on the bundled example, on a fresh Debian machine (as root),
# narrated step by step: installs only what the demo needs, builds pyko,
# makes a Python base image from Debian packages (cached), starts a local
# registry, then builds examples/diabetes from its own Dockerfile with pyko
# (the wheels come from the package index into pyko's cache), pushes it,
# writes a tarball, and runs the image's filesystem to show the app
# answering HTTP. A second run reuses everything and takes seconds.
#
#   PYKO_DEMO_PORT   registry port on 127.0.0.1 (default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${PYKO_DEMO_PORT:-5000}
registry=127.0.0.1:$port
demo_start=$SECONDS

step() { step_start=$SECONDS; printf '\n== %s\n' "$*" >&2; }
took() { echo "   ... $((SECONDS - step_start)) s" >&2; }

step "1/7 tools the demo needs (registry, skopeo, umoci, mmdebstrap; apt only if missing)"
need=(docker-registry skopeo umoci mmdebstrap curl jq flock)
missing=()
for t in "${need[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "demo.sh: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
    echo "   installing: docker-registry skopeo umoci mmdebstrap curl jq ca-certificates" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        docker-registry skopeo umoci mmdebstrap curl jq ca-certificates util-linux >/dev/null
fi
took

step "2/7 building pyko (cargo build --release; the first time compiles its dependencies)"
cargo build --release
pyko=${CARGO_TARGET_DIR:-$root/target}/release/pyko
took

work=$(mktemp -d /tmp/pyko-demo.XXXXXX)
cleanup() {
    # Every step runs whatever the one before returned: under `set -e` a
    # failing `wait` (a killed app returns 137) ended the trap early and
    # left the registry holding the port for the next run.
    set +e
    [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null
    # The app is a throwaway: no graceful shutdown to wait for.
    if [ -n "${app_pid:-}" ]; then
        kill -KILL "$app_pid" 2>/dev/null
        wait "$app_pid" 2>/dev/null
    fi
    local busy=
    for m in proc dev; do
        mountpoint -q "$work/bundle/rootfs/$m" 2>/dev/null || continue
        umount "$work/bundle/rootfs/$m" 2>/dev/null || umount -l "$work/bundle/rootfs/$m" || busy=1
    done
    # Never rm -rf through a mount of the host's /dev.
    if [ -z "$busy" ]; then rm -rf "$work"; else echo "left $work (still mounted)" >&2; fi
}
trap cleanup EXIT

step "3/7 a Python base image: Debian bookworm's python3 with mmdebstrap (cached after the first run)"
layout=$(bash tests/fixtures/base-images.sh debian | tail -n1)
took

step "4/7 a local registry on $registry, holding the base as $registry/library/python:3.11"
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $registry}
YAML
if curl -fs "http://$registry/v2/" >/dev/null 2>&1; then
    echo "demo.sh: something already listens on $registry; set PYKO_DEMO_PORT" >&2; exit 1
fi
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -fs "http://$registry/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$registry/library/python:3.11"
took

step "5/7 pyko build -f examples/diabetes/Dockerfile (FROM/EXPOSE/WORKDIR/COPY/RUN pip install/CMD honoured, nothing run)"
cat >&2 <<EOF
   $ pyko build -f examples/diabetes/Dockerfile examples/diabetes \\
         --from $registry/library/python:3.11 \\
         --push $registry/demo/app:1.0 --tarball target/demo/app.tar
EOF
mkdir -p target/demo
ref=$("$pyko" build -f examples/diabetes/Dockerfile examples/diabetes \
    --from "$registry/library/python:3.11" \
    --push "$registry/demo/app:1.0" --tarball "$root/target/demo/app.tar" \
    --oci-layout "$work/oci" --tag app)
echo "   pushed: $ref" >&2
took

step "6/7 what the registry holds (skopeo inspect --config)"
skopeo inspect --tls-verify=false --config "docker://$registry/demo/app:1.0" |
    jq -c '.config | {Cmd, Entrypoint, WorkingDir, ExposedPorts, Env}' >&2
skopeo inspect --tls-verify=false "docker://$registry/demo/app:1.0" |
    jq -r '"   \(.Layers | length) layers, digest \(.Digest)"' >&2
took

step "7/7 running the image (umoci unpack of the OCI layout pyko wrote + chroot; nothing else runs it)"
umoci unpack --image "$work/oci:app" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs
mount -t proc proc "$rootfs/proc"; mount --bind /dev "$rootfs/dev"
chroot "$rootfs" /bin/sh -c 'cd /app && exec streamlit run app.py --server.port=8501 --server.address=127.0.0.1 --server.headless=true --browser.gatherUsageStats=false' \
    >"$work/app.log" 2>&1 & app_pid=$!
answered=
for _ in $(seq 120); do
    if body=$(curl -fs http://127.0.0.1:8501/_stcore/health); then answered=1; break; fi
    sleep 0.5
done
if [ -z "$answered" ]; then
    echo "the app did not answer within 60 s; its log:" >&2; cat "$work/app.log" >&2; exit 1
fi
echo "   GET http://127.0.0.1:8501/_stcore/health -> $body: the example app answers" >&2
took

printf '\n== done in %d s. The image: %s\n' "$((SECONDS - demo_start))" "$ref" >&2
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    cat >&2 <<EOF
   A Docker engine runs on this machine; the same image from the tarball:
     docker load -i target/demo/app.tar
     docker run --rm -p 8501:8501 $registry/demo/app:1.0
EOF
fi
echo "$ref"
