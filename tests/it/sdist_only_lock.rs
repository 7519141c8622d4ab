//! Issue 13, "wheels the user brings count": a lock entry with only an
//! sdist is filled by a wheel of the same name and version from `--wheels
//! DIR` (stderr says its hash could not be checked against the lock); with
//! no such wheel the build fails naming the package and what to do.

use std::path::{Path, PathBuf};

use crate::common::fixtures::{self, unpack_oci, Flavour, BASE_TAG};
use crate::common::index::sha256_hex;
use crate::common::run::pyko;

/// A PEP 751 lock: idna as a locked wheel (a local path, hashed), h11 with
/// only an sdist (never fetched: the test passes --no-build, and a user's
/// wheel wins over building).
fn write_lock(dir: &Path) -> PathBuf {
    let idna = fixtures::wheel("idna-3.20-");
    let text = format!(
        r#"lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "idna"
version = "3.20"
wheels = [{{ path = "{}", hashes = {{ sha256 = "{}" }} }}]

[[packages]]
name = "h11"
version = "0.16.0"
sdist = {{ url = "https://example.invalid/files/h11-0.16.0.tar.gz", hashes = {{ sha256 = "{}" }} }}
"#,
        idna.display(),
        sha256_hex(&idna),
        "ab".repeat(32)
    );
    let p = dir.join("pylock.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_users_wheel_stands_for_an_sdist_only_lock_entry() {
    let dir = tempfile::tempdir().unwrap();
    let lock = write_lock(dir.path());
    let from = format!(
        "oci-layout:{}:{BASE_TAG}",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let run = |wheels: Option<&Path>, out: &Path| {
        let mut args = vec![
            "build",
            "--from",
            &from,
            "--lock",
            lock.to_str().unwrap(),
            "--oci-layout",
            out.to_str().unwrap(),
            "--tag",
            "app:1",
            "--no-build",
        ];
        if let Some(w) = wheels {
            args.extend(["--wheels", w.to_str().unwrap()]);
        }
        pyko(&args, &dir.path().join("cache"))
    };

    // No wheel for h11 anywhere: refused, naming it, nothing written.
    let out1 = dir.path().join("out1");
    let o = run(None, &out1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("h11==0.16.0"), "{err}");
    assert!(err.contains("pylock.toml [h11]"), "{err}");
    assert!(err.contains("lists only an sdist"), "{err}");
    assert!(err.contains("--wheels DIR"), "{err}");
    assert!(err.contains("--no-build forbids building it"), "{err}");
    assert!(!out1.exists());

    // A wheel dir with a wrong version of h11 does not count either.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let h11 = fixtures::wheel("h11-0.16.0-");
    std::fs::copy(&h11, mine.join("h11-0.15.0-py3-none-any.whl")).unwrap();
    let o = run(Some(&mine), &out1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("--wheels DIR has no wheel of it"), "{err}");
    std::fs::remove_file(mine.join("h11-0.15.0-py3-none-any.whl")).unwrap();

    // The user's own wheel: used, said so, installed and importable.
    std::fs::copy(&h11, mine.join(h11.file_name().unwrap())).unwrap();
    let out2 = dir.path().join("out2");
    let o = run(Some(&mine), &out2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("h11==0.16.0") && err.contains("hash cannot be checked against the lock"),
        "{err}"
    );
    let root = unpack_oci(&out2, "app:1");
    let got = root.chroot_ok(&[
        "python3",
        "-c",
        "import h11, idna, importlib.metadata as m; print(m.version('h11'), m.version('idna'), h11.__file__)",
    ]);
    assert_eq!(
        got.trim(),
        "0.16.0 3.20 /usr/local/lib/python3.11/site-packages/h11/__init__.py"
    );
}

/// The same for `-r`: the index has only an sdist of h11, and the user's
/// wheel of that version fills it.
#[test]
fn a_users_wheel_stands_for_an_sdist_only_index_version() {
    use crate::common::index::IndexServer;
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(&[fixtures::wheel("idna-3.20-")], false);
    let h11_dir = server.root.join("simple/h11");
    std::fs::create_dir_all(&h11_dir).unwrap();
    std::fs::write(server.root.join("files/h11-0.16.0.tar.gz"), b"never built").unwrap();
    std::fs::write(
        h11_dir.join("index.html"),
        "<a href=\"../../files/h11-0.16.0.tar.gz\">h11-0.16.0.tar.gz</a>",
    )
    .unwrap();
    let req = dir.path().join("requirements.txt");
    std::fs::write(&req, "h11==0.16.0\nidna==3.20\n").unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let h11 = fixtures::wheel("h11-0.16.0-");
    std::fs::copy(&h11, mine.join(h11.file_name().unwrap())).unwrap();
    let from = format!(
        "oci-layout:{}:{BASE_TAG}",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let out = dir.path().join("out");
    let o = pyko(
        &[
            "build",
            "--from",
            &from,
            "-r",
            req.to_str().unwrap(),
            "--wheels",
            mine.to_str().unwrap(),
            "--index-url",
            &server.url,
            "--oci-layout",
            out.to_str().unwrap(),
            "--tag",
            "app:1",
        ],
        &dir.path().join("cache"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = unpack_oci(&out, "app:1");
    let got = root.chroot_ok(&[
        "python3",
        "-c",
        "import importlib.metadata as m; print(m.version('h11'), m.version('idna'))",
    ]);
    assert_eq!(got.trim(), "0.16.0 3.20");
}
