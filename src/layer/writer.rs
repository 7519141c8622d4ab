//! Deterministic tar, gzip on every core, both digests in one pass.
//!
//! The tar stream is produced on the calling thread and cut into fixed-size
//! chunks. Each chunk is compressed on its own (libdeflate) into an
//! independent gzip member; members are written in order. Fixed chunk
//! boundaries make the blob depend only on the entries, never on timing or
//! the number of cores, and concatenated members are one valid gzip stream
//! (RFC 1952 §2.2) that Go's, containerd's and pigz's readers accept.
//!
//! Memory stays flat: at most a few chunks per worker are in flight, whatever
//! the layer size.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use sha2::{Digest as _, Sha256};

use super::{Entry, Node};
use crate::cache::{Cache, CacheError};
use crate::oci::digest::{Digest, HashingWriter};
use crate::oci::media_types;
use crate::oci::Layer;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer entry {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error(
        "layer entry {path:?} is listed twice; two inputs write the same path — remove one of them"
    )]
    Duplicate { path: String },
    #[error("layer entry {path:?} needs {parent:?} to be a directory, but another input makes it a file or symlink")]
    ParentNotDir { parent: String, path: String },
    #[error("layer entry {path:?}: declared {declared} bytes but only {actual} were written; was the file truncated while building?")]
    TooShort {
        path: String,
        declared: u64,
        actual: u64,
    },
    #[error("layer entry {path:?}: more than the declared {declared} bytes were written; was the file modified while building?")]
    TooLong { path: String, declared: u64 },
    #[error("layer entry {path:?}: {source}")]
    Contents { path: String, source: io::Error },
    #[error("writing layer blob {path}: {source}; check free space and permissions of the cache directory")]
    Write { path: PathBuf, source: io::Error },
    #[error("layer compression pipeline stopped: {source}")]
    Pipeline { source: io::Error },
    #[error("gzip level {0} is out of range: use 0–12")]
    Level(u32),
    #[error(
        "SOURCE_DATE_EPOCH={0:?} is not a number of seconds since 1970-01-01; fix or unset it"
    )]
    SourceDateEpoch(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{path}: {source}")]
    Walk { path: PathBuf, source: io::Error },
    #[error("{path}: cannot read it ({source}); fix its permissions or list it in .dockerignore")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{path} is a {kind}, which cannot be copied into an image; remove it or list it in .dockerignore")]
    SpecialFile { path: PathBuf, kind: &'static str },
    #[error("{path}:{line}: bad .dockerignore pattern {pattern:?}: {reason}")]
    Dockerignore {
        path: PathBuf,
        line: usize,
        pattern: String,
        reason: String,
    },
    #[error("{path} is not valid UTF-8; rename it (image paths must be UTF-8 here)")]
    NonUtf8Path { path: PathBuf },
    #[error("{origin}: {message}")]
    Copy { origin: String, message: String },
}

/// Uncompressed bytes per gzip member. Changing it changes every layer
/// digest, so it is a constant, not an option.
pub const CHUNK_SIZE: usize = 4 << 20;

/// 1980-01-01T00:00:00Z: the earliest time a zip file can record, so
/// application code that zips its own files (`zipfile`, `zipapp`) does not
/// fail on pre-1980 timestamps as it would with mtime 0.
pub const DEFAULT_MTIME: u64 = 315_532_800;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerOptions {
    /// Modification time of every entry (`SOURCE_DATE_EPOCH` or
    /// [`DEFAULT_MTIME`]); a fixed value is what makes layers reproducible.
    pub mtime: u64,
    /// gzip level (libdeflate scale, 0–12).
    pub level: u32,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            mtime: DEFAULT_MTIME,
            level: 6,
        }
    }
}

impl LayerOptions {
    /// Defaults, with `mtime` from `SOURCE_DATE_EPOCH` when that is set, so
    /// builds honour the reproducible-builds convention without a flag.
    pub fn from_env() -> Result<Self, LayerError> {
        let mut opts = LayerOptions::default();
        if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
            opts.mtime = v
                .trim()
                .parse()
                .map_err(|_| LayerError::SourceDateEpoch(v.clone()))?;
        }
        Ok(opts)
    }
}

