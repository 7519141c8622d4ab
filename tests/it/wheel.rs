//! The wheel installer against wheels these tests build themselves, and
//! against what the host's pip writes for the same wheels.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pyko::Platform;
use pyko::{find_wheels, install_wheels as install, InstallOptions, Installation, WheelError};
use pyko::{Entry, Node};
use pyko::{Libc, PythonTarget, Scheme};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::common::fixtures::require_tool;

// ---------------------------------------------------------------- builders

/// A wheel described in memory; `build` writes it with a correct RECORD
/// unless told to break something.
#[derive(Clone)]
struct WheelSpec {
    name: String,
    version: String,
    tag: String,
    purelib: bool,
    wheel_version: String,
    requires: Vec<String>,
    entry_points: Option<String>,
    files: Vec<(String, Vec<u8>, u32)>,
    /// Replaces a file's bytes after RECORD is computed.
    tamper: Option<(String, Vec<u8>)>,
    /// Written to the zip but left out of RECORD.
    unrecorded: Vec<(String, Vec<u8>)>,
    /// Listed in RECORD but not written to the zip.
    phantom: Vec<String>,
    symlinks: Vec<(String, String)>,
}

impl WheelSpec {
    fn new(name: &str, version: &str) -> WheelSpec {
        WheelSpec {
            name: name.into(),
            version: version.into(),
            tag: "py3-none-any".into(),
            purelib: true,
            wheel_version: "1.0".into(),
            requires: vec![],
            entry_points: None,
            files: vec![(
                format!("{}/__init__.py", name.replace('-', "_").to_lowercase()),
                format!("NAME = {name:?}\n").into_bytes(),
                0o644,
            )],
            tamper: None,
            unrecorded: vec![],
            phantom: vec![],
            symlinks: vec![],
        }
    }

    fn tag(mut self, tag: &str, purelib: bool) -> Self {
        self.tag = tag.into();
        self.purelib = purelib;
        self
    }

    fn file(mut self, path: &str, bytes: &[u8], mode: u32) -> Self {
        self.files.push((path.into(), bytes.to_vec(), mode));
        self
    }

    fn requires(mut self, req: &str) -> Self {
        self.requires.push(req.into());
        self
    }

    fn escaped(&self) -> String {
        self.name.replace('-', "_")
    }

    fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.escaped(), self.version)
    }

    fn data(&self) -> String {
        format!("{}-{}.data", self.escaped(), self.version)
    }

    fn file_name(&self) -> String {
        format!("{}-{}-{}.whl", self.escaped(), self.version, self.tag)
    }

    fn build(&self, dir: &Path) -> PathBuf {
        let di = self.dist_info();
        let mut files = self.files.clone();
        let mut metadata = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        for r in &self.requires {
            metadata.push_str(&format!("Requires-Dist: {r}\n"));
        }
        metadata.push_str("\nA description.\n");
        files.push((format!("{di}/METADATA"), metadata.into_bytes(), 0o644));
        files.push((
            format!("{di}/WHEEL"),
            format!(
                "Wheel-Version: {}\nGenerator: pyko-tests\nRoot-Is-Purelib: {}\nTag: {}\n",
                self.wheel_version, self.purelib, self.tag
            )
            .into_bytes(),
            0o644,
        ));
        if let Some(ep) = &self.entry_points {
            files.push((
                format!("{di}/entry_points.txt"),
                ep.clone().into_bytes(),
                0o644,
            ));
        }
        let mut record = String::new();
        for (path, bytes, _) in &files {
            let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
            record.push_str(&format!("{path},sha256={hash},{}\n", bytes.len()));
        }
        for path in &self.phantom {
            record.push_str(&format!(
                "{path},sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
            ));
        }
        record.push_str(&format!("{di}/RECORD,,\n"));

        let path = dir.join(self.file_name());
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let opts = |mode: u32| {
            SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(mode)
        };
        for (name, bytes, mode) in &files {
            let bytes = match &self.tamper {
                Some((t, b)) if t == name => b,
                _ => bytes,
            };
            zip.start_file(name.as_str(), opts(*mode)).unwrap();
            zip.write_all(bytes).unwrap();
        }
        for (name, bytes) in &self.unrecorded {
            zip.start_file(name.as_str(), opts(0o644)).unwrap();
            zip.write_all(bytes).unwrap();
        }
        for (name, target) in &self.symlinks {
            zip.add_symlink(name.as_str(), target.as_str(), opts(0o777))
                .unwrap();
        }
        zip.start_file(format!("{di}/RECORD"), opts(0o644)).unwrap();
        zip.write_all(record.as_bytes()).unwrap();
        zip.finish().unwrap();
        path
    }
}

