//! The wheels a fetch would give, named with their sha256 before any
//! download: what lets a runner with an empty cache find its deps layers in
//! a registry cache and download no wheel at all. Only answers when every
//! wheel is certain; the fetch then verifies exactly these hashes, so a key
//! made from this list equals one made from the downloaded files.

use crate::http::HttpClient;
use crate::sources::index::IndexClient;
use crate::wheel;

use super::{select_wheel, Pinned};

pub(super) fn files(
    p: &Pinned,
    http: &HttpClient,
    ask_index: bool,
) -> Option<Vec<(String, String)>> {
    if p.dir.is_some() {
        return None;
    }
    let mut local_names = Vec::new();
    for dir in &p.local {
        for w in wheel::find_wheels(dir).ok()? {
            local_names.push(w.file_name()?.to_string_lossy().into_owned());
        }
    }
    let mut index: Option<IndexClient> = None;
    let mut out = Vec::new();
    for pin in &p.pins {
        // A user's wheel must be hashed, an sdist built: only the fetch knows.
        if pin.sdist_only || select_wheel(&p.tags, pin, &local_names).is_ok() {
            return None;
        }
        let candidates: Vec<(String, Option<String>)> = if !pin.wheels.is_empty() {
            pin.wheels
                .iter()
                .map(|w| (w.filename.clone(), w.sha256.clone()))
                .collect()
        } else if ask_index {
            if index.is_none() {
                index = Some(IndexClient::new(&p.index_urls, http).ok()?);
            }
            let files = index.as_ref()?.files(&pin.name).ok()?;
            files.into_iter().map(|f| (f.filename, f.sha256)).collect()
        } else {
            return None;
        };
        let names: Vec<String> = candidates.iter().map(|c| c.0.clone()).collect();
        let (filename, sha256) = &candidates[select_wheel(&p.tags, pin, &names).ok()?];
        let sha256 = sha256.as_ref()?.to_ascii_lowercase();
        if !filename.ends_with(".whl")
            || (!pin.hashes.is_empty()
                && !pin.hashes.iter().any(|h| h.eq_ignore_ascii_case(&sha256)))
        {
            return None;
        }
        out.push((filename.clone(), sha256));
    }
    Some(out)
}