/// Writes `entries` as a gzip-compressed tar into `cache` and returns the
/// layer descriptor data and the blob's path in the cache.
///
/// Entries may come in any order; the output depends only on their set.
/// Missing parent directories are added (0755, 0:0). On any error nothing is
/// left in the cache.
pub fn write_layer(
    entries: Vec<Entry>,
    opts: &LayerOptions,
    cache: &Cache,
) -> Result<(Layer, PathBuf), LayerError> {
    let entries = normalize(entries)?;
    let level = libdeflater::CompressionLvl::new(opts.level as i32)
        .map_err(|_| LayerError::Level(opts.level))?;
    let tmp = cache.temp_file()?;
    let tmp_path = tmp.path().to_path_buf();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);

    let (produced, written) = std::thread::scope(|s| {
        let mut to_workers = Vec::with_capacity(workers);
        let mut from_workers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (in_tx, in_rx) = sync_channel::<Vec<u8>>(1);
            let (out_tx, out_rx) = sync_channel::<Vec<u8>>(1);
            s.spawn(move || compress_worker(level, in_rx, out_tx));
            to_workers.push(in_tx);
            from_workers.push(out_rx);
        }
        let file = &tmp;
        let writer = s.spawn(move || write_members(file, from_workers));
        let mut chunks = ChunkWriter::new(to_workers);
        let produced = write_tar(&entries, opts.mtime, &mut chunks).and_then(|()| {
            chunks
                .finish()
                .map_err(|source| LayerError::Pipeline { source })
        });
        // Dropping the senders lets the workers and the writer drain and
        // stop, on success and on error alike.
        drop(chunks);
        let written = writer.join().expect("layer writer thread panicked");
        (produced, written)
    });
    let (diff_id, (digest, size)) = match (produced, written) {
        (Ok(diff_id), Ok(written)) => (diff_id, written),
        // The writer failing (disk full…) is what stopped the pipeline.
        (Err(LayerError::Pipeline { .. }) | Ok(_), Err(source)) => {
            return Err(LayerError::Write {
                path: tmp_path,
                source,
            })
        }
        (Err(e), _) => return Err(e),
    };
    let path = cache.persist(tmp, &digest)?;
    Ok((
        Layer {
            digest,
            diff_id,
            size,
            media_type: media_types::OCI_LAYER_TAR_GZIP.to_string(),
        },
        path,
    ))
}

/// Validates paths, sorts by path bytes, rejects duplicates and adds missing
/// parent directories.
fn normalize(entries: Vec<Entry>) -> Result<Vec<Entry>, LayerError> {
    let mut by_path: BTreeMap<String, Entry> = BTreeMap::new();
    for mut e in entries {
        let path = e.path.trim_end_matches('/').to_string();
        validate_path(&e.path, &path)?;
        e.path = path.clone();
        if by_path.insert(path.clone(), e).is_some() {
            return Err(LayerError::Duplicate { path });
        }
    }
    let mut missing = Vec::new();
    for (path, _) in by_path.iter() {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            let parent = &path[..end + i];
            match by_path.get(parent) {
                Some(Entry {
                    node: Node::Dir, ..
                }) => {}
                Some(_) => {
                    return Err(LayerError::ParentNotDir {
                        parent: parent.to_string(),
                        path: path.clone(),
                    })
                }
                None => missing.push(parent.to_string()),
            }
            end += i + 1;
        }
    }
    for p in missing {
        by_path
            .entry(p.clone())
            .or_insert_with(|| Entry::dir(p, 0o755));
    }
    Ok(by_path.into_values().collect())
}

fn validate_path(original: &str, path: &str) -> Result<(), LayerError> {
    let bad = |reason: &str| {
        Err(LayerError::InvalidPath {
            path: original.to_string(),
            reason: reason.to_string(),
        })
    };
    if path.is_empty() {
        return bad("empty path");
    }
    if path.starts_with('/') {
        return bad("must be relative to the image root, without a leading '/'");
    }
    if path.contains('\0') {
        return bad("contains a NUL byte");
    }
    for c in path.split('/') {
        match c {
            "" => return bad("contains an empty component ('//')"),
            "." | ".." => return bad("contains a '.' or '..' component"),
            _ => {}
        }
    }
    Ok(())
}

const BLOCK: usize = 512;