fn target() -> PythonTarget {
    PythonTarget {
        major: 3,
        minor: 11,
        interpreter: "/usr/local/bin/python3".into(),
        scheme: Scheme {
            purelib: "/usr/local/lib/python3.11/site-packages".into(),
            platlib: "/usr/local/lib/python3.11/site-packages".into(),
            scripts: "/usr/local/bin".into(),
            data: "/usr/local".into(),
            headers: "/usr/local/include/python3.11".into(),
        },
        platform: Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        },
        libc: Libc::Glibc {
            major: 2,
            minor: 36,
        },
    }
}

fn all() -> InstallOptions {
    InstallOptions { requested: None }
}

const SP: &str = "usr/local/lib/python3.11/site-packages";

/// Streams every entry, as the layer writer would: path → (bytes, mode).
fn materialize(inst: &Installation) -> BTreeMap<String, (Vec<u8>, u32)> {
    inst.entries
        .iter()
        .filter_map(|e| match &e.node {
            Node::File { size, contents } => {
                let mut buf = Vec::new();
                contents.write_to(&mut buf).unwrap();
                assert_eq!(buf.len() as u64, *size, "{}", e.path);
                Some((e.path.clone(), (buf, e.mode)))
            }
            _ => None,
        })
        .collect()
}

fn text(files: &BTreeMap<String, (Vec<u8>, u32)>, path: &str) -> String {
    let (bytes, _) = files
        .get(path)
        .unwrap_or_else(|| panic!("{path} not installed; have {:?}", files.keys()));
    String::from_utf8(bytes.clone()).unwrap()
}

fn install_err(wheels: &[PathBuf]) -> String {
    match install(wheels, &target(), &all()) {
        Ok(_) => panic!("install succeeded"),
        Err(e) => e.to_string(),
    }
}

// ------------------------------------------------------------------- tests

#[test]
fn installs_purelib_and_platlib_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let pure = WheelSpec::new("pure-pkg", "1.0").build(dir.path());
    let native = WheelSpec::new("native", "2.0")
        .tag(
            "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
            false,
        )
        .file("native/_ext.so", b"\x7fELF...", 0o755)
        .build(dir.path());
    let mut t = target();
    t.scheme.platlib = "/usr/local/lib64/python3.11/site-packages".into();
    let inst = install(&[pure.clone(), native], &t, &all()).unwrap();
    let files = materialize(&inst);
    assert_eq!(
        text(&files, &format!("{SP}/pure_pkg/__init__.py")),
        "NAME = \"pure-pkg\"\n"
    );
    let lib64 = "usr/local/lib64/python3.11/site-packages";
    assert_eq!(files[&format!("{lib64}/native/_ext.so")].1, 0o755);
    assert_eq!(files[&format!("{lib64}/native/__init__.py")].1, 0o644);
    assert_eq!(
        text(&files, &format!("{lib64}/native-2.0.dist-info/INSTALLER")),
        "pip\n"
    );
    assert_eq!(
        text(&files, &format!("{lib64}/native-2.0.dist-info/REQUESTED")),
        ""
    );
    let record = text(&files, &format!("{SP}/pure_pkg-1.0.dist-info/RECORD"));
    let lines: Vec<&str> = record.split_terminator("\r\n").collect();
    assert_eq!(
        lines,
        [
            "pure_pkg-1.0.dist-info/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4",
            lines[1],
            "pure_pkg-1.0.dist-info/RECORD,,",
            "pure_pkg-1.0.dist-info/REQUESTED,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0",
            lines[4],
            lines[5],
        ]
    );
    assert!(lines[1].starts_with("pure_pkg-1.0.dist-info/METADATA,sha256="));
    assert!(lines[5].starts_with("pure_pkg/__init__.py,sha256="));
    let names: Vec<(&str, &str)> = inst
        .distributions
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_str()))
        .collect();
    assert_eq!(names, [("native", "2.0"), ("pure-pkg", "1.0")]);
    assert_eq!(inst.distributions[1].wheel, pure);
    assert!(inst.warnings.is_empty());
}

