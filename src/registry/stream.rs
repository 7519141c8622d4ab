//! Uploading a blob while it is still being written: once a layer has a
//! few megabytes on disk a session opens and one PATCH streams the file as
//! it grows (chunked transfer encoding, as `docker push` sends a layer);
//! the PUT that commits the digest carries nothing. A large layer then
//! costs almost nothing to push after its last member is compressed.
//!
//! A streamed body cannot be sent again, so anything that stops the PATCH
//! (a registry refusing the body's size, a lost connection, a layer that
//! failed to write) ends the session uncommitted, and the blob goes the
//! ordinary way once it is complete: that path knows how to probe chunk
//! sizes and retry sessions, and reports what is really wrong.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::Body;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode, Url};

use super::client::{Client, Op};
use super::upload::{At, Session};
use super::RegistryError;
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::ui::progress::{self, Kind, Progress};

/// What must be written before a stream starts: smaller blobs go the
/// ordinary way, where one HEAD may spare the whole upload.
const STREAM_START: u64 = 16 << 20;

/// The streamed body's deadline: it lasts as long as the layer takes to
/// compress, which nothing bounds but the layer's size.
const STREAM_DEADLINE: Duration = Duration::from_secs(3600);

/// A blob being written by someone else.
pub trait Growing: Send + Sync {
    /// Blocks until at least `at_least` bytes are written or the blob ends.
    fn wait(&self, at_least: u64) -> Grown;
    /// A handle to read the blob by offset.
    fn file(&self) -> Option<File>;
}

pub enum Grown {
    /// This many bytes are written and final.
    Written(u64),
    /// Complete: every byte is written.
    Done { digest: Digest, size: u64 },
    /// The writer failed; the blob will never be complete.
    Abandoned,
}

pub enum Streamed {
    /// Committed under its digest.
    Uploaded,
    /// The registry had the blob already; the session was cancelled.
    Present,
    /// Nothing committed: upload the finished blob the ordinary way.
    NotSent,
}

impl Client {
    /// Streams `blob` to `dest` as it grows (see the module's doc).
    /// `what` names it in progress, before its digest is known.
    pub fn upload_growing(
        &self,
        dest: &Reference,
        blob: Arc<dyn Growing>,
        what: &str,
    ) -> Result<Streamed, RegistryError> {
        // A registry known to refuse large bodies would refuse the stream
        // only once it is all sent.
        if self.learned_chunk(&dest.registry).is_some()
            || !matches!(blob.wait(STREAM_START), Grown::Written(_))
        {
            return Ok(Streamed::NotSent);
        }
        let Some(file) = blob.file() else {
            return Ok(Streamed::NotSent);
        };
        let op = self.push_op(dest, format!("uploading {what}"));
        let Ok((url, _)) = self.open_session(&op, dest)? else {
            return Ok(Streamed::NotSent);
        };
        let progress = progress::bytes(Kind::Upload, what, None);
        let streamed = self.stream_session(&op, dest, url, &blob, file, &progress);
        if !matches!(streamed, Ok(Streamed::Uploaded)) {
            progress.abandon();
        }
        streamed
    }

    /// The PATCH of a session opened at `url`, then the commit.
    fn stream_session(
        &self,
        op: &Op,
        dest: &Reference,
        mut url: Url,
        blob: &Arc<dyn Growing>,
        file: File,
        progress: &Progress,
    ) -> Result<Streamed, RegistryError> {
        let file = Arc::new(file);
        let sent_once = AtomicBool::new(false);
        let streamed = self.send(op, Method::PATCH, url.as_str(), &|rb| {
            // A retry would append to what the session already holds.
            if sent_once.swap(true, Ordering::Relaxed) {
                return Err(RegistryError::Protocol {
                    registry: dest.registry.clone(),
                    detail: "a streamed upload cannot be sent again".into(),
                });
            }
            let body = Tail {
                blob: blob.clone(),
                at: At {
                    file: file.clone(),
                    pos: 0,
                },
                end: None,
            };
            Ok(rb
                .header(CONTENT_TYPE, "application/octet-stream")
                .timeout(STREAM_DEADLINE)
                .body(Body::new(progress.reader(body))))
        });
        let (digest, size) = match (streamed, blob.wait(u64::MAX)) {
            (Ok(resp), Grown::Done { digest, size }) if resp.status() == StatusCode::ACCEPTED => {
                url = self.location(op, &resp)?;
                (digest, size)
            }
            _ => {
                self.cancel(op, &url);
                return Ok(Streamed::NotSent);
            }
        };
        // Pushed before and since gone from the local cache: what was sent
        // is dropped with the session.
        if self.blob_exists(dest, &digest)? {
            self.cancel(op, &url);
            return Ok(Streamed::Present);
        }
        let open = |_| unreachable!("nothing is left to send");
        match self.put_rest(op, url, &digest, (size, 0), progress, &open, 0)? {
            Session::Done => {
                progress.rename(format!("blob {}", &digest.hex()[..12]));
                progress.finish();
                Ok(Streamed::Uploaded)
            }
            _ => Ok(Streamed::NotSent),
        }
    }

