//! The static tree an index serves: `simple/<project>/index.html` (+
//! `index.json`), the wheels under `files/` (hard links), and for the JSON
//! form each wheel's METADATA beside it as `<file>.metadata` (PEP 658).
//! `requires-python` is the wheel's own (from its METADATA), as a real
//! index takes it from the upload.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{normalize, sha256_hex, Form, IndexOptions};

/// Upload time of every file the caller did not name: fixed, so a
/// resolution with `--exclude-newer` later than it sees every file.
pub const DEFAULT_UPLOAD_TIME: &str = "2024-01-02T03:04:05.000000Z";

struct File {
    name: String,
    sha256: String,
    size: u64,
    requires_python: Option<String>,
    /// `None` for an sdist (no PEP 658 file).
    metadata_sha256: Option<String>,
}

/// Writes the tree for `opts.form`; returns file name → sha256.
pub fn write(root: &Path, wheels: &[PathBuf], opts: &IndexOptions) -> BTreeMap<String, String> {
    let mut projects: BTreeMap<String, Vec<File>> = BTreeMap::new();
    std::fs::create_dir_all(root.join("files")).unwrap();
    let mut hashes = BTreeMap::new();
    for w in wheels {
        let name = w.file_name().unwrap().to_string_lossy().into_owned();
        let dest = root.join("files").join(&name);
        if std::fs::hard_link(w, &dest).is_err() {
            std::fs::copy(w, &dest).unwrap();
        }
        // An sdist has no wheel METADATA to serve (PEP 658 is for wheels);
        // its `requires-python` is not listed, as for many real uploads.
        let is_wheel = name.ends_with(".whl");
        let metadata = if is_wheel {
            wheel_metadata(w)
        } else {
            Vec::new()
        };
        if opts.form == Form::Json && is_wheel {
            std::fs::write(
                root.join("files").join(format!("{name}.metadata")),
                &metadata,
            )
            .unwrap();
        }
        let sha256 = sha256_hex(w);
        hashes.insert(name.clone(), sha256.clone());
        // `name-version.tar.gz`: the name is all but the last `-` part.
        let project = match name.strip_suffix(".tar.gz").or(name.strip_suffix(".zip")) {
            Some(stem) => normalize(stem.rsplit_once('-').unwrap().0),
            None => normalize(name.split('-').next().unwrap()),
        };
        projects.entry(project).or_default().push(File {
            requires_python: header(&metadata, "requires-python"),
            metadata_sha256: is_wheel
                .then(|| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&metadata))),
            size: std::fs::metadata(w).unwrap().len(),
            sha256,
            name,
        });
    }
    let mut root_page = String::from("<!DOCTYPE html>\n<html><body>\n");
    for (project, files) in &projects {
        root_page.push_str(&format!("<a href=\"{project}/\">{project}</a><br/>\n"));
        let dir = root.join("simple").join(project);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), html_page(files, opts)).unwrap();
        if opts.form == Form::Json {
            std::fs::write(dir.join("index.json"), json_page(project, files, opts)).unwrap();
        }
    }
    root_page.push_str("</body></html>\n");
    std::fs::write(root.join("simple").join("index.html"), root_page).unwrap();
    hashes
}

fn html_page(files: &[File], opts: &IndexOptions) -> String {
    let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
    for f in files {
        let mut attrs = String::new();
        if let Some(rp) = &f.requires_python {
            let escaped = rp
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            attrs.push_str(&format!(" data-requires-python=\"{escaped}\""));
        }
        if let (Form::Json, Some(h)) = (opts.form, &f.metadata_sha256) {
            attrs.push_str(&format!(
                " data-core-metadata=\"sha256={h}\" data-dist-info-metadata=\"sha256={h}\""
            ));
        }
        html.push_str(&format!(
            "<a href=\"../../files/{}#sha256={}\"{attrs}>{}</a><br/>\n",
            f.name, f.sha256, f.name
        ));
    }
    html.push_str("</body></html>\n");
    html
}

fn json_page(project: &str, files: &[File], opts: &IndexOptions) -> String {
    let mut versions: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let stem = f.name.strip_suffix(".tar.gz").unwrap_or(&f.name);
            stem.split('-').nth(1).map(String::from)
        })
        .collect();
    versions.sort();
    versions.dedup();
    let jfiles: Vec<_> = files
        .iter()
        .map(|f| {
            let meta = match &f.metadata_sha256 {
                Some(h) => serde_json::json!({ "sha256": h }),
                None => serde_json::json!(false),
            };
            serde_json::json!({
                "filename": f.name,
                "url": format!("../../files/{}", f.name),
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "size": f.size,
                "upload-time": opts.upload_times.get(&f.name).map_or(DEFAULT_UPLOAD_TIME, String::as_str),
                "yanked": false,
                "core-metadata": meta,
                "dist-info-metadata": meta,
            })
        })
        .collect();
    serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": project,
        "versions": versions,
        "files": jfiles,
    })
    .to_string()
}

/// The wheel's `*.dist-info/METADATA` bytes.
pub fn wheel_metadata(wheel: &Path) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| {
            n.strip_suffix(".dist-info/METADATA")
                .is_some_and(|d| !d.contains('/'))
        })
        .unwrap_or_else(|| panic!("{} has no METADATA", wheel.display()))
        .into_owned();
    let mut bytes = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

/// The first `key:` header (lower-case key) of METADATA, before the body.
fn header(metadata: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(metadata)
        .lines()
        // Only an empty line ends the headers (a blank line starting with
        // whitespace continues one, as Python's email parser reads it).
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with([' ', '\t']))
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim().eq_ignore_ascii_case(key) && !v.trim().is_empty())
                .then(|| v.trim().to_string())
        })
}