#[test]
fn data_scripts_headers_and_data_follow_the_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec::new("Tool_Kit", "0.3");
    let data = spec.data();
    let wheel = spec
        .file(
            &format!("{data}/scripts/tk"),
            b"#!python\nprint('tk')\n",
            0o644,
        )
        .file(
            &format!("{data}/scripts/tkw"),
            b"#!pythonw -E\nprint('w')\n",
            0o644,
        )
        .file(
            &format!("{data}/scripts/tk.sh"),
            b"#!/bin/sh\necho tk\n",
            0o644,
        )
        .file(&format!("{data}/headers/tk.h"), b"int tk;\n", 0o644)
        .file(&format!("{data}/data/share/tk/tk.txt"), b"tk data\n", 0o644)
        .file(&format!("{data}/purelib/tk_extra.py"), b"X = 1\n", 0o644)
        .build(dir.path());
    let inst = install(&[wheel], &target(), &all()).unwrap();
    let files = materialize(&inst);
    assert_eq!(
        files["usr/local/bin/tk"],
        (b"#!/usr/local/bin/python3\nprint('tk')\n".to_vec(), 0o755)
    );
    assert_eq!(
        text(&files, "usr/local/bin/tkw"),
        "#!/usr/local/bin/python3\nprint('w')\n"
    );
    assert_eq!(
        files["usr/local/bin/tk.sh"],
        (b"#!/bin/sh\necho tk\n".to_vec(), 0o755)
    );
    assert_eq!(
        text(&files, "usr/local/include/python3.11/Tool_Kit/tk.h"),
        "int tk;\n"
    );
    assert_eq!(text(&files, "usr/local/share/tk/tk.txt"), "tk data\n");
    assert_eq!(text(&files, &format!("{SP}/tk_extra.py")), "X = 1\n");
    let record = text(&files, &format!("{SP}/Tool_Kit-0.3.dist-info/RECORD"));
    let rewritten = b"#!/usr/local/bin/python3\nprint('tk')\n";
    assert!(record.contains(&format!(
        "../../../bin/tk,sha256={},{}\r\n",
        URL_SAFE_NO_PAD.encode(Sha256::digest(rewritten)),
        rewritten.len()
    )));
    assert!(record.contains("../../../include/python3.11/Tool_Kit/tk.h,sha256="));
    assert!(record.contains("../../../share/tk/tk.txt,sha256="));
    assert!(record.contains("\r\ntk_extra.py,sha256="));
}

