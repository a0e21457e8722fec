//! The graph's file: a small little-endian binary format, written to a temporary file and
//! renamed into place, checked end to end on load.
//!
//! ```text
//! magic "RCHNSW\0\0" | version u32 | dim u32 | m u32 | ef_construction u32 | nodes u64
//! | entry node u32 | top level u32 | row ids i64 × nodes | levels u8 × nodes
//! | layer 0: (count + 2m slots) u32 × nodes | upper layers: (count + m slots) u32 × level, per node
//! | vectors f32 × nodes × dim | xxh3-64 of everything before it
//! ```
//! Loading validates the checksum, every length, level, count and neighbour index, so a
//! truncated or corrupted file is refused (the caller rebuilds), never trusted.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::{distance, pack_entry, unpack_entry, Graph, NodeLock, MAX_LEVEL, NO_ENTRY};

const MAGIC: &[u8; 8] = b"RCHNSW\0\0";
const VERSION: u32 = 1;

/// A buffered writer that hashes what it writes.
struct Hashed {
    out: BufWriter<File>,
    hash: Xxh3,
}

impl Hashed {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    fn list(&mut self, list: &[AtomicU32]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(list.len() * 4);
        for s in list {
            buf.extend_from_slice(&s.load(Ordering::Relaxed).to_le_bytes());
        }
        self.put(&buf)
    }
}

/// Reads a file front to back; every read checks the remaining length.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    fn u32s(&mut self, n: usize) -> Option<impl Iterator<Item = u32> + 'a> {
        let b = self.take(n.checked_mul(4)?)?;
        Some(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        )
    }
}

impl Graph {
    /// Writes the graph (which must be fully linked) to `path` through a temporary file.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        if self.linked != self.len() {
            return Err(std::io::Error::other("the graph has unlinked nodes"));
        }
        let tmp = path.with_extension("tmp");
        let file = File::create(&tmp)?;
        let mut w = Hashed {
            out: BufWriter::with_capacity(1 << 20, file),
            hash: Xxh3::new(),
        };
        w.put(MAGIC)?;
        w.u32(VERSION)?;
        w.u32(self.dim as u32)?;
        w.u32(self.m as u32)?;
        w.u32(self.ef_construction as u32)?;
        w.put(&(self.len() as u64).to_le_bytes())?;
        let packed = self.entry.load(Ordering::Acquire);
        let (entry, top) = if packed == NO_ENTRY {
            (u32::MAX, 0)
        } else {
            let (e, t) = unpack_entry(packed);
            (e, u32::from(t))
        };
        w.u32(entry)?;
        w.u32(top)?;
        let mut buf = Vec::with_capacity(self.len() * 8);
        for id in &self.ids {
            buf.extend_from_slice(&id.to_le_bytes());
        }
        w.put(&buf)?;
        w.put(&self.levels)?;
        w.list(&self.layer0)?;
        for u in &self.upper {
            w.list(u)?;
        }
        for chunk in self.data.chunks(1 << 16) {
            let mut buf = Vec::with_capacity(chunk.len() * 4);
            for x in chunk {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            w.put(&buf)?;
        }
        let digest = w.hash.digest();
        w.out.write_all(&digest.to_le_bytes())?;
        let file = w.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    }

    /// Reads a graph written by `write_file` for `dim`-d vectors; `None` when the file is
    /// missing, truncated, corrupted or of another shape.
    pub fn read_file(path: &Path, dim: usize) -> Option<Graph> {
        let bytes = std::fs::read(path).ok()?;
        let body_len = bytes.len().checked_sub(8)?;
        let (body, tail) = bytes.split_at(body_len);
        let mut d = [0u8; 8];
        d.copy_from_slice(tail);
        if xxh3_64(body) != u64::from_le_bytes(d) {
            return None;
        }
        parse(body, dim)
    }
}

fn parse(body: &[u8], dim: usize) -> Option<Graph> {
    let mut c = Cursor { bytes: body };
    if c.take(8)? != MAGIC || c.u32()? != VERSION || c.u32()? as usize != dim {
        return None;
    }
    let m = c.u32()? as usize;
    let ef_construction = c.u32()? as usize;
    if !(2..=255).contains(&m) {
        return None;
    }
    let m0 = 2 * m;
    let n = usize::try_from(c.u64()?).ok()?;
    // Every node takes at least its id, level, layer 0 and vector: bound `n` by the file size
    // before allocating anything.
    let per_node = 8 + 1 + 4 * (m0 + 1) + 4 * dim;
    if n.checked_mul(per_node)? > body.len() || n >= u32::MAX as usize {
        return None;
    }
    let entry = c.u32()?;
    let top = c.u32()?;
    let ids: Vec<i64> = c
        .take(n * 8)?
        .chunks_exact(8)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            i64::from_le_bytes(a)
        })
        .collect();
    let levels = c.take(n)?.to_vec();
    if levels.iter().any(|&l| l > MAX_LEVEL) {
        return None;
    }
    let valid_list = |list: &[AtomicU32], cap: usize| {
        let count = list
            .first()
            .map_or(0, |x| x.load(Ordering::Relaxed) as usize);
        count <= cap
            && list
                .iter()
                .skip(1)
                .take(count)
                .all(|s| (s.load(Ordering::Relaxed) as usize) < n)
    };
    let layer0: Vec<AtomicU32> = c.u32s(n * (m0 + 1))?.map(AtomicU32::new).collect();
    if !layer0.chunks_exact(m0 + 1).all(|l| valid_list(l, m0)) {
        return None;
    }
    let mut upper = Vec::with_capacity(n);
    for &l in &levels {
        let list: Box<[AtomicU32]> = c
            .u32s(usize::from(l) * (m + 1))?
            .map(AtomicU32::new)
            .collect();
        if !list.chunks_exact(m + 1).all(|x| valid_list(x, m)) {
            return None;
        }
        upper.push(list);
    }
    let data: Vec<f32> = c
        .take(n.checked_mul(dim)?.checked_mul(4)?)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if !c.bytes.is_empty() {
        return None;
    }
    let entry = if n == 0 {
        if entry != u32::MAX {
            return None;
        }
        NO_ENTRY
    } else {
        let top = u8::try_from(top).ok()?;
        if levels.get(entry as usize).copied() != Some(top) {
            return None;
        }
        pack_entry(entry, top)
    };
    let locks = (0..n).map(|_| NodeLock::new()).collect();
    Some(Graph {
        dim,
        m,
        m0,
        ef_construction: ef_construction.max(m),
        data,
        ids,
        levels,
        layer0,
        upper,
        locks,
        linked: n,
        entry: AtomicU64::new(entry),
        dot: distance::select(),
    })
}
