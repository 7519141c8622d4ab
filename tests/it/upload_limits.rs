//! Registries that refuse large request bodies (a proxy's 413) or ask for
//! a minimum chunk (`OCI-Chunk-Min-Length`): a real registry behind the
//! fault proxy, which enforces the limit and logs every body's size.

use crate::common::blobs::{skopeo_raw, test_image};
use crate::common::faults::{Fault, FaultProxy, Rule};
use crate::common::fixtures::{self, Flavour};
use crate::common::registry::{free_port, Registry, RegistryOptions};
use pyko::{push, Cache, Client, ClientOptions, Reference};

const LIMIT: usize = 3 << 20;

/// A registry whose upload Locations point at the proxy, so every upload
/// request passes the limit; `min` is announced on each POST.
fn limited(limit: usize, min: usize) -> (Registry, FaultProxy) {
    let port = free_port();
    let reg = Registry::start_with(RegistryOptions {
        public_url: Some(format!("http://127.0.0.1:{port}")),
        ..Default::default()
    });
    let uploads = "^/v2/.*/blobs/uploads/";
    let proxy = FaultProxy::start_at(
        port,
        &reg.host,
        vec![
            Rule::always("PUT", uploads, Fault::BodyLimit(limit)),
            Rule::always("PATCH", uploads, Fault::BodyLimit(limit)),
            Rule::always("POST", uploads, Fault::ChunkMinLength(min)),
        ],
    );
    (reg, proxy)
}

fn client() -> Client {
    Client::new(ClientOptions {
        auth_files: Some(vec![]),
        ..Default::default()
    })
    .unwrap()
}

/// `(method, status, body bytes)` of each upload request in the log.
fn uploads(proxy: &FaultProxy, from: usize) -> Vec<(String, String, usize)> {
    proxy.log()[from..]
        .iter()
        .filter(|l| l.contains("/blobs/uploads/"))
        .map(|l| {
            let mut words = l.split(' ');
            let method = words.next().unwrap().to_string();
            let status = l.split(" -> ").nth(1).unwrap()[..3].to_string();
            let body = l
                .rsplit_once(" body=")
                .map_or(0, |(_, n)| n.parse().unwrap());
            (method, status, body)
        })
        .collect()
}

#[test]
fn a_registry_refusing_large_bodies_gets_chunks_it_takes_and_the_size_is_remembered() {
    let min = 1536 << 10;
    let (reg, proxy) = limited(LIMIT, min);
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let client = client();
    // Random bytes: each layer blob is about as large as its data.
    let image = test_image(dir.path(), "amd64", &[10_000_000, 1000]);
    let dest: Reference = format!("{}/team/app:v1", proxy.host).parse().unwrap();
    let digest = push(&client, &image, &cache, &dest).unwrap();
    assert_eq!(digest, image.manifest_blob().digest);
    // What the registry holds is what was pushed, every byte: skopeo
    // copies it out and checks each blob against its digest.
    let stored = format!("{}/team/app:v1", reg.host);
    assert_eq!(skopeo_raw(&reg, &stored), image.manifest_blob().bytes);
    let out = dir.path().join("copy");
    crate::common::run::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{stored}"),
        &format!("dir:{}", out.display()),
    ]);
    for l in &image.layers {
        let got = std::fs::read(out.join(l.layer.digest.hex())).unwrap();
        assert_eq!(got.len() as u64, l.layer.size);
    }

    let log = uploads(&proxy, 0);
    let refused = log.iter().filter(|(_, s, _)| s == "413").count();
    assert!(refused >= 1, "{:#?}", proxy.log());
    for (method, status, body) in &log {
        if status != "413" {
            assert!(
                *body <= LIMIT,
                "{method} of {body} bytes: {:#?}",
                proxy.log()
            );
        }
    }
    let patches: Vec<usize> = log
        .iter()
        .filter(|(m, s, _)| m == "PATCH" && s == "202")
        .map(|(_, _, b)| *b)
        .collect();
    // The big layer, in chunks of at least the announced minimum (the last
    // one excepted), adding up to the blob.
    let big = image.layers[0].layer.size as usize;
    assert_eq!(patches.iter().sum::<usize>(), big, "{:#?}", proxy.log());
    assert!(
        patches[..patches.len() - 1].iter().all(|b| *b >= min),
        "{patches:?}"
    );

    // The next big blob to that registry goes in chunks straight away.
    let mark = proxy.log().len();
    let second = test_image(dir.path(), "arm64", &[6_000_000]);
    let dest: Reference = format!("{}/team/app:v2", proxy.host).parse().unwrap();
    push(&client, &second, &cache, &dest).unwrap();
    let log = uploads(&proxy, mark);
    assert!(log.iter().all(|(_, s, _)| s != "413"), "{log:#?}");
    assert!(log.iter().any(|(m, _, _)| m == "PATCH"), "{log:#?}");
}