#[test]
fn console_and_gui_launchers_are_pips() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("app", "1.0");
    spec.entry_points = Some(
        "[console_scripts]\napp = app.cli:main\napp-nested = app:K.L.run [speedups]\n\
         [gui_scripts]\napp-gui = app.gui:start\n[app.plugins]\nx = app:x\n"
            .into(),
    );
    let inst = install(&[spec.build(dir.path())], &target(), &all()).unwrap();
    let files = materialize(&inst);
    let expected = |module: &str, import: &str, call: &str| {
        format!(
            "#!/usr/local/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\
             from {module} import {import}\nif __name__ == '__main__':\n    \
             sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    \
             sys.exit({call}())\n"
        )
    };
    assert_eq!(
        text(&files, "usr/local/bin/app"),
        expected("app.cli", "main", "main")
    );
    assert_eq!(
        text(&files, "usr/local/bin/app-nested"),
        expected("app", "K", "K.L.run")
    );
    assert_eq!(
        text(&files, "usr/local/bin/app-gui"),
        expected("app.gui", "start", "start")
    );
    assert!(!files.contains_key("usr/local/bin/x"));
    for name in ["app", "app-nested", "app-gui"] {
        assert_eq!(files[&format!("usr/local/bin/{name}")].1, 0o755);
    }
    let record = text(&files, &format!("{SP}/app-1.0.dist-info/RECORD"));
    assert!(record.contains("../../../bin/app-gui,sha256="));
}

#[test]
fn long_interpreter_paths_get_the_sh_trampoline() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("app", "1.0");
    spec.entry_points = Some("[console_scripts]\napp = app:main\n".into());
    let mut t = target();
    t.interpreter = format!("/opt/{}/bin/python3", "v".repeat(120));
    let inst = install(&[spec.build(dir.path())], &t, &all()).unwrap();
    let launcher = text(&materialize(&inst), "usr/local/bin/app");
    assert!(launcher.starts_with(&format!(
        "#!/bin/sh\n'''exec' {} \"$0\" \"$@\"\n' '''\n# -*- coding: utf-8 -*-\n",
        t.interpreter
    )));
}

#[test]
fn only_requested_distributions_get_requested() {
    let dir = tempfile::tempdir().unwrap();
    let a = WheelSpec::new("a-pkg", "1.0")
        .requires("b")
        .build(dir.path());
    let b = WheelSpec::new("b", "1.0").build(dir.path());
    let opts = InstallOptions {
        requested: Some(vec!["A_Pkg".into()]),
    };
    let files = materialize(&install(&[a, b], &target(), &opts).unwrap());
    assert!(files.contains_key(&format!("{SP}/a_pkg-1.0.dist-info/REQUESTED")));
    assert!(!files.contains_key(&format!("{SP}/b-1.0.dist-info/REQUESTED")));
    assert!(!text(&files, &format!("{SP}/b-1.0.dist-info/RECORD")).contains("REQUESTED"));
}

#[test]
fn wrong_platform_wheel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelSpec::new("native", "1.0")
        .tag("cp311-cp311-manylinux_2_17_aarch64", false)
        .build(dir.path());
    let err = install_err(&[wheel]);
    assert!(
        err.contains("native-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"),
        "{err}"
    );
    assert!(err.contains("another platform"), "{err}");
    assert!(err.contains("cp311-cp311-manylinux_2_36_x86_64"), "{err}");
    assert!(err.contains("--platform manylinux_2_36_x86_64"), "{err}");

    let py312 = WheelSpec::new("other", "1.0")
        .tag("cp312-cp312-manylinux_2_17_x86_64", false)
        .build(dir.path());
    assert!(install_err(&[py312]).contains("another Python"));
}

#[test]
fn best_of_several_wheels_is_chosen_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let any = WheelSpec::new("multi", "1.0").build(dir.path());
    let native = WheelSpec::new("multi", "1.0")
        .tag("cp311-cp311-manylinux_2_17_x86_64", false)
        .build(dir.path());
    let arm = WheelSpec::new("multi", "1.0")
        .tag("cp311-cp311-manylinux_2_17_aarch64", false)
        .build(dir.path());
    let inst = install(&[any, arm, native.clone()], &target(), &all()).unwrap();
    assert_eq!(inst.distributions.len(), 1);
    assert_eq!(inst.distributions[0].wheel, native);
    assert_eq!(inst.warnings.len(), 1, "{:?}", inst.warnings);
    let w = &inst.warnings[0];
    assert!(
        w.contains("installing multi-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        "{w}"
    );
    assert!(w.contains("multi-1.0-py3-none-any.whl"), "{w}");
}