    /// Ends a session that will not be committed; registries expire
    /// sessions anyway, so a refusal here changes nothing.
    fn cancel(&self, op: &Op, url: &Url) {
        let _ = self.send(op, Method::DELETE, url.as_str(), &|rb| Ok(rb));
    }
}

/// The blob from the start to its end, blocking at what is written so far
/// until the writer adds more or is done.
struct Tail {
    blob: Arc<dyn Growing>,
    at: At,
    end: Option<u64>,
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.at.pos;
        let written = match self.end {
            Some(end) => end,
            None => match self.blob.wait(pos + 1) {
                Grown::Written(n) => n,
                Grown::Done { size, .. } => *self.end.insert(size),
                Grown::Abandoned => return Err(std::io::Error::other("the layer was not written")),
            },
        };
        let room = buf.len().min((written - pos.min(written)) as usize);
        self.at.read(&mut buf[..room])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Condvar, Mutex};

    /// A file written by another thread, in pieces, as a layer is.
    #[derive(Default)]
    struct Piecewise {
        state: Mutex<(u64, Option<bool>)>,
        changed: Condvar,
        file: Mutex<Option<File>>,
    }

    impl Growing for Piecewise {
        fn wait(&self, at_least: u64) -> Grown {
            let mut s = self.state.lock().unwrap();
            loop {
                match s.1 {
                    Some(true) => {
                        return Grown::Done {
                            digest: Digest::of_bytes(b""),
                            size: s.0,
                        }
                    }
                    Some(false) => return Grown::Abandoned,
                    None if s.0 >= at_least => return Grown::Written(s.0),
                    None => s = self.changed.wait(s).unwrap(),
                }
            }
        }

        fn file(&self) -> Option<File> {
            self.file.lock().unwrap().as_ref()?.try_clone().ok()
        }
    }

    fn tail_of(blob: &Arc<Piecewise>) -> Tail {
        Tail {
            blob: blob.clone(),
            at: At {
                file: Arc::new(blob.file().unwrap()),
                pos: 0,
            },
            end: None,
        }
    }

    /// Writes `pieces` with pauses, then ends the blob as `ok` says.
    fn write_slowly(blob: Arc<Piecewise>, pieces: Vec<Vec<u8>>, ok: bool) {
        let mut f = blob.file().unwrap();
        for p in pieces {
            std::thread::sleep(Duration::from_millis(5));
            f.write_all(&p).unwrap();
            blob.state.lock().unwrap().0 += p.len() as u64;
            blob.changed.notify_all();
        }
        blob.state.lock().unwrap().1 = Some(ok);
        blob.changed.notify_all();
    }

    fn piecewise() -> (Arc<Piecewise>, tempfile::NamedTempFile) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let blob = Arc::new(Piecewise::default());
        *blob.file.lock().unwrap() = Some(tmp.reopen().unwrap());
        (blob, tmp)
    }

    #[test]
    fn the_tail_reads_every_byte_as_it_is_written_and_ends_with_the_blob() {
        let (blob, _tmp) = piecewise();
        let pieces: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1000 + i as usize * 37]).collect();
        let want: Vec<u8> = pieces.concat();
        let mut tail = tail_of(&blob);
        let writer = {
            let blob = blob.clone();
            std::thread::spawn(move || write_slowly(blob, pieces, true))
        };
        let mut got = Vec::new();
        tail.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want);
    }

    #[test]
    fn a_layer_that_fails_to_write_ends_the_tail_with_an_error() {
        let (blob, _tmp) = piecewise();
        let mut tail = tail_of(&blob);
        let writer = {
            let blob = blob.clone();
            std::thread::spawn(move || write_slowly(blob, vec![vec![7; 5000]; 3], false))
        };
        let mut got = Vec::new();
        let err = tail.read_to_end(&mut got).unwrap_err();
        writer.join().unwrap();
        // What was read is what was written, up to wherever the end found
        // the reader.
        assert!(got.len() <= 15000 && got.iter().all(|b| *b == 7));
        assert!(err.to_string().contains("not written"), "{err}");
    }
}