#[test]
fn a_limit_below_any_sane_chunk_is_an_error_that_says_what_to_raise() {
    let (_reg, proxy) = limited(300 << 10, 0);
    let dir = tempfile::tempdir().unwrap();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let image = test_image(dir.path(), "amd64", &[4_000_000]);
    let dest: Reference = format!("{}/team/app:v1", proxy.host).parse().unwrap();
    let err = push(&client(), &image, &cache, &dest)
        .unwrap_err()
        .to_string();
    let blob = image.layers[0].layer.digest.to_string();
    assert!(
        err.contains("413") && err.contains(&blob) && err.contains("client_max_body_size"),
        "{err}"
    );
    // It gave up after halving to the floor: 4 MB whole, 2 MB, 1 MB.
    let refused = uploads(&proxy, 0)
        .iter()
        .filter(|(_, s, _)| s == "413")
        .count();
    assert_eq!(refused, 3, "{:#?}", proxy.log());
}

/// A layer streamed while it is written goes as one PATCH; a registry that
/// refuses a body that large (413) gets it again the ordinary way, in
/// chunks it takes, and the build succeeds with every blob intact.
#[test]
fn a_streamed_layer_refused_for_its_size_is_sent_again_in_chunks() {
    let (reg, proxy) = limited(LIMIT, 0);
    // The base comes from another registry: the limit is on the way in.
    let bases = Registry::start();
    let base = fixtures::push_base(&bases, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let dest = format!("{}/team/app:v1", proxy.host);
    let out = fixtures::push_example(&base, &dest, &tmp.path().join("cache"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let log = uploads(&proxy, 0);
    // The streamed PATCHes: refused only once the whole layer was sent.
    let refused: Vec<usize> = log
        .iter()
        .filter(|(m, s, _)| m == "PATCH" && s == "413")
        .map(|(_, _, b)| *b)
        .collect();
    for (method, status, body) in &log {
        if status != "413" {
            assert!(*body <= LIMIT, "{method} of {body} bytes: {log:#?}");
        }
    }
    // Every blob is in the registry under its digest: skopeo checks each
    // one as it copies them out.
    let stored = format!("{}/team/app:v1", reg.host);
    let copy = tmp.path().join("copy");
    crate::common::run::skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{stored}"),
        &format!("dir:{}", copy.display()),
    ]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("manifest.json")).unwrap()).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert!(layers.len() >= 10, "{manifest}");
    for l in layers {
        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
        let got = std::fs::read(copy.join(hex)).unwrap();
        assert_eq!(got.len() as u64, l["size"].as_u64().unwrap());
    }
    // Every blob counts once, whole, however many requests it took.
    for l in layers {
        let hex = &l["digest"].as_str().unwrap()["sha256:".len()..][..12];
        let said = err.matches(&format!("] uploaded blob {hex}:")).count();
        assert_eq!(said, 1, "{hex}:\n{err}");
    }
    assert!(
        err.contains(&format!("blobs {} uploaded", layers.len() + 1)),
        "{err}"
    );
    // A whole layer went in one PATCH: it was streamed (the ordinary
    // path sends a whole blob only with PUT).
    let sizes: Vec<usize> = layers
        .iter()
        .map(|l| l["size"].as_u64().unwrap() as usize)
        .collect();
    assert!(
        refused.iter().any(|b| *b > 20 << 20 && sizes.contains(b)),
        "refused PATCHes {refused:?}, layers {sizes:?}"
    );
}
