//! Acceptance 2: the tutorial Dockerfile (`COPY . .`, `RUN pip install -r
//! requirements.txt`) with only the names the app imports builds against
//! the local index and the image serves the app; `RUN pip install
//! streamlit` builds to the set uv resolves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{fixture_wheels, serve, stderr, uv_compile, Form, Pins};
use crate::common::fixtures::{self, Flavour};
use crate::common::index;
use crate::common::run::pyko_cmd;

/// The slim base (CPython 3.11 in /usr/local, linux/amd64).
fn base() -> String {
    format!(
        "oci-layout:{}:latest",
        fixtures::base_layout(Flavour::Slim).display()
    )
}

/// Copies the example app into `dest` with `requirements` as its
/// requirements.txt and `dockerfile` as its Dockerfile.
fn app_copy(dest: &Path, requirements: &str, dockerfile: Option<&str>) -> PathBuf {
    let ctx = dest.join("app");
    std::fs::create_dir_all(&ctx).unwrap();
    for e in std::fs::read_dir(fixtures::example_app()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, ctx.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(ctx.join("requirements.txt"), requirements).unwrap();
    if let Some(d) = dockerfile {
        std::fs::write(ctx.join("Dockerfile"), d).unwrap();
    }
    ctx
}

/// `pyko build -f ctx/Dockerfile ctx` onto the slim base into an OCI
/// layout tagged `app`; returns (layout, stderr).
pub fn build_dockerfile(ctx: &Path, index_url: &str, work: &Path) -> (PathBuf, String) {
    let layout = work.join("layout");
    let out = pyko_cmd(&work.join("cache"))
        .args(["build", "-f"])
        .arg(ctx.join("Dockerfile"))
        .arg(ctx)
        .args(["--from", &base(), "--index-url", index_url, "--tag", "app"])
        .arg("--oci-layout")
        .arg(&layout)
        .output()
        .expect("run pyko");
    assert!(out.status.success(), "pyko build failed:\n{}", stderr(&out));
    (layout, stderr(&out))
}

/// name → version of every `*.dist-info` under `site`.
pub fn dist_infos(site: &Path) -> Pins {
    std::fs::read_dir(site)
        .unwrap_or_else(|e| panic!("{}: {e}", site.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".dist-info").map(String::from))
        .map(|n| {
            let (name, version) = n.split_once('-').unwrap();
            (index::normalize(name), version.to_string())
        })
        .collect()
}

const SITE: &str = "usr/local/lib/python3.11/site-packages";

/// What the build installed: the image's distributions less the base's
/// own (pip, setuptools).
pub fn installed(rootfs: &Path) -> Pins {
    static BASE: std::sync::OnceLock<Pins> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let r = fixtures::unpack_oci(&fixtures::base_layout(Flavour::Slim), fixtures::BASE_TAG);
        dist_infos(&r.path().join(SITE))
    });
    let mut all = dist_infos(&rootfs.join(SITE));
    all.retain(|name, version| base.get(name) != Some(version));
    all
}

#[test]
fn example_dockerfile_with_top_level_names_builds_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::Json, &fixture_wheels(), &BTreeMap::new());
    let reqs = "joblib\nnumpy\npandas\nscikit-learn\nstreamlit\n";
    let ctx = app_copy(tmp.path(), reqs, None);
    let (layout, err) = build_dockerfile(&ctx, &index.url, tmp.path());

    let want = uv_compile(
        &ctx.join("requirements.txt"),
        "x86_64-manylinux_2_28",
        "3.11",
        &index.url,
        &[],
        &tmp.path().join("uv-cache"),
    )
    .unwrap();
    assert!(
        err.contains(&format!("resolved {} packages", want.len())),
        "stderr must say how many packages were resolved:\n{err}"
    );
    let rootfs = fixtures::unpack_oci(&layout, "app");
    assert_eq!(installed(rootfs.path()), want);
    // The top-level file went into the image as the app had it.
    assert_eq!(
        std::fs::read_to_string(rootfs.path().join("app/requirements.txt")).unwrap(),
        reqs
    );

    let port = crate::common::registry::free_port();
    let cmd = format!(
        "cd /app && exec streamlit run app.py --server.port={port} --server.address=127.0.0.1 \
         --server.headless=true --browser.gatherUsageStats=false"
    );
    let mut child = rootfs.spawn_in_chroot(&["/bin/sh", "-c", &cmd], &[]);
    let res = fixtures::wait_http(
        &format!("http://127.0.0.1:{port}/_stcore/health"),
        Duration::from_secs(90),
    );
    let _ = child.kill();
    let body = res.expect("the example app answers on its health endpoint");
    assert!(body.contains("ok"), "{body}");
}

#[test]
fn dockerfile_pip_install_of_a_bare_name_resolves() {
    let tmp = tempfile::tempdir().unwrap();
    let index = serve(Form::HtmlRange, &fixture_wheels(), &BTreeMap::new());
    let dockerfile = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install streamlit\n\
                      CMD streamlit run app.py\n";
    let ctx = app_copy(tmp.path(), "", Some(dockerfile));
    let (layout, _) = build_dockerfile(&ctx, &index.url, tmp.path());

    let one = tmp.path().join("streamlit.txt");
    std::fs::write(&one, "streamlit\n").unwrap();
    let want = uv_compile(
        &one,
        "x86_64-manylinux_2_28",
        "3.11",
        &index.url,
        &[],
        &tmp.path().join("uv-cache"),
    )
    .unwrap();
    assert!(want.len() > 20, "streamlit alone has a tree: {want:?}");
    let rootfs = fixtures::unpack_oci(&layout, "app");
    assert_eq!(installed(rootfs.path()), want);
    let out = rootfs.chroot(&["streamlit", "--version"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
