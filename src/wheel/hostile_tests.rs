//! Wheels built to attack the image: whiteout names, duplicate members,
//! metadata that inflates without bound. Each is refused naming the wheel
//! and the member.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{install, InstallOptions};
use crate::target::PythonTarget;

fn record_hash(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
    )
}

/// `pkg-1.0-py3-none-any.whl` in `dir` with `files` (besides the
/// dist-info), a correct RECORD, and `rename` applied to the finished
/// archive's bytes (to forge what a zip writer refuses to write).
fn wheel(dir: &Path, files: &[(&str, Vec<u8>)], rename: Option<(&str, &str)>) -> PathBuf {
    build(dir, files, rename, true)
}

/// [`wheel`], with RECORD's size column left empty when `record_sizes` is
/// false (as RECORD allows), so only the archive says how big a member is.
fn build(
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    rename: Option<(&str, &str)>,
    record_sizes: bool,
) -> PathBuf {
    let info = "pkg-1.0.dist-info";
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (n.to_string(), b.clone()))
        .collect();
    all.push((
        format!("{info}/METADATA"),
        b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n".to_vec(),
    ));
    all.push((
        format!("{info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
    ));
    let mut record: String = all
        .iter()
        .map(|(n, b)| {
            let size = if record_sizes {
                b.len().to_string()
            } else {
                String::new()
            };
            format!("{n},{},{size}\n", record_hash(b))
        })
        .collect();
    record.push_str(&format!("{info}/RECORD,,\n"));
    all.push((format!("{info}/RECORD"), record.into_bytes()));
    let path = dir.join("pkg-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in &all {
        zip.start_file(n.as_str(), opts).unwrap();
        zip.write_all(b).unwrap();
    }
    let mut bytes = zip.finish().unwrap().into_inner();
    if let Some((from, to)) = rename {
        assert_eq!(from.len(), to.len());
        let (from, to) = (from.as_bytes(), to.as_bytes());
        let mut i = 0;
        while i + from.len() <= bytes.len() {
            if &bytes[i..i + from.len()] == from {
                bytes[i..i + from.len()].copy_from_slice(to);
            }
            i += 1;
        }
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn install_err(w: &Path) -> String {
    let target = PythonTarget::test_cpython311("amd64");
    match install(
        &[w.to_path_buf()],
        &target,
        &InstallOptions { requested: None },
    ) {
        Ok(_) => panic!("{} installed", w.display()),
        Err(e) => crate::error::chain(&e),
    }
}

#[test]
fn whiteout_members_and_scripts_are_refused() {
    for member in [
        "pkg-1.0.data/scripts/.wh.python3",
        "pkg-1.0.data/scripts/.wh..wh..opq",
        "pkg/.wh.__init__.py",
    ] {
        let t = tempfile::tempdir().unwrap();
        let w = wheel(
            t.path(),
            &[("pkg/__init__.py", b"".to_vec()), (member, b"x".to_vec())],
            None,
        );
        let err = install_err(&w);
        assert!(
            err.contains("pkg-1.0-py3-none-any.whl")
                && err.contains(member)
                && err.contains("whiteout"),
            "{member}: {err}"
        );
    }
    let t = tempfile::tempdir().unwrap();
    let w = wheel(
        t.path(),
        &[
            ("pkg/__init__.py", b"def main(): pass\n".to_vec()),
            (
                "pkg-1.0.dist-info/entry_points.txt",
                b"[console_scripts]\n.wh..wh..opq = pkg:main\n".to_vec(),
            ),
        ],
        None,
    );
    let err = install_err(&w);
    assert!(
        err.contains("pkg-1.0-py3-none-any.whl")
            && err.contains(".wh..wh..opq")
            && err.contains("whiteout"),
        "{err}"
    );
}

#[test]
fn duplicate_members_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let w = wheel(
        t.path(),
        &[
            ("pkg/a.py", b"good = 1\n".to_vec()),
            ("pkg/b.py", b"evil = 1\n".to_vec()),
        ],
        Some(("pkg/b.py", "pkg/a.py")),
    );
    let err = install_err(&w);
    assert!(
        err.contains("pkg-1.0-py3-none-any.whl") && err.contains("twice"),
        "{err}"
    );
}

#[test]
fn metadata_inflating_past_the_cap_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let big = vec![b'#'; (super::archive::MEMBER_READ_LIMIT + 10) as usize];
    let w = wheel(
        t.path(),
        &[
            ("pkg/__init__.py", b"".to_vec()),
            ("pkg-1.0.dist-info/entry_points.txt", big),
        ],
        None,
    );
    let err = install_err(&w);
    assert!(
        err.contains("entry_points.txt") && err.contains("32 MiB"),
        "{err}"
    );
}

/// Rewrites the uncompressed size the archive declares for `name`, in its
/// local header and its central directory entry, as a forged wheel would.
fn forge_size(wheel: &Path, name: &str, size: u32) {
    let mut bytes = std::fs::read(wheel).unwrap();
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(46) {
        // (signature, offset of the name, offset of the uncompressed size)
        let at = match bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => (30, 22),
            [0x50, 0x4b, 0x01, 0x02] => (46, 24),
            _ => continue,
        };
        if bytes[i + at.0..].starts_with(name.as_bytes()) {
            bytes[i + at.1..i + at.1 + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "{name}: local header and central entry");
    std::fs::write(wheel, bytes).unwrap();
}

/// A member that inflates to more or less than the archive declares is
/// refused while the layer is written, small or streamed over many reads,
/// naming the wheel and the member and saying what to do.
#[test]
fn members_inflating_to_other_than_their_declared_size_are_refused() {
    use crate::layer::Node;
    let target = PythonTarget::test_cpython311("amd64");
    for len in [1000usize, 5 << 20] {
        for lie in [-1i64, 1] {
            let t = tempfile::tempdir().unwrap();
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let w = build(t.path(), &[("pkg/data.bin", data)], None, false);
            forge_size(&w, "pkg/data.bin", (len as i64 + lie) as u32);
            let inst = install(&[w], &target, &InstallOptions { requested: None }).unwrap();
            let entry = inst
                .entries
                .iter()
                .find(|e| e.path.ends_with("pkg/data.bin"))
                .unwrap();
            let Node::File { size, contents } = &entry.node else {
                panic!("{} is not a file", entry.path)
            };
            assert_eq!(*size, (len as i64 + lie) as u64);
            let err = contents.write_to(&mut Vec::new()).unwrap_err().to_string();
            assert!(
                err.contains("pkg-1.0-py3-none-any.whl")
                    && err.contains("pkg/data.bin")
                    && err.contains("download it again"),
                "{len} {lie}: {err}"
            );
        }
    }
}
