//! Per-wheel deps layers on the example app, with the registry's access log
//! as the witness: a layer per big wheel and a few groups of small ones;
//! one pin changed uploads exactly one deps layer; two apps that share
//! numpy share its layer digest, byte for byte, even built from two caches.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fixtures::{self, Flavour};
use crate::common::registry::Registry;
use crate::common::run::pyko;

/// Layers of `reference`, each with its config history line.
fn layers(reg: &Registry, reference: &str) -> Vec<(String, String)> {
    let m = fixtures::inspect_raw(reg, reference);
    let out = Command::new("skopeo")
        .args(["inspect", "--config"])
        .args(reg.skopeo_args())
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let history: Vec<String> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["empty_layer"].as_bool() != Some(true))
        .map(|h| h["created_by"].as_str().unwrap_or("").to_string())
        .collect();
    let digests: Vec<String> = fixtures::layer_digests(&m);
    assert_eq!(history.len(), digests.len(), "{history:#?}");
    digests.into_iter().zip(history).collect()
}

fn build(reg: &Registry, base: &str, wheels: &Path, cache: &Path, dest: &str) -> String {
    let out = pyko(
        &[
            "build",
            "--from",
            base,
            "--wheels",
            wheels.to_str().unwrap(),
            "--app",
            fixtures::example_app().to_str().unwrap(),
            "--push",
            &format!("{}/{dest}", reg.host),
        ],
        cache,
    );
    assert!(
        out.status.success(),
        "pyko: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let digest = stdout.trim().rsplit_once('@').unwrap().1;
    let repo = dest.split_once(':').unwrap().0;
    format!("{}/{repo}@{digest}", reg.host)
}

/// A copy of the wheelhouse with `itsdangerous` re-pinned from 2.2.0 to a
/// 2.2.0.post1 made from the same files (new METADATA version, dist-info
/// name and RECORD), the way a new release of a small dependency lands.
fn repinned_wheelhouse(dir: &Path) -> PathBuf {
    let out = dir.join("wheels-repinned");
    std::fs::create_dir(&out).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if !n.starts_with("itsdangerous-") {
            std::fs::copy(&p, out.join(n)).unwrap();
        }
    }
    let script = r#"
import base64, hashlib, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
old, new = "itsdangerous-2.2.0.dist-info/", "itsdangerous-2.2.0.post1.dist-info/"
files = {}
with zipfile.ZipFile(src) as z:
    for n in z.namelist():
        data = z.read(n)
        if n == old + "METADATA":
            data = data.replace(b"Version: 2.2.0\n", b"Version: 2.2.0.post1\n", 1)
        if n.startswith(old):
            n = new + n[len(old):]
        files[n] = data
rows = []
for n, data in files.items():
    if n == new + "RECORD":
        continue
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    rows.append(f"{n},sha256={h},{len(data)}")
rows.append(new + "RECORD,,")
files[new + "RECORD"] = ("\n".join(rows) + "\n").encode()
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for n, data in files.items():
        z.writestr(n, data)
"#;
    let src = fixtures::wheelhouse().join("itsdangerous-2.2.0-py3-none-any.whl");
    let st = Command::new("python3")
        .args(["-c", script])
        .arg(&src)
        .arg(out.join("itsdangerous-2.2.0.post1-py3-none-any.whl"))
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// Digests of blobs uploaded (`PUT …/blobs/uploads/…?digest=…`) in `log`
/// after byte `from`.
fn uploaded(log: &str, from: usize) -> Vec<String> {
    log[from..]
        .lines()
        .filter(|l| l.contains("\"PUT /v2/") && l.contains("/blobs/uploads/"))
        .filter_map(|l| {
            let d = l.split("digest=").nth(1)?;
            let d = d.split([' ', '&', '"']).next()?;
            Some(d.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

#[test]
fn a_layer_per_big_wheel_one_pin_one_upload_shared_numpy() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let a = build(&reg, &base, &fixtures::wheelhouse(), &cache, "demo/app:a");
    let la = layers(&reg, &a);
    // The base's layers come first (its history is not pyko's).
    let skip = la
        .iter()
        .take_while(|(_, h)| !h.starts_with("pyko:"))
        .count();
    assert!(skip >= 1);
    let deps: Vec<&(String, String)> = la[skip..la.len() - 1].iter().collect();
    // The documented grouping: the 8 wheels over 10 MB installed alone
    // (largest first), the other 31 in at most 4 groups.
    let alone = [
        "pyarrow",
        "scipy",
        "numpy",
        "pydeck",
        "pandas",
        "streamlit",
        "scikit-learn",
        "pillow",
    ];
    assert!(
        deps.len() > alone.len() && deps.len() <= alone.len() + 4,
        "{deps:#?}"
    );
    for (i, name) in alone.iter().enumerate() {
        let h = &deps[i].1;
        assert!(
            h.starts_with(&format!("pyko: pip install {name}==")) && h.matches("==").count() == 1,
            "layer {i}: {h}"
        );
    }
    let grouped: usize = deps[alone.len()..]
        .iter()
        .map(|(_, h)| h.matches("==").count())
        .sum();
    assert_eq!(grouped, 31, "{deps:#?}");
    assert!(la.last().unwrap().1.starts_with("pyko: COPY . "));

    // One pin changed: exactly one deps layer differs, and it is the only
    // layer uploaded (plus the config).
    let repinned = repinned_wheelhouse(tmp.path());
    let before = reg.log().len();
    let b = build(&reg, &base, &repinned, &cache, "demo/app:b");
    let lb = layers(&reg, &b);
    assert_eq!(lb.len(), la.len());
    let changed: Vec<usize> = (0..la.len()).filter(|&i| la[i].0 != lb[i].0).collect();
    assert_eq!(changed.len(), 1, "{la:#?}\n{lb:#?}");
    assert!(
        lb[changed[0]].1.contains("itsdangerous==2.2.0.post1"),
        "{lb:#?}"
    );
    let up = uploaded(&reg.log(), before);
    let layer_ups: Vec<&String> = up
        .iter()
        .filter(|d| lb.iter().any(|(l, _)| l == *d))
        .collect();
    assert_eq!(layer_ups, vec![&lb[changed[0]].0], "uploads: {up:#?}");
    assert_eq!(up.len(), 2, "the changed layer and the config: {up:#?}");

    // Another app with numpy (and a fresh cache, so it is really rebuilt)
    // gets the very same numpy layer.
    let small = tmp.path().join("wheels-numpy");
    std::fs::create_dir(&small).unwrap();
    for p in std::fs::read_dir(fixtures::wheelhouse()).unwrap() {
        let p = p.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with("numpy-") || n.starts_with("packaging-") {
            std::fs::copy(&p, small.join(n)).unwrap();
        }
    }
    let c = build(
        &reg,
        &base,
        &small,
        &tmp.path().join("cache-2"),
        "other/app:c",
    );
    let lc = layers(&reg, &c);
    let numpy = |ls: &[(String, String)]| {
        ls.iter()
            .find(|(_, h)| h.starts_with("pyko: pip install numpy=="))
            .map(|(d, _)| d.clone())
            .unwrap()
    };
    assert_eq!(numpy(&lc), numpy(&la), "numpy layer shared across apps");
}

/// Each deps layer is uploaded as soon as it is written, while the next
/// ones compress: a deps layer's upload is said before the last layer is
/// written; each layer blob is asked for (HEAD) and sent (PUT) once, so the
/// push proper did not ask again; and the summary counts each upload once.
#[test]
fn layers_upload_while_the_next_ones_compress() {
    let reg = Registry::start();
    let base = fixtures::push_base(&reg, Flavour::Slim, "library/python:3.11-test");
    let tmp = tempfile::tempdir().unwrap();
    let from = reg.log().len();
    let dest = format!("{}/early/app:1", reg.host);
    let out = fixtures::push_example(&base, &dest, &tmp.path().join("cache"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // "[  2.00s] deps layer sha256:<hex>: …"
    let built: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let hex = l.split("] deps layer sha256:").nth(1)?.split(':').next()?;
            Some((i, hex.to_string()))
        })
        .collect();
    assert!(built.len() >= 9, "{err}");
    let last_written = built.iter().map(|(i, _)| *i).max().unwrap();
    let first_deps_upload = lines
        .iter()
        .position(|l| {
            built
                .iter()
                .any(|(_, hex)| l.contains(&format!("] uploaded blob {}:", &hex[..12])))
        })
        .unwrap_or_else(|| panic!("no deps layer upload said:\n{err}"));
    assert!(
        first_deps_upload < last_written,
        "the first deps upload came after the last layer was written:\n{err}"
    );
    let log = &reg.log()[from..];
    for (_, hex) in &built {
        let heads = log
            .lines()
            .filter(|l| l.contains(&format!("\"HEAD /v2/early/app/blobs/sha256:{hex}")))
            .count();
        assert_eq!(heads, 1, "HEADs of {hex}:\n{log}");
    }
    let ups = uploaded(&reg.log(), from);
    for (_, hex) in &built {
        let n = ups.iter().filter(|d| d.ends_with(hex.as_str())).count();
        assert_eq!(n, 1, "uploads of {hex}: {ups:#?}");
    }
    // The deps layers, the app layer and the config.
    assert_eq!(ups.len(), built.len() + 2, "{ups:#?}");
    assert!(
        err.contains(&format!("blobs {} uploaded", built.len() + 2)),
        "{err}"
    );

    // A layer larger than a stream's start streams while it is written:
    // its upload began well before its last member was written, in one
    // PATCH, and the commit carried nothing.
    let at = |l: &str| {
        l[1..l.find(']').unwrap()]
            .trim()
            .trim_end_matches('s')
            .parse::<f64>()
            .unwrap()
    };
    let took = |l: &str| {
        l.rsplit_once(" in ")
            .unwrap()
            .1
            .split('s')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let mut streamed = 0;
    for (i, hex) in &built {
        let written = lines[*i];
        let Some(up) = lines
            .iter()
            .find(|l| l.contains(&format!("] uploaded blob {}:", &hex[..12])))
        else {
            panic!("no upload said for {hex}:\n{err}")
        };
        let mb: f64 = written
            .split(" entries, ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        if mb < 20.0 {
            continue;
        }
        streamed += 1;
        let started = at(up) - took(up);
        assert!(
            started + 0.3 < at(written),
            "the upload of {hex} ({mb} MB) started at {started:.2}s, not before it was written at {:.2}s:\n{err}",
            at(written)
        );
    }
    assert!(streamed >= 2, "the example has layers over 20 MB:\n{err}");
    let patches = log
        .lines()
        .filter(|l| l.contains("\"PATCH /v2/early/app/blobs/uploads/"))
        .count();
    assert_eq!(patches, streamed, "{log}");

    // A fresh cache (a new CI runner) pushing the same deps: the big
    // layers stream again, the registry turns out to have them, and their
    // sessions are cancelled instead of committed. Nothing is uploaded.
    let tmp2 = tempfile::tempdir().unwrap();
    let from = reg.log().len();
    let dest = format!("{}/early/app:2", reg.host);
    let out = fixtures::push_example(&base, &dest, &tmp2.path().join("cache"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("blobs 0 uploaded"), "{err}");
    let log = &reg.log()[from..];
    assert!(uploaded(&reg.log(), from).is_empty(), "{log}");
    let cancelled = log
        .lines()
        .filter(|l| l.contains("\"DELETE /v2/early/app/blobs/uploads/") && l.contains("\" 204 "))
        .count();
    assert_eq!(cancelled, streamed, "{log}");
}
