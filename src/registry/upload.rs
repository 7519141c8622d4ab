//! Writing to a registry: the steps of a push, each one request (or two),
//! for `output::push` to order and parallelise. Blob bodies stream from
//! files; nothing larger than a manifest is held in memory.

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use reqwest::blocking::{Body, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};

use super::client::{scope, Client, Op};
use super::error::RegistryError;
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::ui::progress::Progress;

/// Upload sessions tried for one blob before a lost session is an error.
const UPLOAD_SESSIONS: u32 = 3;
/// The first chunk size tried after a registry refused a whole blob (413).
const DEFAULT_CHUNK: u64 = 64 << 20;
/// Below this a registry that still answers 413 is refused: so many
/// requests would make a push crawl, and the limit is a setting to fix.
pub const MIN_CHUNK: u64 = 1 << 20;

/// What a blob upload sends.
struct Blob<'a> {
    digest: &'a Digest,
    size: u64,
    path: &'a Path,
}

impl Blob<'_> {
    fn open_at(&self, offset: u64) -> Result<At, RegistryError> {
        let file = std::fs::File::open(self.path).map_err(|source| RegistryError::ReadLocal {
            path: self.path.to_path_buf(),
            digest: self.digest.clone(),
            source,
        })?;
        Ok(At {
            file: std::sync::Arc::new(file),
            pos: offset,
        })
    }
}

