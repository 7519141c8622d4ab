//! How a layer blob's bytes are compressed: what pyko writes (`--compression`)
//! and what it reads back (base layers, its own layers), told apart by the
//! blob's first bytes rather than its media type, since `docker save`
//! archives and some registries label plain tars and zstd blobs loosely.

use std::io::{self, BufRead, Read};

use super::media_types;

/// The compression of the layers pyko writes. gzip is the default because
/// every reader takes it; zstd is several times faster to write and read
/// but Docker Engine before 23 cannot pull it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// libdeflate's scale, 0–12 (6 is gzip's own default).
    Gzip { level: u32 },
    /// zstd's scale, 1–19 (3 is zstd's own default).
    Zstd { level: i32 },
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Gzip { level: 6 }
    }
}

/// The levels each codec takes: libdeflate's 0–12, zstd's 1–19 (its
/// 20–22 "ultra" levels need far more memory per worker).
const GZIP_LEVELS: std::ops::RangeInclusive<i64> = 0..=12;
const ZSTD_LEVELS: std::ops::RangeInclusive<i64> = 1..=19;

impl Compression {
    /// Whether the level is one the codec takes; the parser only makes
    /// such values, but the library API can build any.
    pub fn level_ok(self) -> bool {
        match self {
            Compression::Gzip { level } => GZIP_LEVELS.contains(&i64::from(level)),
            Compression::Zstd { level } => ZSTD_LEVELS.contains(&i64::from(level)),
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip { .. } => media_types::OCI_LAYER_TAR_GZIP,
            Compression::Zstd { .. } => media_types::OCI_LAYER_TAR_ZSTD,
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compression::Gzip { level } => write!(f, "gzip:{level}"),
            Compression::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    /// `gzip`, `gzip:LEVEL`, `zstd`, `zstd:LEVEL`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, level) = match s.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (s, None),
        };
        let parse = |range: std::ops::RangeInclusive<i64>, default: i64| {
            let Some(l) = level else { return Ok(default) };
            match l.parse::<i64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(format!(
                    "{s:?}: the {name} level must be a number from {} to {}",
                    range.start(),
                    range.end()
                )),
            }
        };
        match name.to_ascii_lowercase().as_str() {
            "gzip" => Ok(Compression::Gzip {
                level: parse(GZIP_LEVELS, 6)? as u32,
            }),
            "zstd" => Ok(Compression::Zstd {
                level: parse(ZSTD_LEVELS, 3)? as i32,
            }),
            _ => Err(format!(
                "{s:?} is not a layer compression; use gzip, gzip:LEVEL ({}–{}), zstd or zstd:LEVEL ({}–{})",
                GZIP_LEVELS.start(),
                GZIP_LEVELS.end(),
                ZSTD_LEVELS.start(),
                ZSTD_LEVELS.end()
            )),
        }
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// What a blob's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Gzip,
    Zstd,
    /// Anything else: read as a plain tar (whose parser then judges it).
    Plain,
}

pub fn detect(head: &[u8]) -> Detected {
    if head.starts_with(GZIP_MAGIC) {
        Detected::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Detected::Zstd
    } else {
        Detected::Plain
    }
}

/// The uncompressed tar stream of a layer blob, whatever it was compressed
/// with. Every gzip member and every zstd frame is read: pyko's own layers
/// are many of them, one per chunk.
pub fn decompress<'a, R: BufRead + 'a>(mut blob: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match detect(blob.fill_buf()?) {
        Detected::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(blob)),
        Detected::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(blob)?),
        Detected::Plain => Box::new(blob),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_levels_and_says_what_is_allowed() {
        assert_eq!("gzip".parse(), Ok(Compression::Gzip { level: 6 }));
        assert_eq!("gzip:9".parse(), Ok(Compression::Gzip { level: 9 }));
        assert_eq!("zstd".parse(), Ok(Compression::Zstd { level: 3 }));
        assert_eq!("ZSTD:19".parse(), Ok(Compression::Zstd { level: 19 }));
        let e = "zstd:20".parse::<Compression>().unwrap_err();
        assert!(e.contains("1 to 19"), "{e}");
        let e = "gzip:x".parse::<Compression>().unwrap_err();
        assert!(e.contains("0 to 12"), "{e}");
        let e = "brotli".parse::<Compression>().unwrap_err();
        assert!(e.contains("gzip, gzip:LEVEL"), "{e}");
        for c in [
            Compression::Gzip { level: 1 },
            Compression::Zstd { level: 7 },
        ] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn reads_every_member_and_frame() {
        use std::io::Write;
        let mut gz = Vec::new();
        for part in [&b"first "[..], b"second"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let mut zs = zstd::bulk::compress(b"first ", 3).unwrap();
        zs.extend(zstd::bulk::compress(b"second", 3).unwrap());
        for (blob, kind) in [
            (gz, Detected::Gzip),
            (zs, Detected::Zstd),
            (b"first second".to_vec(), Detected::Plain),
        ] {
            assert_eq!(detect(&blob), kind);
            let mut out = String::new();
            decompress(&blob[..])
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, "first second", "{kind:?}");
        }
    }
}