#[test]
fn bad_record_hash_fails_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("bad", "1.0");
    spec.tamper = Some(("bad/__init__.py".into(), b"NAME = \"BAD\"\n".to_vec()));
    let wheel = spec.build(dir.path());
    let inst = install(std::slice::from_ref(&wheel), &target(), &all()).unwrap();
    let entry: &Entry = inst
        .entries
        .iter()
        .find(|e| e.path == format!("{SP}/bad/__init__.py"))
        .unwrap();
    let Node::File { contents, .. } = &entry.node else {
        panic!()
    };
    let err = contents.write_to(&mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("bad-1.0-py3-none-any.whl"), "{err}");
    assert!(err.contains("bad/__init__.py"), "{err}");
    assert!(err.contains("does not match RECORD"), "{err}");
}

#[test]
fn size_mismatch_with_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("bad", "1.0");
    spec.tamper = Some(("bad/__init__.py".into(), b"x".to_vec()));
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("bad/__init__.py") && err.contains("bytes"),
        "{err}"
    );
}

#[test]
fn large_files_stream_in_chunks_and_verify() {
    struct Counter(u64);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            assert!(buf.len() <= 1 << 20, "wrote a {} byte chunk", buf.len());
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let big = vec![7u8; 24 << 20];
    let wheel = WheelSpec::new("big", "1.0")
        .file("big/blob.bin", &big, 0o644)
        .build(dir.path());
    drop(big);
    let inst = install(&[wheel], &target(), &all()).unwrap();
    let entry = inst
        .entries
        .iter()
        .find(|e| e.path.ends_with("big/blob.bin"))
        .unwrap();
    let Node::File { size, contents } = &entry.node else {
        panic!()
    };
    assert_eq!(*size, 24 << 20);
    let mut out = Counter(0);
    contents.write_to(&mut out).unwrap();
    assert_eq!(out.0, 24 << 20);
}

#[test]
fn zip_slip_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, why)) in [
        ("../../etc/evil", "`..`"),
        ("/etc/evil", "absolute"),
        ("pkg\\..\\evil", "backslash"),
        ("C:/evil", "drive letter"),
    ]
    .into_iter()
    .enumerate()
    {
        let sub = dir.path().join(i.to_string());
        fs::create_dir(&sub).unwrap();
        let mut spec = WheelSpec::new("slip", "1.0");
        spec.unrecorded.push((name.into(), b"x".to_vec()));
        let err = install_err(&[spec.build(&sub)]);
        assert!(
            err.contains(why) && err.contains(&format!("{name:?}")),
            "{name}: {err}"
        );
        assert!(err.contains("slip-1.0-py3-none-any.whl"), "{err}");
    }
    // The same through RECORD alone.
    let mut spec = WheelSpec::new("slip", "1.0");
    spec.phantom.push("../../../../etc/passwd".into());
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("etc/passwd") && err.contains("unsafe"),
        "{err}"
    );
}

#[test]
fn symlink_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("links", "1.0");
    spec.symlinks
        .push(("links/passwd".into(), "/etc/passwd".into()));
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("links/passwd") && err.contains("symbolic link"),
        "{err}"
    );
}

#[test]
fn wheel_version_2_is_refused_and_1_9_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("future", "1.0");
    spec.wheel_version = "2.0".into();
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("Wheel-Version 2.0") && err.contains("future-1.0"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("future", "1.0");
    spec.wheel_version = "1.9".into();
    let inst = install(&[spec.build(dir.path())], &target(), &all()).unwrap();
    assert!(inst.warnings[0].contains("newer Wheel-Version (1.9)"));
}

