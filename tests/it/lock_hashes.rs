//! Issue 17 hole 5: hash pinning cannot be skipped silently. A locked
//! wheel without a sha256 is named on stderr (refused with
//! `--require-hashes`); a `--wheels DIR` wheel standing for a locked one
//! must have the lock's hash. On the old code the unhashed wheel installed
//! without a word and the tampered local wheel was installed.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::fixtures::{self, Flavour, BASE_TAG};
use crate::common::index::sha256_hex;
use crate::common::run::pyko;

fn idna() -> PathBuf {
    fixtures::wheel("idna-3.20-")
}

fn lock(dir: &Path, wheel: &str) -> PathBuf {
    let p = dir.join("pylock.toml");
    let text = format!(
        "lock-version = \"1.0\"\ncreated-by = \"hand\"\n\n[[packages]]\nname = \"idna\"\nversion = \"3.20\"\nwheels = [{wheel}]\n"
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn build(dir: &Path, extra: &[&str], out: &Path) -> (Output, String) {
    let from = format!(
        "oci-layout:{}:{BASE_TAG}",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let mut args = vec!["build", "--from", &from, "--tag", "app:1"];
    args.extend(["--oci-layout", out.to_str().unwrap()]);
    args.extend(extra);
    let o = pyko(&args, &dir.join("cache"));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o, err)
}

#[test]
fn an_unhashed_lock_entry_is_named_and_refused_with_require_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = idna();
    let lock = lock(dir.path(), &format!("{{ path = \"{}\" }}", wheel.display()));
    let lock = lock.to_str().unwrap();

    let out = dir.path().join("out1");
    let (o, err) = build(dir.path(), &["--lock", lock], &out);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("idna==3.20 (") && err.contains("the lock gives no sha256 for"),
        "{err}"
    );
    assert!(err.contains(&*wheel.to_string_lossy()), "{err}");
    assert!(err.contains("installed unverified"), "{err}");

    let out = dir.path().join("out2");
    let (o, err) = build(dir.path(), &["--lock", lock, "--require-hashes"], &out);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("idna==3.20") && err.contains("pylock.toml"),
        "{err}"
    );
    assert!(err.contains("--require-hashes refuses"), "{err}");
    assert!(!out.exists(), "no output after a refusal");
}

#[test]
fn a_local_wheel_must_have_the_locks_hash() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = idna();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    // The lock names a URL that is never fetched: the local wheel stands in.
    let lock = lock(
        dir.path(),
        &format!(
            "{{ url = \"http://127.0.0.1:9/files/{name}\", hashes = {{ sha256 = \"{}\" }} }}",
            sha256_hex(&wheel)
        ),
    );
    let lock = lock.to_str().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let local = mine.join(&name);

    // A tampered wheel under the locked name: refused, naming both.
    let mut bytes = std::fs::read(&wheel).unwrap();
    bytes.extend_from_slice(b"trojan");
    std::fs::write(&local, bytes).unwrap();
    let out = dir.path().join("out1");
    let wheels = mine.to_str().unwrap();
    let (o, err) = build(dir.path(), &["--lock", lock, "--wheels", wheels], &out);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("local wheel {}", local.display())),
        "{err}"
    );
    assert!(err.contains(&sha256_hex(&local)), "{err}");
    assert!(err.contains(&sha256_hex(&wheel)), "{err}");
    assert!(err.contains(&format!("127.0.0.1:9/files/{name}")), "{err}");
    assert!(!out.exists());

    // The real file: used, nothing downloaded, no warning.
    std::fs::copy(&wheel, &local).unwrap();
    let out = dir.path().join("out2");
    let (o, err) = build(dir.path(), &["--lock", lock, "--wheels", wheels], &out);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("unverified"), "{err}");
    assert!(err.contains("local)"), "{err}");
}

#[test]
fn require_hashes_flag_refuses_an_unhashed_requirement_before_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("requirements.txt");
    std::fs::write(&req, "idna==3.20\n").unwrap();
    let out = dir.path().join("out");
    let r = req.to_str().unwrap();
    let args = [
        "-r",
        r,
        "--require-hashes",
        "--index-url",
        "http://127.0.0.1:9/simple/",
    ];
    let (o, err) = build(dir.path(), &args, &out);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("requirements.txt:1: \"idna==3.20\""), "{err}");
    assert!(
        err.contains("--require-hashes is given") && err.contains("no --hash"),
        "{err}"
    );
    assert!(
        !err.contains("127.0.0.1:9"),
        "the index is never asked: {err}"
    );
    assert!(!out.exists());
}
