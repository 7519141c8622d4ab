//! Writing to a registry: the steps of a push, each one request (or two),
//! for `output::push` to order and parallelise. Blob bodies stream from
//! files; nothing larger than a manifest is held in memory.

use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Body, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};

use super::client::{scope, Client, Op};
use super::error::RegistryError;
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;

/// Upload sessions tried for one blob before a lost session is an error.
const UPLOAD_SESSIONS: u32 = 3;

impl Client {
    fn push_op<'a>(&self, dest: &'a Reference, action: String) -> Op<'a> {
        Op {
            registry: &dest.registry,
            repository: &dest.repository,
            action,
            // One scope for every push request, so one token serves them all.
            scopes: vec![scope(&dest.repository, "pull,push")],
        }
    }

    fn blob_url(&self, dest: &Reference, tail: &str) -> String {
        format!(
            "{}{}/blobs/{tail}",
            self.base_url(&dest.registry),
            dest.repository
        )
    }

    /// Whether `dest`'s repository already has the blob (tag/digest of
    /// `dest` are ignored).
    pub fn blob_exists(&self, dest: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        let op = self.push_op(dest, format!("checking for blob {digest}"));
        let resp = self.send(
            &op,
            Method::HEAD,
            &self.blob_url(dest, digest.as_str()),
            &|rb| Ok(rb),
        )?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&op, resp)),
        }
    }

    /// Asks the registry to link a blob from another repository of the same
    /// registry. `true` means mounted; `false` means the registry declined
    /// (it may not support mounting, or we cannot read `from`) and the blob
    /// must be uploaded. The token asks for pull on `from` too: Docker Hub
    /// refuses the mount without it.
    pub fn mount_blob(
        &self,
        dest: &Reference,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool, RegistryError> {
        let mut op = self.push_op(
            dest,
            format!("mounting blob {digest} from {from_repository}"),
        );
        op.scopes.push(scope(from_repository, "pull"));
        let url = self.blob_url(
            dest,
            &format!("uploads/?mount={digest}&from={from_repository}"),
        );
        let resp = self.send(&op, Method::POST, &url, &|rb| {
            Ok(rb.header(CONTENT_LENGTH, 0))
        })?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            // 202 opened an ordinary upload session instead; it is left to
            // expire, since the upload path opens its own.
            StatusCode::ACCEPTED => Ok(false),
            // Some registries answer a mount they cannot do (the source is
            // unknown to them, or the session vanished) with 404: upload.
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(&op, resp)),
        }
    }

    /// Uploads `path` (exactly `size` bytes with digest `digest`) as a blob:
    /// POST opens a session, one PUT streams the file and commits it. A
    /// session the registry no longer knows (404: expired, or consumed by a
    /// PUT whose answer was lost, so the retry finds it gone) is not an
    /// error by itself: the blob may be there already, else a new session
    /// is opened, a few times.
    pub fn upload_blob(
        &self,
        dest: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
    ) -> Result<(), RegistryError> {
        let mut sessions = 0;
        loop {
            sessions += 1;
            match self.upload_session(dest, digest, size, path)? {
                Some(lost) => {
                    if self.blob_exists(dest, digest)? {
                        return Ok(());
                    }
                    if sessions >= UPLOAD_SESSIONS {
                        return Err(lost);
                    }
                }
                None => return Ok(()),
            }
        }
    }

    /// One POST + PUT; `Some(error)` when the session was lost or could
    /// not be opened (404).
    fn upload_session(
        &self,
        dest: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
    ) -> Result<Option<RegistryError>, RegistryError> {
        let op = self.push_op(dest, format!("uploading blob {digest}"));
        let resp = self.send(&op, Method::POST, &self.blob_url(dest, "uploads/"), &|rb| {
            Ok(rb.header(CONTENT_LENGTH, 0))
        })?;
        match resp.status() {
            StatusCode::ACCEPTED => {}
            StatusCode::NOT_FOUND => return Ok(Some(self.status_error(&op, resp))),
            _ => return Err(self.status_error(&op, resp)),
        }
        let mut url = self.location(&op, &resp)?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        // A generous deadline for the whole body: ~256 KiB/s worst case.
        let deadline = Duration::from_secs(120 + size / (256 * 1024));
        let what = format!("blob {}", &digest.hex()[..12]);
        let progress = crate::ui::progress::bytes(crate::ui::Kind::Upload, what, Some(size));
        let resp = self.send(&op, Method::PUT, url.as_str(), &|rb| {
            let file = std::fs::File::open(path).map_err(|source| RegistryError::ReadLocal {
                path: path.to_path_buf(),
                digest: digest.clone(),
                source,
            })?;
            Ok(rb
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size)
                .timeout(deadline)
                .body(Body::sized(progress.reader(file), size)))
        })?;
        match resp.status() {
            StatusCode::CREATED => Ok(None),
            StatusCode::NOT_FOUND => Ok(Some(self.status_error(&op, resp))),
            _ => Err(self.status_error(&op, resp)),
        }
    }

    /// PUTs a manifest under a tag or digest; returns the digest of the
    /// bytes, checked against what the registry says it stored.
    pub fn put_manifest(
        &self,
        dest: &Reference,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of_bytes(bytes);
        let op = self.push_op(
            dest,
            format!(
                "pushing manifest {digest} as {}:{tag_or_digest}",
                dest.name()
            ),
        );
        let url = format!(
            "{}{}/manifests/{tag_or_digest}",
            self.base_url(&dest.registry),
            dest.repository
        );
        let body = bytes.to_vec();
        let resp = self.send(&op, Method::PUT, &url, &|rb| {
            Ok(rb.header(CONTENT_TYPE, media_type).body(body.clone()))
        })?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(&op, resp));
        }
        let stored = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        if let Some(stored) = stored.filter(|s| s != &digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest pushed as {}:{tag_or_digest}", dest.name()),
                registry: dest.registry.clone(),
                repository: dest.repository.clone(),
                expected: digest,
                actual: stored,
            });
        }
        Ok(digest)
    }

    /// The upload session URL; registries may answer with a path only.
    fn location(&self, op: &Op, resp: &Response) -> Result<Url, RegistryError> {
        let protocol = |detail: String| RegistryError::Protocol {
            registry: op.registry.to_string(),
            detail: format!("{}: {detail}", op.action),
        };
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| protocol("upload session has no Location header".into()))?;
        resp.url()
            .join(loc)
            .map_err(|e| protocol(format!("bad upload Location {loc:?}: {e}")))
    }
}