/// Writes the tar stream. Headers are built field by field (ustar), with a
/// PAX extended header only for names the ustar fields cannot hold, so no
/// host metadata (atime, ctime, user names, device numbers, xattrs) can leak
/// in.
fn write_tar(entries: &[Entry], mtime: u64, out: &mut ChunkWriter) -> Result<(), LayerError> {
    let wr = |source: io::Error| LayerError::Pipeline { source };
    for e in entries {
        let (uid, gid) = e.owner.unwrap_or((0, 0));
        let mode = e.mode & 0o7777;
        let (name, entry_type, size, link) = match &e.node {
            Node::Dir => (format!("{}/", e.path), tar::EntryType::Directory, 0, None),
            Node::File { size, .. } => (e.path.clone(), tar::EntryType::Regular, *size, None),
            Node::Symlink { target } => {
                if target.is_empty() || target.contains('\0') {
                    return Err(LayerError::InvalidPath {
                        path: e.path.clone(),
                        reason: format!("symlink target {target:?} is empty or contains NUL"),
                    });
                }
                (
                    e.path.clone(),
                    tar::EntryType::Symlink,
                    0,
                    Some(target.as_str()),
                )
            }
        };
        let mut pax = Vec::new();
        if name.len() > 100 {
            pax_record(&mut pax, "path", &name);
        }
        if let Some(l) = link.filter(|l| l.len() > 100) {
            pax_record(&mut pax, "linkpath", l);
        }
        if !pax.is_empty() {
            let mut h = tar::Header::new_ustar();
            set_bytes(&mut h.as_old_mut().name, b"././@PaxHeader");
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(mtime);
            h.set_size(pax.len() as u64);
            h.set_entry_type(tar::EntryType::XHeader);
            h.set_cksum();
            out.write_all(h.as_bytes()).map_err(wr)?;
            out.write_all(&pax).map_err(wr)?;
            pad(out, pax.len() as u64).map_err(wr)?;
        }
        let mut h = tar::Header::new_ustar();
        // When a PAX record carries the full name, the ustar field holds its
        // first 100 bytes, as Go's writer does, for readers without PAX.
        set_bytes(&mut h.as_old_mut().name, name.as_bytes());
        if let Some(l) = link {
            set_bytes(&mut h.as_old_mut().linkname, l.as_bytes());
        }
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        h.set_size(size);
        h.set_entry_type(entry_type);
        h.set_cksum();
        out.write_all(h.as_bytes()).map_err(wr)?;
        if let Node::File { size, contents } = &e.node {
            let mut w = ExactWriter {
                inner: out,
                remaining: *size,
                overflowed: false,
            };
            match contents.write_to(&mut w) {
                Ok(()) if w.remaining == 0 => {}
                Ok(()) => {
                    return Err(LayerError::TooShort {
                        path: e.path.clone(),
                        declared: *size,
                        actual: size - w.remaining,
                    })
                }
                Err(_) if w.overflowed => {
                    return Err(LayerError::TooLong {
                        path: e.path.clone(),
                        declared: *size,
                    })
                }
                Err(source) if source.kind() == io::ErrorKind::BrokenPipe => {
                    return Err(LayerError::Pipeline { source })
                }
                Err(source) => {
                    return Err(LayerError::Contents {
                        path: e.path.clone(),
                        source,
                    })
                }
            }
            pad(out, *size).map_err(wr)?;
        }
    }
    out.write_all(&[0u8; 2 * BLOCK]).map_err(wr)?;
    Ok(())
}

fn set_bytes(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn pad(out: &mut impl Write, len: u64) -> io::Result<()> {
    let rem = (len % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// Appends one `"<len> <key>=<value>\n"` record; `<len>` counts itself.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &str) {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
}

/// Accepts exactly `remaining` bytes; one more is an error, so a file that
/// grew since its size was taken cannot corrupt the archive.
struct ExactWriter<'a> {
    inner: &'a mut ChunkWriter,
    remaining: u64,
    overflowed: bool,
}

impl Write for ExactWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.remaining {
            self.overflowed = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "contents longer than the declared size",
            ));
        }
        let n = self.inner.write(buf)?;
        self.remaining -= n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hashes the tar stream (diff_id) and hands it out in `CHUNK_SIZE` pieces,
/// round-robin, so the writer can collect results in order without a
/// reordering buffer.
struct ChunkWriter {
    buf: Vec<u8>,
    hasher: Sha256,
    workers: Vec<SyncSender<Vec<u8>>>,
    next: usize,
}

