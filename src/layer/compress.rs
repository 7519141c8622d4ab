//! gzip or zstd on every core, both digests in one pass.
//!
//! The uncompressed stream is produced on the calling thread and cut into
//! fixed-size chunks. Each chunk is compressed on its own into an
//! independent gzip member (libdeflate) or zstd frame; they are written in
//! order. Fixed chunk boundaries make the blob depend only on the
//! uncompressed bytes, never on timing or the number of cores.
//! Concatenated members are one valid gzip stream (RFC 1952 §2.2) that Go's,
//! containerd's and pigz's readers accept; concatenated frames are one valid
//! zstd stream (RFC 8878 §3), which is also how containers' zstd:chunked
//! layers are made.
//!
//! One pool of compressors (a thread per core) serves every layer being
//! written, so layers written from several threads at once share the cores
//! instead of each bringing its own: the pool keeps both cores busy across
//! a layer's tail and through a small layer's single chunk, and memory does
//! not grow with the number of layers in flight.
//!
//! Memory stays flat: a worker takes a chunk only when it is free (a
//! rendezvous), so no chunk waits queued, and at most a few finished members
//! per layer wait for their turn to be written. Chunk buffers go back to
//! their producer for reuse: once a freed 4 MiB buffer has raised glibc's
//! mmap threshold, fresh ones come from the heap, which keeps what they
//! leave behind. Peak RSS of a cold build of the large bench set was
//! 103–104 MB before that reuse, 89 MB after.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

use super::writer::Watch;
use crate::at_once;
use crate::oci::digest::{Digest, HashingWriter};
use crate::oci::Compression;

/// Uncompressed bytes per gzip member. Changing it changes every layer
/// digest, so it is a constant, not an option.
pub(super) const CHUNK_SIZE: usize = 4 << 20;

/// What [`compress`] produced: the digest of the uncompressed stream
/// (`Ok(diff_id)`) or why producing it failed, and the digest and size of
/// the compressed file, or why writing it failed.
pub(super) type Compressed<E> = (Result<Digest, E>, io::Result<(Digest, u64)>);

/// One chunk for the pool: where its member goes, and where its buffer
/// goes back to.
struct Job {
    chunk: Vec<u8>,
    codec: Compression,
    done: SyncSender<Vec<u8>>,
    free: SyncSender<Vec<u8>>,
}

/// The process's compressors, started on first use. They live as long as
/// the process, blocked on an empty channel when there is nothing to do.
fn pool() -> &'static SyncSender<Job> {
    static POOL: OnceLock<SyncSender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = sync_channel::<Job>(0);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..at_once::cores() {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("pyko-compress-{i}"))
                .spawn(move || compress_worker(&rx))
                .expect("start a compressor thread");
        }
        tx
    })
}

/// Runs `produce` on the calling thread and writes what it writes,
/// compressed on every core, into `file`. `stopped` turns a failure to hand a chunk on
/// (the writer stopped first) into the producer's error type.
pub(super) fn compress<E>(
    codec: Compression,
    file: &File,
    watch: Option<&dyn Watch>,
    produce: impl FnOnce(&mut ChunkWriter) -> Result<(), E>,
    stopped: impl FnOnce(io::Error) -> E,
) -> Compressed<E> {
    // Room for every core's member plus one, so a slow first member does
    // not stall the others.
    let in_flight = at_once::cores() + 1;
    std::thread::scope(|s| {
        let (order_tx, order_rx) = sync_channel::<Receiver<Vec<u8>>>(in_flight);
        let writer = s.spawn(move || write_members(file, watch, order_rx));
        let mut chunks = ChunkWriter::new(codec, order_tx, in_flight);
        let produced = produce(&mut chunks).and_then(|()| chunks.finish().map_err(stopped));
        // Dropping the sender ends the writer's stream, on success and on
        // error alike.
        drop(chunks);
        let written = writer.join().expect("layer writer thread panicked");
        (produced, written)
    })
}

/// Hashes the uncompressed stream (diff_id), hands it to the pool in
/// `CHUNK_SIZE` pieces, and tells the writer, in order, where each piece's
/// member will arrive, so no reordering buffer is needed.
pub(super) struct ChunkWriter {
    buf: Vec<u8>,
    hasher: Sha256,
    codec: Compression,
    order: Option<SyncSender<Receiver<Vec<u8>>>>,
    free_tx: SyncSender<Vec<u8>>,
    free: Receiver<Vec<u8>>,
}

fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "layer compressor stopped")
}

