//! Writing a layer into the cache: the deterministic tar stream
//! ([`super::tar`]) through the parallel compressor ([`super::compress`]) into a temp
//! file, renamed into place under its digest once both digests are known.

use crate::ui::progress::{self, Kind};
use std::fs::File;
use std::path::PathBuf;

use super::compress;
use super::tar::{normalize, write_tar};
use super::{Entry, LayerError};
use crate::cache::Cache;
use crate::oci::{Compression, Layer};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerOptions {
    /// Modification time of every entry; a fixed value is what makes layers
    /// reproducible. The caller decides it (from `SOURCE_DATE_EPOCH`, or 0).
    pub mtime: u64,
    /// gzip (the default) or zstd, with its level.
    pub compression: Compression,
}

/// mtime 0 (1970-01-01), the same as the CLI without `SOURCE_DATE_EPOCH`:
/// one set of inputs must give the same bytes whatever the entry point
/// (binary, library, tests), and 0 is what the layer digests pinned so far
/// were made with. gzip level 6 is gzip's own default.
impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            mtime: 0,
            compression: Compression::default(),
        }
    }
}

/// Writes `entries` as a compressed tar into `cache` and returns the
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
    write_layer_watched(entries, opts, cache, None)
}

/// Told how a layer's compressed file grows while it is written, so what is
/// written can be read (uploaded) before the layer is done. The bytes up to
/// the last `grew` are final: members are written in order, never revised.
pub trait Watch: Sync {
    /// The file being written, before its first byte; read it by offset
    /// (`FileExt::read_at`), since the writer owns the file position.
    fn started(&self, file: &File);
    /// `written` bytes of the file are written.
    fn grew(&self, written: u64);
}

/// [`write_layer`], telling `watch` how the compressed file grows.
pub fn write_layer_watched(
    entries: Vec<Entry>,
    opts: &LayerOptions,
    cache: &Cache,
    watch: Option<&dyn Watch>,
) -> Result<(Layer, PathBuf), LayerError> {
    let entries = normalize(entries)?;
    check_level(opts.compression)?;
    let tmp = cache.temp_file()?;
    if let Some(w) = watch {
        w.started(tmp.as_file());
    }
    let progress = progress::bytes(
        Kind::Compress,
        format!("layer of {} entries", entries.len()),
        None,
    );
    let (produced, written) = compress::compress(
        opts.compression,
        tmp.as_file(),
        watch,
        |out| write_tar(&entries, opts.mtime, &mut progress.writer(out)),
        |source| LayerError::Pipeline { source },
    );
    let (diff_id, (digest, size)) = match (produced, written) {
        (Ok(diff_id), Ok(written)) => (diff_id, written),
        // The writer failing (disk full…) is what stopped the pipeline.
        (Err(LayerError::Pipeline { .. }) | Ok(_), Err(error)) => {
            return Err(LayerError::Write {
                path: tmp.path().to_path_buf(),
                error,
            })
        }
        (Err(e), _) => return Err(e),
    };
    let path = cache.persist(tmp, &digest)?;
    progress.finish();
    Ok((
        Layer {
            digest,
            diff_id,
            size,
            media_type: opts.compression.media_type().to_string(),
        },
        path,
    ))
}

/// Options built in code (the library API) skip the CLI's parsing.
fn check_level(c: Compression) -> Result<(), LayerError> {
    if c.level_ok() {
        Ok(())
    } else {
        Err(LayerError::Level(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::compress::CHUNK_SIZE;
    use crate::layer::Node;
    use crate::oci::digest::Digest;
    use crate::oci::media_types;
    use std::io::{self, Read, Write};

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
            compression: Compression::default(),
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
}
