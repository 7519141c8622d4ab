//! The deterministic tar stream: entries sorted by path bytes, missing
//! parent directories added, and headers built field by field with a fixed
//! mtime and only the owner and mode an entry asks for, so the bytes depend
//! on the entries alone, never on the host or the input order.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Entry, LayerError, Node};

const BLOCK: usize = 512;

/// Validates paths, sorts by path bytes, rejects duplicates and adds missing
/// parent directories (0755, 0:0).
pub(super) fn normalize(entries: Vec<Entry>) -> Result<Vec<Entry>, LayerError> {
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

/// Writes the tar stream of normalized `entries`. Headers are built field
/// by field (ustar), with a PAX extended header only for names the ustar
/// fields cannot hold, so no host metadata (atime, ctime, user names, device
/// numbers, xattrs) can leak in. A failed write to `out` is
/// [`LayerError::Pipeline`]: whoever reads `out` knows why it stopped.
pub(super) fn write_tar(
    entries: &[Entry],
    mtime: u64,
    out: &mut impl Write,
) -> Result<(), LayerError> {
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
            write_contents(&e.path, *size, contents.as_ref(), out)?;
            pad(out, *size).map_err(wr)?;
        }
    }
    out.write_all(&[0u8; 2 * BLOCK]).map_err(wr)?;
    Ok(())
}

/// Streams one file's contents, which must be exactly `size` bytes.
fn write_contents(
    path: &str,
    size: u64,
    contents: &dyn super::Contents,
    out: &mut impl Write,
) -> Result<(), LayerError> {
    let mut w = ExactWriter {
        inner: out,
        remaining: size,
        overflowed: false,
    };
    match contents.write_to(&mut w) {
        Ok(()) if w.remaining == 0 => Ok(()),
        Ok(()) => Err(LayerError::TooShort {
            path: path.to_string(),
            declared: size,
            actual: size - w.remaining,
        }),
        Err(_) if w.overflowed => Err(LayerError::TooLong {
            path: path.to_string(),
            declared: size,
        }),
        Err(source) if source.kind() == io::ErrorKind::BrokenPipe => {
            Err(LayerError::Pipeline { source })
        }
        Err(source) => Err(LayerError::Contents {
            path: path.to_string(),
            source,
        }),
    }
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
struct ExactWriter<'a, W> {
    inner: &'a mut W,
    remaining: u64,
    overflowed: bool,
}

impl<W: Write> Write for ExactWriter<'_, W> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