#[test]
fn same_path_from_two_wheels_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = WheelSpec::new("a", "1.0")
        .file("shared/util.py", b"a\n", 0o644)
        .build(dir.path());
    let b = WheelSpec::new("b", "1.0")
        .file("shared/util.py", b"b\n", 0o644)
        .build(dir.path());
    let err = install_err(&[a, b]);
    assert!(err.contains(&format!("/{SP}/shared/util.py")), "{err}");
    assert!(
        err.contains("a-1.0-py3-none-any.whl") && err.contains("b-1.0-py3-none-any.whl"),
        "{err}"
    );
}

#[test]
fn unmet_requirements_are_listed_together() {
    let dir = tempfile::tempdir().unwrap();
    let app = WheelSpec::new("app", "1.0")
        .requires("missing-lib>=1")
        .requires("old-lib>=2")
        .requires("helper[fast]")
        .requires("win-only; sys_platform == 'win32'")
        .requires("arm-only; platform_machine == 'aarch64'")
        .requires("ancient; python_version < '3.8'")
        .requires("optional; extra == 'docs'")
        .build(dir.path());
    let old = WheelSpec::new("old-lib", "1.5").build(dir.path());
    let helper = WheelSpec::new("helper", "1.0")
        .requires("speedup; extra == 'fast'")
        .requires("slowdown; extra == 'slow'")
        .build(dir.path());
    let err = install_err(&[app, old, helper]);
    assert!(
        err.contains("app 1.0 requires missing-lib, which is not installed."),
        "{err}"
    );
    assert!(
        err.contains("app 1.0 has requirement old-lib>=2, but you have old-lib 1.5."),
        "{err}"
    );
    assert!(
        err.contains("helper 1.0 requires speedup, which is not installed."),
        "{err}"
    );
    for absent in ["win-only", "arm-only", "ancient", "optional", "slowdown"] {
        assert!(!err.contains(absent), "{absent}: {err}");
    }
    assert!(err.contains("(3 unmet)"), "{err}");
    assert!(err.contains(
        "pip download --only-binary=:all: --platform manylinux_2_36_x86_64 --python-version 3.11"
    ));
}

#[test]
fn satisfied_requirements_pass() {
    let dir = tempfile::tempdir().unwrap();
    let app = WheelSpec::new("app", "1.0")
        .requires("Lib_One (>=1.0,<2)")
        .requires("arm-only; platform_machine == 'aarch64'")
        .build(dir.path());
    let lib = WheelSpec::new("lib-one", "1.4.2").build(dir.path());
    install(&[app, lib], &target(), &all()).unwrap();
}

#[test]
fn incomplete_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("holes", "1.0");
    spec.unrecorded
        .push(("holes/extra.py".into(), b"x".to_vec()));
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("holes/extra.py is not listed in RECORD"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut spec = WheelSpec::new("holes", "1.0");
    spec.phantom.push("holes/gone.py".into());
    let err = install_err(&[spec.build(dir.path())]);
    assert!(
        err.contains("RECORD lists holes/gone.py, which is not in the archive"),
        "{err}"
    );
}

#[test]
fn unknown_data_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec::new("odd", "1.0");
    let data = spec.data();
    let wheel = spec
        .file(&format!("{data}/etc/odd.conf"), b"x\n", 0o644)
        .build(dir.path());
    let err = install_err(&[wheel]);
    assert!(err.contains("unknown .data directory \"etc\""), "{err}");
}