impl ChunkWriter {
    fn new(workers: Vec<SyncSender<Vec<u8>>>) -> Self {
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK_SIZE),
            hasher: Sha256::new(),
            workers,
            next: 0,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_SIZE));
        let i = self.next % self.workers.len();
        self.next += 1;
        self.workers[i]
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "layer compressor stopped"))
    }

    /// Sends the last (partial) chunk and returns the diff_id.
    fn finish(&mut self) -> io::Result<Digest> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.workers.clear();
        Ok(Digest::from_sha256(std::mem::take(&mut self.hasher)))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&buf[..n]);
        self.hasher.update(&buf[..n]);
        if self.buf.len() == CHUNK_SIZE {
            self.send()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn compress_worker(
    level: libdeflater::CompressionLvl,
    input: Receiver<Vec<u8>>,
    output: SyncSender<Vec<u8>>,
) {
    let mut c = libdeflater::Compressor::new(level);
    for chunk in input {
        let mut out = vec![0u8; c.gzip_compress_bound(chunk.len())];
        let n = c
            .gzip_compress(&chunk, &mut out)
            .expect("output buffer sized by gzip_compress_bound");
        out.truncate(n);
        if output.send(out).is_err() {
            return;
        }
    }
}

/// Collects members in chunk order and writes them, hashing the compressed
/// stream (the blob digest).
fn write_members(
    file: &tempfile::NamedTempFile,
    from_workers: Vec<Receiver<Vec<u8>>>,
) -> io::Result<(Digest, u64)> {
    let mut w = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file.as_file()));
    'outer: loop {
        for rx in &from_workers {
            match rx.recv() {
                Ok(member) => w.write_all(&member)?,
                // Workers stop in order after the last chunk: the first
                // closed channel is the end of the stream.
                Err(_) => break 'outer,
            }
        }
    }
    let (mut buf, digest, len) = w.finish();
    buf.flush()?;
    Ok((digest, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Spans several chunks, so member boundaries are exercised.
    fn big_bytes() -> Vec<u8> {
        (0..(CHUNK_SIZE * 2 + 12345) / 8)
            .flat_map(|i| ((i as u64 * 2654435761) % 1000).to_le_bytes())
            .collect()
    }

    fn sample() -> Vec<Entry> {
        let long_dir = "d".repeat(120);
        let big = big_bytes();
        vec![
            Entry::file("app/main.py", 0o644, b"print('hi')\n".to_vec()),
            Entry::file("usr/local/bin/tool", 0o755, b"#!/bin/sh\n".to_vec()),
            Entry::file(format!("deep/{long_dir}/{}", "f".repeat(150)), 0o600, big),
            Entry {
                path: "app/link".into(),
                mode: 0o777,
                node: Node::Symlink {
                    target: format!("/{}", "t".repeat(200)),
                },
                owner: Some((1000, 1001)),
            },
            Entry::dir("app/data", 0o700),
        ]
    }

    /// path, mode, uid, link target, data
    type Got = (String, u32, u64, Option<String>, Vec<u8>);

    fn read_back(path: &std::path::Path) -> (Vec<u8>, Vec<Got>) {
        let mut tar_bytes = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut tar_bytes)
            .unwrap();
        let mut out = Vec::new();
        let mut ar = tar::Archive::new(&tar_bytes[..]);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let p = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let mode = e.header().mode().unwrap();
            let uid = e.header().uid().unwrap();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            assert_eq!(e.header().mtime().unwrap(), 1234);
            assert_eq!(e.header().username_bytes(), Some(&b""[..]));
            out.push((p, mode, uid, link, data));
        }
        (tar_bytes, out)
    }

    fn opts() -> LayerOptions {
        LayerOptions {
            mtime: 1234,
            level: 6,
        }
    }

    #[test]
    fn deterministic_whatever_the_input_order() {
        let (cache, _g) = Cache::ephemeral().unwrap();
        let (a, pa) = write_layer(sample(), &opts(), &cache).unwrap();
        let mut rev = sample();
        rev.reverse();
        let (b, pb) = write_layer(rev, &opts(), &cache).unwrap();
        assert_eq!(a, b);
        assert_eq!(pa, pb);
        assert_eq!(std::fs::read(&pa).unwrap().len() as u64, a.size);
        assert_eq!(Digest::of_bytes(&std::fs::read(&pa).unwrap()), a.digest);
        let other = LayerOptions { mtime: 1, ..opts() };
        let (c, _) = write_layer(sample(), &other, &cache).unwrap();
        assert_ne!(a.digest, c.digest);
    }

    #[test]
    fn sorted_parents_added_long_names_and_diff_id() {
        let (cache, _g) = Cache::ephemeral().unwrap();
        let (layer, path) = write_layer(sample(), &opts(), &cache).unwrap();
        assert_eq!(layer.media_type, media_types::OCI_LAYER_TAR_GZIP);
        let (tar_bytes, entries) = read_back(&path);
        assert_eq!(Digest::of_bytes(&tar_bytes), layer.diff_id);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
        let long_dir = format!("deep/{}/", "d".repeat(120));
        assert_eq!(
            names,
            [
                "app/",
                "app/data/",
                "app/link",
                "app/main.py",
                "deep/",
                &long_dir,
                &long,
                "usr/",
                "usr/local/",
                "usr/local/bin/",
                "usr/local/bin/tool"
            ]
        );
        let get = |n: &str| entries.iter().find(|e| e.0 == n).unwrap();
        assert_eq!(get("app/").1, 0o755);
        assert_eq!(get("app/data/").1, 0o700);
        assert_eq!(get("usr/local/bin/tool").1, 0o755);
        assert_eq!(get("app/link").2, 1000);
        assert_eq!(
            get("app/link").3.as_deref(),
            Some(&*format!("/{}", "t".repeat(200)))
        );
        assert_eq!(get(&long).4, big_bytes());
        assert_eq!(get("app/main.py").4, b"print('hi')\n");
    }

    #[test]
    fn empty_layer_is_valid() {
        let (cache, _g) = Cache::ephemeral().unwrap();
        let (layer, path) = write_layer(Vec::new(), &opts(), &cache).unwrap();
        let (tar_bytes, entries) = read_back(&path);
        assert!(entries.is_empty());
        assert_eq!(tar_bytes, vec![0u8; 1024]);
        assert_eq!(layer.diff_id, Digest::of_bytes(&[0u8; 1024]));
    }

    struct Lying(Vec<u8>);
    impl crate::layer::Contents for Lying {
        fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
            out.write_all(&self.0)
        }
    }

    fn lying(declared: u64, actual: usize) -> Entry {
        Entry {
            path: "x/file".into(),
            mode: 0o644,
            node: Node::File {
                size: declared,
                contents: Box::new(Lying(vec![7; actual])),
            },
            owner: None,
        }
    }

    fn assert_cache_empty(cache: &Cache) {
        for d in ["blobs/sha256", "tmp"] {
            let n = std::fs::read_dir(cache.root().join(d)).unwrap().count();
            assert_eq!(n, 0, "{d} not empty");
        }
    }

    #[test]
    fn size_mismatch_is_an_error_and_leaves_nothing() {
        let (cache, _g) = Cache::ephemeral().unwrap();
        let big = CHUNK_SIZE * 3;
        let err = write_layer(vec![lying(big as u64 + 1, big)], &opts(), &cache).unwrap_err();
        assert!(matches!(err, LayerError::TooShort { .. }), "{err}");
        assert!(err.to_string().contains("x/file"), "{err}");
        assert_cache_empty(&cache);
        let err = write_layer(vec![lying(10, 11)], &opts(), &cache).unwrap_err();
        assert!(matches!(err, LayerError::TooLong { .. }), "{err}");
        assert_cache_empty(&cache);
    }

    #[test]
    fn bad_inputs_name_the_path() {
        let (cache, _g) = Cache::ephemeral().unwrap();
        let dup = vec![Entry::dir("a", 0o755), Entry::dir("a/", 0o700)];
        let err = write_layer(dup, &opts(), &cache).unwrap_err();
        assert!(
            matches!(err, LayerError::Duplicate { ref path } if path == "a"),
            "{err}"
        );
        let clash = vec![
            Entry::file("a", 0o644, vec![]),
            Entry::file("a/b", 0o644, vec![]),
        ];
        let err = write_layer(clash, &opts(), &cache).unwrap_err();
        assert!(matches!(err, LayerError::ParentNotDir { .. }), "{err}");
        for p in ["/abs", "a/../b", "a//b", "./a", ""] {
            let err = write_layer(vec![Entry::dir(p, 0o755)], &opts(), &cache).unwrap_err();
            assert!(matches!(err, LayerError::InvalidPath { .. }), "{p}: {err}");
        }
        assert_cache_empty(&cache);
    }

    #[test]
    fn pax_record_length_counts_itself() {
        for n in [1, 90, 91, 92, 95, 96, 97, 990, 995, 996, 1000] {
            let mut v = Vec::new();
            pax_record(&mut v, "path", &"x".repeat(n));
            let s = String::from_utf8(v).unwrap();
            let (len, _) = s.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), s.len(), "{n}");
        }
    }
}