impl ChunkWriter {
    fn new(codec: Compression, order: SyncSender<Receiver<Vec<u8>>>, in_flight: usize) -> Self {
        let (free_tx, free) = sync_channel(in_flight + 1);
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK_SIZE),
            hasher: Sha256::new(),
            codec,
            order: Some(order),
            free_tx,
            free,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::take(&mut self.buf);
        let (done, member) = sync_channel(1);
        // The writer's place first: it bounds how far this layer runs ahead.
        self.order
            .as_ref()
            .ok_or_else(stopped)?
            .send(member)
            .map_err(|_| stopped())?;
        pool()
            .send(Job {
                chunk,
                codec: self.codec,
                done,
                free: self.free_tx.clone(),
            })
            .map_err(|_| stopped())?;
        // Only now, once a worker has taken the chunk, is the next buffer
        // needed: usually one a worker has just handed back, so a producer
        // blocked on busy workers holds no spare.
        self.buf = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK_SIZE));
        self.buf.clear();
        Ok(())
    }

    /// Sends the last (partial) chunk and returns the diff_id.
    fn finish(&mut self) -> io::Result<Digest> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.order = None;
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

/// One chunk in, one self-contained gzip member or zstd frame out.
enum Compressor {
    Gzip(libdeflater::Compressor),
    Zstd(zstd::bulk::Compressor<'static>),
}

impl Compressor {
    /// The level was checked when the options were parsed; a zstd context
    /// that cannot be made is out of memory, like any other allocation.
    fn new(codec: Compression) -> Compressor {
        match codec {
            Compression::Gzip { level } => Compressor::Gzip(libdeflater::Compressor::new(
                libdeflater::CompressionLvl::new(level as i32).expect("gzip level checked"),
            )),
            Compression::Zstd { level } => {
                let mut c = zstd::bulk::Compressor::new(level).expect("zstd context");
                // The frame says its size, so readers can size buffers.
                c.include_contentsize(true).expect("zstd parameter");
                Compressor::Zstd(c)
            }
        }
    }

    /// Compresses `chunk` into `out` (reused, grown to the bound once);
    /// returns the compressed length.
    fn compress(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> usize {
        match self {
            Compressor::Gzip(c) => {
                out.resize(c.gzip_compress_bound(chunk.len()), 0);
                c.gzip_compress(chunk, out)
                    .expect("output buffer sized by gzip_compress_bound")
            }
            Compressor::Zstd(c) => {
                out.clear();
                out.reserve(zstd::zstd_safe::compress_bound(chunk.len()));
                c.compress_to_buffer(chunk, out)
                    .expect("zstd output buffer sized by its bound")
            }
        }
    }
}

/// Compresses each chunk into one reused buffer, sends a copy of just the
/// member or frame, and hands the chunk back to its producer. A context per
/// codec and level is kept, since making one (zstd's especially) costs more
/// than a small chunk.
fn compress_worker(jobs: &Mutex<Receiver<Job>>) {
    let mut contexts: Vec<(Compression, Compressor)> = Vec::new();
    let mut out = Vec::new();
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(|e| e.into_inner());
            match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let i = match contexts.iter().position(|(c, _)| *c == job.codec) {
            Some(i) => i,
            None => {
                contexts.push((job.codec, Compressor::new(job.codec)));
                contexts.len() - 1
            }
        };
        let n = contexts[i].1.compress(&job.chunk, &mut out);
        // Full only if the producer stopped taking chunks back: drop it.
        let _ = job.free.try_send(job.chunk);
        // The writer may have stopped (an error elsewhere): nothing to do.
        let _ = job.done.send(out[..n].to_vec());
    }
}

/// Writes members in chunk order, hashing the compressed stream (the blob
/// digest). The stream ends when the producer drops its sender.
fn write_members(
    file: &File,
    watch: Option<&dyn Watch>,
    order: Receiver<Receiver<Vec<u8>>>,
) -> io::Result<(Digest, u64)> {
    let file = Watched {
        file,
        watch,
        written: 0,
    };
    let mut w = HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file));
    for member in order {
        let member = member
            .recv()
            .map_err(|_| io::Error::other("a layer compressor thread stopped"))?;
        w.write_all(&member)?;
    }
    let (mut buf, digest, len) = w.finish();
    buf.flush()?;
    Ok((digest, len))
}

/// The file, telling `watch` how far it is written after each write.
struct Watched<'a> {
    file: &'a File,
    watch: Option<&'a dyn Watch>,
    written: u64,
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.written += n as u64;
        if let Some(w) = self.watch {
            w.grew(self.written);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&mut &*self.file).flush()
    }
}