/// Reads a file from `pos` on by offset, leaving the file position alone:
/// a file still being written by another handle reads the same way.
pub(super) struct At {
    pub(super) file: std::sync::Arc<std::fs::File>,
    pub(super) pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// How one upload session ended, when that is not an error of its own.
pub(super) enum Session {
    Done,
    /// The registry no longer knows the session (404, 416).
    Lost(RegistryError),
    /// The body was too large (413); `min` is the registry's
    /// `OCI-Chunk-Min-Length`.
    TooLarge {
        error: RegistryError,
        min: u64,
    },
}

/// A generous deadline for a body: ~256 KiB/s worst case.
pub(super) fn body_deadline(len: u64) -> Duration {
    Duration::from_secs(120 + len / (256 * 1024))
}

impl Client {
    pub(super) fn push_op<'a>(&self, dest: &'a Reference, action: String) -> Op<'a> {
        Op {
            registry: &dest.registry,
            repository: &dest.repository,
            action,
            // One scope for every push request, so one token serves them all.
            scopes: vec![scope(&dest.repository, "pull,push")],
        }
    }

    pub(super) fn blob_url(&self, dest: &Reference, tail: &str) -> String {
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
    ///
    /// A registry, or a proxy in front of it, that refuses a body that
    /// large (413) gets the blob again in PATCHed chunks, halved on each
    /// further 413 down to [`MIN_CHUNK`] and never below the registry's
    /// `OCI-Chunk-Min-Length`; the size that passed is kept for the
    /// registry's next blobs, so only the first blob pays for the probing.
    pub fn upload_blob(
        &self,
        dest: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
    ) -> Result<(), RegistryError> {
        let blob = Blob { digest, size, path };
        let mut sessions = 0;
        let mut chunk = self.learned_chunk(&dest.registry);
        loop {
            match self.upload_session(dest, &blob, chunk)? {
                Session::Done => {
                    if let Some(c) = chunk {
                        self.learn_chunk(&dest.registry, c);
                    }
                    return Ok(());
                }
                Session::Lost(lost) => {
                    sessions += 1;
                    if self.blob_exists(dest, digest)? {
                        return Ok(());
                    }
                    if sessions >= UPLOAD_SESSIONS {
                        return Err(lost);
                    }
                }
                Session::TooLarge { error, min } => {
                    let next = match chunk {
                        None => DEFAULT_CHUNK.min(size / 2),
                        Some(c) => c / 2,
                    };
                    if next < MIN_CHUNK.max(min) {
                        return Err(error);
                    }
                    chunk = Some(next);
                }
            }
        }
    }

    /// One POST, then one PUT of the whole blob (`chunk` None) or PATCHes
    /// of `chunk` bytes and an empty PUT.
    fn upload_session(
        &self,
        dest: &Reference,
        blob: &Blob,
        chunk: Option<u64>,
    ) -> Result<Session, RegistryError> {
        let op = self.push_op(dest, format!("uploading blob {}", blob.digest));
        let (url, min) = match self.open_session(&op, dest)? {
            Ok(opened) => opened,
            Err(lost) => return Ok(lost),
        };
        let what = format!("blob {}", &blob.digest.hex()[..12]);
        let progress = crate::ui::progress::bytes(crate::ui::Kind::Upload, what, Some(blob.size));
        let ended = self.send_blob(&op, url, min, blob, chunk, &progress);
        // A session that sent everything and was refused is not an upload:
        // the blob counts once, for the session that commits it.
        if !matches!(ended, Ok(Session::Done)) {
            progress.abandon();
        }
        ended
    }

    /// The requests of one session opened at `url`.
    fn send_blob(
        &self,
        op: &Op,
        mut url: Url,
        min: u64,
        blob: &Blob,
        chunk: Option<u64>,
        progress: &Progress,
    ) -> Result<Session, RegistryError> {
        let open = |at| blob.open_at(at);
        let mut sent = 0;
        // A blob no larger than a chunk goes whole: one request, not two.
        if let Some(chunk) = chunk.map(|c| c.max(min)).filter(|c| blob.size > *c) {
            while sent < blob.size {
                let len = chunk.min(blob.size - sent);
                url = match self.patch(op, &url, (sent, len), progress, &open, min)? {
                    Ok(next) => next,
                    Err(ended) => return Ok(ended),
                };
                sent += len;
            }
        }
        self.put_rest(
            op,
            url,
            blob.digest,
            (sent, blob.size - sent),
            progress,
            &open,
            min,
        )
    }

    /// POSTs for an upload session: its URL and the registry's
    /// `OCI-Chunk-Min-Length` (0 if none), or the session lost (404).
    pub(super) fn open_session(
        &self,
        op: &Op,
        dest: &Reference,
    ) -> Result<Result<(Url, u64), Session>, RegistryError> {
        let resp = self.send(op, Method::POST, &self.blob_url(dest, "uploads/"), &|rb| {
            Ok(rb.header(CONTENT_LENGTH, 0))
        })?;
        match resp.status() {
            StatusCode::ACCEPTED => {}
            StatusCode::NOT_FOUND => return Ok(Err(Session::Lost(self.status_error(op, resp)))),
            _ => return Err(self.status_error(op, resp)),
        }
        let min = resp
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(Ok((self.location(op, &resp)?, min)))
    }

    /// PATCHes `len` bytes from offset `from` (`open` reads there); the
    /// session's next URL, or how it ended.
    pub(super) fn patch(
        &self,
        op: &Op,
        url: &Url,
        (from, len): (u64, u64),
        progress: &Progress,
        open: &dyn Fn(u64) -> Result<At, RegistryError>,
        min: u64,
    ) -> Result<Result<Url, Session>, RegistryError> {
        let resp = self.send(op, Method::PATCH, url.as_str(), &|rb| {
            let part = open(from)?.take(len);
            Ok(rb
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, format!("{from}-{}", from + len - 1))
                .header(CONTENT_LENGTH, len)
                .timeout(body_deadline(len))
                .body(Body::sized(progress.reader_at(part, from), len)))
        })?;
        match resp.status() {
            StatusCode::ACCEPTED => Ok(Ok(self.location(op, &resp)?)),
            status => self.refused(op, resp, status, min).map(Err),
        }
    }

    /// The PUT that commits the session under `digest`, with the `len`
    /// bytes from offset `from` not sent yet.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn put_rest(
        &self,
        op: &Op,
        mut url: Url,
        digest: &Digest,
        (from, len): (u64, u64),
        progress: &Progress,
        open: &dyn Fn(u64) -> Result<At, RegistryError>,
        min: u64,
    ) -> Result<Session, RegistryError> {
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let resp = self.send(op, Method::PUT, url.as_str(), &|rb| {
            let rb = rb.header(CONTENT_LENGTH, len).timeout(body_deadline(len));
            Ok(match len {
                0 => rb,
                _ => rb
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(Body::sized(progress.reader_at(open(from)?, from), len)),
            })
        })?;
        match resp.status() {
            StatusCode::CREATED => Ok(Session::Done),
            status => self.refused(op, resp, status, min),
        }
    }

    /// What a request of an upload session that did not go on means.
    pub(super) fn refused(
        &self,
        op: &Op,
        resp: Response,
        status: StatusCode,
        min: u64,
    ) -> Result<Session, RegistryError> {
        let error = self.status_error(op, resp);
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Ok(Session::TooLarge { error, min }),
            // 416: the registry holds other bytes than we sent so far.
            StatusCode::NOT_FOUND | StatusCode::RANGE_NOT_SATISFIABLE => Ok(Session::Lost(error)),
            _ => Err(error),
        }
    }

    pub(super) fn learned_chunk(&self, registry: &str) -> Option<u64> {
        let learned = self.upload_chunks.lock().unwrap_or_else(|e| e.into_inner());
        learned.get(registry).copied()
    }

    fn learn_chunk(&self, registry: &str, chunk: u64) {
        let mut learned = self.upload_chunks.lock().unwrap_or_else(|e| e.into_inner());
        let c = learned.entry(registry.to_string()).or_insert(chunk);
        *c = (*c).min(chunk);
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
    pub(super) fn location(&self, op: &Op, resp: &Response) -> Result<Url, RegistryError> {
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
