#!/usr/bin/env bash
# Peak memory of pushing an image with a 1 GiB layer: pyko's push (via
# examples/push_layout.rs) against `skopeo copy` of the same OCI layout, to a
# real docker-registry on 127.0.0.1. Uploads stream from the file, so pyko's
# peak RSS must stay far below the layer size (limit: 100 MB).
#
# Usage: benches/push_1g.sh [SIZE_MIB]   (default 1024)
set -euo pipefail

size_mib=${1:-1024}
limit_kb=$((100 * 1024))
root=$(cd "$(dirname "$0")/.." && pwd)
for t in docker-registry skopeo /usr/bin/time sha256sum gzip; do
  command -v "$t" >/dev/null || { echo "push_1g.sh: $t missing (tests/fixtures/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
reg_pid=
cleanup() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet --example push_layout --manifest-path "$root/Cargo.toml"
pyko_push="${CARGO_TARGET_DIR:-$root/target}/release/examples/push_layout"

# A layout by hand: one layer of random data (incompressible, so the blob
# really is SIZE_MIB), a config naming its diff_id, a manifest, index.json.
L="$work/layout"; mkdir -p "$L/blobs/sha256"
echo "generating a ${size_mib} MiB layer..." >&2
mkdir -p "$work/rootfs"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/rootfs/big.bin"
tar -C "$work/rootfs" -cf "$work/layer.tar" big.bin
rm -rf "$work/rootfs"
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -1 -c "$work/layer.tar" > "$work/layer.tar.gz"; rm "$work/layer.tar"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$L/blobs/sha256/$layer"
put() { local d; d=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1); printf '%s' "$1" > "$L/blobs/sha256/$d"; echo "$d"; }
config=$(put "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}")
config_size=$(stat -c %s "$L/blobs/sha256/$config")
manifest_json="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}"
manifest=$(put "$manifest_json")
printf '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"big"}}]}' \
  "$manifest" "${#manifest_json}" > "$L/index.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 & reg_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done

peak() { # command... -> prints "KB SECONDS"
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
  local kb s
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  s=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  echo "$kb $s"
}
read -r pyko_kb pyko_s < <(peak "$pyko_push" "$L" "127.0.0.1:$port/bench/pyko:big")
read -r skopeo_kb skopeo_s < <(peak skopeo copy --quiet --dest-tls-verify=false "oci:$L:big" "docker://127.0.0.1:$port/bench/skopeo:big")

# The registry holds the whole layer in pyko's repository.
len=$(curl -sfI "http://127.0.0.1:$port/v2/bench/pyko/blobs/sha256:$layer" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length" {print $2}')
[ "$len" = "$layer_size" ] || { echo "registry has $len bytes of the layer, expected $layer_size" >&2; exit 1; }

ratio=$(awk -v a="$pyko_kb" -v b="$skopeo_kb" 'BEGIN {printf "%.2f", a / b}')
echo "layer: $layer_size bytes"
echo "pyko push:   peak RSS $((pyko_kb / 1024)) MiB, wall $pyko_s"
echo "skopeo copy: peak RSS $((skopeo_kb / 1024)) MiB, wall $skopeo_s"
echo "ratio pyko/skopeo (peak RSS): $ratio"
if [ "$pyko_kb" -ge "$limit_kb" ]; then
  echo "FAIL: pyko peak RSS $((pyko_kb / 1024)) MiB >= 100 MiB" >&2
  exit 1
fi