#[test]
fn find_wheels_refuses_sdists_and_empty_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let err = find_wheels(dir.path()).unwrap_err();
    assert!(matches!(err, WheelError::NoWheels { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));

    let b = WheelSpec::new("b", "1.0").build(dir.path());
    let a = WheelSpec::new("a", "1.0").build(dir.path());
    fs::write(dir.path().join("a-1.0.tar.gz"), b"").unwrap();
    fs::write(dir.path().join("notes.txt"), b"").unwrap();
    assert_eq!(find_wheels(dir.path()).unwrap(), [a, b]);

    fs::write(dir.path().join("needs_build-2.0.tar.gz"), b"").unwrap();
    let err = find_wheels(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("needs_build-2.0.tar.gz") && !err.contains("a-1.0.tar.gz"),
        "{err}"
    );
    assert!(err.contains("pip wheel"), "{err}");
}

// ------------------------------------------------------- against real pip

/// How to get the host Python these comparisons need (CI has it).
const HOST_PIP: &str = "Python 3.11 with pip as `python3` on PATH \
     (Debian bookworm: apt-get install python3 python3-pip; see tests/fixtures/install-deps.sh)";

/// Runs `python3 -c script` on the host, failing the test (not skipping
/// it) when python3 or pip is missing: a comparison that did not run
/// must not pass.
fn host_python_output(script: &str) -> String {
    let python = require_tool("python3");
    let pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output()
        .expect("run python3 -m pip --version");
    assert!(
        pip.status.success(),
        "`python3 -m pip` does not work; this test needs {HOST_PIP}:\n{}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let out = Command::new(&python)
        .args(["-c", script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 -c failed; this test needs {HOST_PIP}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the host's Python 3.11 says about itself: its executable and its
/// install scheme for `prefix` (Debian's own python3 puts pip's `--prefix`
/// installs under `local/…/dist-packages`, which pyko follows too).
fn host_python(prefix: &Path) -> (String, serde_json::Value) {
    let script = format!(
        "import json, sys, sysconfig\n\
         p = {prefix:?}\n\
         v = dict(base=p, platbase=p, installed_base=p, installed_platbase=p)\n\
         print(json.dumps(dict(exe=sys.executable, version='%d.%d' % sys.version_info[:2], \
         paths=sysconfig.get_paths(vars=v))))",
        prefix = prefix.display().to_string()
    );
    let v: serde_json::Value = serde_json::from_str(&host_python_output(&script)).unwrap();
    assert_eq!(
        v["version"], "3.11",
        "the host python3 is not 3.11; the test wheels are tagged cp311, so this test needs {HOST_PIP}"
    );
    (v["exe"].as_str().unwrap().to_string(), v["paths"].clone())
}

fn walk(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                out.insert(rel, (fs::read(&p).unwrap(), mode));
            }
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the native test wheel is tagged x86_64, which pip refuses on other machines"
)]
fn matches_host_pip_install_prefix() {
    let work = tempfile::tempdir().unwrap();
    let prefix = work.path().join("prefix");
    let (exe, paths) = host_python(&prefix);
    let wheels_dir = work.path().join("wheels");
    fs::create_dir(&wheels_dir).unwrap();
    let mut spec = WheelSpec::new("Demo_Pkg", "1.0");
    let data = spec.data();
    spec.entry_points = Some(
        "[console_scripts]\ndemo = demo_pkg:main\ndemo-x = demo_pkg:K.L.run [extra]\n\
         [gui_scripts]\ndemo-gui = demo_pkg.gui:main\n"
            .into(),
    );
    let spec = spec
        .file("demo_pkg/run.sh", b"#!/bin/sh\necho hi\n", 0o755)
        .file("demo_pkg/data/table.csv", b"a,b\n1,2\n", 0o644)
        .file(
            &format!("{data}/scripts/demo-tool"),
            b"#!python\nprint('tool')\n",
            0o755,
        )
        .file(
            &format!("{data}/scripts/demo-sh"),
            b"#!/bin/sh\necho sh\n",
            0o755,
        )
        .file(&format!("{data}/headers/demo.h"), b"int demo;\n", 0o644)
        .file(&format!("{data}/data/share/demo/x.txt"), b"data\n", 0o644);
    spec.build(&wheels_dir);
    let native = WheelSpec::new("native-dep", "2.1")
        .tag(
            "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
            false,
        )
        .file("native_dep/_speed.so", b"\x7fELF", 0o755)
        .build(&wheels_dir);
    let _ = native;

    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--no-index",
        ])
        .arg("--find-links")
        .arg(&wheels_dir)
        .arg("--prefix")
        .arg(&prefix)
        .args([
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
        ])
        // pip names the headers directory after the requirement as typed;
        // pyko uses the METADATA name, so type that.
        .args(["Demo_Pkg", "native-dep"])
        .env("PIP_NO_CACHE_DIR", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let expected = walk(&prefix);

    let s = |k: &str| paths[k].as_str().unwrap().to_string();
    // pip's prefix scheme puts headers under <prefix>/include/pythonX.Y.
    let headers = format!("{}/include/python3.11", prefix.display());
    let t = PythonTarget {
        interpreter: exe,
        scheme: Scheme {
            purelib: s("purelib"),
            platlib: s("platlib"),
            scripts: s("scripts"),
            data: s("data"),
            headers,
        },
        ..target()
    };
    let wheels = find_wheels(&wheels_dir).unwrap();
    let inst = install(&wheels, &t, &all()).unwrap();
    let strip = prefix.display().to_string();
    let ours: BTreeMap<String, (Vec<u8>, u32)> = materialize(&inst)
        .into_iter()
        .map(|(p, v)| {
            let rel = p
                .strip_prefix(strip.trim_start_matches('/'))
                .unwrap()
                .trim_start_matches('/')
                .to_string();
            (rel, v)
        })
        .collect();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, (bytes, mode)) in &expected {
        let (our_bytes, our_mode) = &ours[path];
        assert_eq!(
            String::from_utf8_lossy(our_bytes),
            String::from_utf8_lossy(bytes),
            "{path}"
        );
        assert_eq!(our_mode, mode, "mode of {path}");
    }
}

