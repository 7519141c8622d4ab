//! RECORD files (PEP 376 / the recording-installed-packages spec): reading a
//! wheel's, hashing what is installed, and writing the installed one the way
//! pip does (csv with `\r\n`, rows sorted, RECORD itself without a hash).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::digest::DynDigest;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// One RECORD row: `path,algorithm=urlsafe-b64-digest,size`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordEntry {
    pub path: String,
    /// Empty for RECORD itself and for signature files.
    pub hash: String,
    pub size: String,
}

impl RecordEntry {
    /// A row for bytes pyko generates or rewrites.
    pub fn of_bytes(path: String, bytes: &[u8]) -> RecordEntry {
        RecordEntry {
            path,
            hash: sha256_record_hash(bytes),
            size: bytes.len().to_string(),
        }
    }
}

/// `sha256=<urlsafe base64, no padding>` as RECORD wants it.
pub fn sha256_record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", URL_SAFE_NO_PAD.encode(Sha256::digest(bytes)))
}

/// A hash from a wheel's RECORD, ready to check streamed bytes against.
#[derive(Clone, Debug)]
pub struct ExpectedHash {
    pub algorithm: &'static str,
    pub digest: Vec<u8>,
}

impl ExpectedHash {
    /// `None` when the algorithm is not one the spec allows (sha256 or
    /// stronger) or the digest is not valid base64 of the right length.
    pub fn parse(field: &str) -> Option<ExpectedHash> {
        let (algorithm, b64) = field.split_once('=')?;
        let (algorithm, len) = match algorithm {
            "sha256" => ("sha256", 32),
            "sha384" => ("sha384", 48),
            "sha512" => ("sha512", 64),
            _ => return None,
        };
        // Some tools pad; pip accepts either, so do we.
        let digest = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok()?;
        (digest.len() == len).then_some(ExpectedHash { algorithm, digest })
    }

    pub fn hasher(&self) -> Box<dyn DynDigest + Send> {
        match self.algorithm {
            "sha384" => Box::new(Sha384::new()),
            "sha512" => Box::new(Sha512::new()),
            _ => Box::new(Sha256::new()),
        }
    }

    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut h = self.hasher();
        h.update(bytes);
        *h.finalize() == *self.digest
    }

    pub fn encoded(digest: &[u8], algorithm: &str) -> String {
        format!("{algorithm}={}", URL_SAFE_NO_PAD.encode(digest))
    }
}

/// Parses RECORD as Python's `csv.reader` does for the rows wheels contain:
/// comma-separated, fields optionally double-quoted with `""` escapes.
pub fn parse(text: &str) -> Result<Vec<RecordEntry>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line).ok_or_else(|| format!("line {}: bad quoting", n + 1))?;
        let mut fields = fields.into_iter();
        let path = fields.next().unwrap_or_default();
        let hash = fields.next().unwrap_or_default();
        let size = fields.next().unwrap_or_default();
        if fields.next().is_some() {
            return Err(format!("line {}: more than 3 fields", n + 1));
        }
        if path.is_empty() {
            return Err(format!("line {}: empty path", n + 1));
        }
        rows.push(RecordEntry { path, hash, size });
    }
    Ok(rows)
}

fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// The installed RECORD, byte for byte as pip writes it: rows sorted,
/// `csv.writer` minimal quoting, `\r\n` line ends.
pub fn write(mut rows: Vec<RecordEntry>) -> Vec<u8> {
    rows.sort();
    let mut out = String::new();
    for row in &rows {
        let fields = [&row.path, &row.hash, &row.size];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if f.contains([',', '"', '\r', '\n']) {
                out.push('"');
                out.push_str(&f.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(f);
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_rows() {
        let rows = parse(
            "a/b.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n\"a,b\"\"c.py\",,\nx-1.dist-info/RECORD,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].path, "a,b\"c.py");
        assert!(rows[1].hash.is_empty());
        let h = ExpectedHash::parse(&rows[0].hash).unwrap();
        assert!(h.matches(b""));
        assert!(!h.matches(b"x"));
        assert!(ExpectedHash::parse("md5=1B2M2Y8AsgTpgAmY7PhCfg").is_none());
        assert!(parse("a,b,c,d\n").is_err());
    }

    #[test]
    fn writes_like_pip() {
        let out = write(vec![
            RecordEntry {
                path: "b,c".into(),
                hash: String::new(),
                size: String::new(),
            },
            RecordEntry::of_bytes("a".into(), b""),
        ]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n\"b,c\",,\r\n"
        );
    }
}