#[test]
#[cfg_attr(
    not(target_env = "gnu"),
    ignore = "compares glibc (manylinux) tags; this host's libc is not glibc"
)]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    ignore = "pyko targets amd64 and arm64 only"
)]
fn tags_match_host_packaging() {
    let stdout = host_python_output(
        "import platform, sys\n\
         from pip._vendor.packaging.tags import sys_tags\n\
         lib, ver = platform.libc_ver()\n\
         print(platform.machine(), lib, ver, '%d.%d' % sys.version_info[:2])\n\
         print('\\n'.join(str(t) for t in sys_tags()))",
    );
    let mut lines = stdout.lines();
    let head: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let [machine, "glibc", glibc, python] = head[..] else {
        panic!("the host python3 reports {head:?}, not glibc; this test needs {HOST_PIP}");
    };
    let arch = match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("the host python3 runs on {other}, expected x86_64 or aarch64"),
    };
    let (gmaj, gmin) = glibc.split_once('.').unwrap();
    let (pmaj, pmin) = python.split_once('.').unwrap();
    let mut t = target();
    t.platform.architecture = arch.into();
    t.major = pmaj.parse().unwrap();
    t.minor = pmin.parse().unwrap();
    t.libc = Libc::Glibc {
        major: gmaj.parse().unwrap(),
        minor: gmin.parse().unwrap(),
    };
    let ours: Vec<String> = pyko::Tags::for_target(&t).unwrap().iter().collect();
    // packaging before 22 (vendored by pip 23) lacks `cpXY-none-any`;
    // newer packaging has it, right before `pyXY-none-any`.
    let cp_any = format!("cp{pmaj}{pmin}-none-any");
    let host: Vec<String> = lines.map(str::to_string).collect();
    let ours: Vec<String> = if host.contains(&cp_any) {
        ours
    } else {
        ours.into_iter().filter(|t| *t != cp_any).collect()
    };
    assert_eq!(ours, host);
}
