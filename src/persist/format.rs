//! The on-disk format: framing shared by every file, and the record kinds.
//!
//! ```text
//! <dir>/MANIFEST                      one record: shard count, latest complete snapshot epoch
//! <dir>/shard-<i>/snapshot-<E>.snap   shard i's image at the cut of epoch E
//! <dir>/shard-<i>/log-<E>.seg         shard i's writes after that cut (until the next one)
//! ```
//!
//! Every file is a sequence of *frames*:
//!
//! ```text
//! [u32 LE payload length][u32 LE crc32 of the payload][payload: kind u8, fields…]
//! ```
//!
//! Fixed-width integers are little-endian; byte strings are a varint
//! length (LEB128) and the bytes (see [`super::codec`]). The first frame of every file is a
//! [`Kind::Header`]: magic, format version, shard, shard count, epoch. A reader
//! refuses a version newer than its own; every older version stays readable
//! (new record kinds get new numbers, old ones never change meaning).
//!
//! Log segment frames after the header:
//! - [`Kind::Entries`] `txid u64` (0 = not part of a cross-shard transaction),
//!   then entries to the end of the frame, each a tag and its fields:
//!   - `1` command: `now u64` (the clock it ran with), `db u32`, `argc u32`,
//!     args — replayed through the command table at that clock, so TTLs
//!     and lazy expiry come out as they did;
//!   - `2` key image: `now u64`, `db u32`, key, `present u8`, then (if
//!     present) expiry and value — the whole key as a cross-shard step
//!     left it.
//!
//!   One frame holds what the shard appended between two flushes for one
//!   transaction id (never part of a batch: a batch runs between flushes),
//!   so a torn frame loses whole batches, never half an EXEC.
//! - [`Kind::TxEnd`] `txid u64`, `parts u32`: a writing cross-shard
//!   transaction ended here. Recovery applies a transaction's entries only
//!   if all `parts` shards logged its end: all or nothing.
//!
//! Snapshot frames after the header: [`Kind::Keys`] `db u32`, `count u32`,
//! entries (key, expiry, value), then one [`Kind::SnapshotEnd`] `keys u64`.
//! A snapshot without its end frame is incomplete and never named by the
//! MANIFEST.
//!
//! MANIFEST: one [`Kind::Manifest`] frame: magic, version, shards `u32`,
//! epoch `u64`. Replaced atomically (temp file, fsync, rename, fsync dir)
//! once every shard's snapshot of that epoch is complete. Recovery loads
//! each shard's snapshot of that epoch, then replays its logs of that epoch
//! and later, in order.

use super::codec::{DecodeError, Put, Reader};

/// The format version this build writes and the newest it reads.
pub const VERSION: u32 = 1;

pub const LOG_MAGIC: &[u8] = b"SHARDIS-LOG";
pub const SNAP_MAGIC: &[u8] = b"SHARDIS-SNAP";
pub const MANIFEST_MAGIC: &[u8] = b"SHARDIS-MANIFEST";

/// Bytes of a frame's length and checksum.
pub const FRAME_HEADER: usize = 8;

/// The largest frame: its length is a u32. A frame holds what one shard
/// appended between two flushes, so only a single command with arguments
/// near 4 GiB (a raised `proto-max-bulk-len`) could reach it.
pub const MAX_FRAME: usize = u32::MAX as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Header = 1,
    Entries = 2,
    TxEnd = 3,
    Keys = 16,
    SnapshotEnd = 17,
    Manifest = 32,
}

impl Kind {
    pub fn of(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Header,
            2 => Kind::Entries,
            3 => Kind::TxEnd,
            16 => Kind::Keys,
            17 => Kind::SnapshotEnd,
            32 => Kind::Manifest,
            _ => return None,
        })
    }
}

/// Entry tags inside a [`Kind::Entries`] frame.
pub const ENTRY_COMMAND: u8 = 1;
pub const ENTRY_IMAGE: u8 = 2;

/// Starts a frame of `kind` at the end of `buf`; returns where it starts,
/// for [`seal`].
pub fn begin(buf: &mut Vec<u8>, kind: Kind) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER]);
    buf.push(kind as u8);
    start
}

/// Fills in the length and checksum of the frame begun at `start`.
pub fn seal(buf: &mut [u8], start: usize) {
    let payload = &buf[start + FRAME_HEADER..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// A whole frame: begin, fill, seal.
pub fn frame(buf: &mut Vec<u8>, kind: Kind, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = begin(buf, kind);
    fill(buf);
    seal(buf, start);
}

/// What a file's header frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub shard: u32,
    pub shards: u32,
    pub epoch: u64,
}

pub fn put_header(buf: &mut Vec<u8>, magic: &[u8], h: &Header) {
    frame(buf, Kind::Header, |b| {
        b.put_bytes(magic);
        b.put_u32(h.version);
        b.put_u32(h.shard);
        b.put_u32(h.shards);
        b.put_u64(h.epoch);
    });
}

pub fn read_header(payload: &[u8], magic: &[u8]) -> Result<Header, String> {
    let mut r = Reader::new(payload);
    let kind = r.u8().map_err(|e| e.to_string())?;
    if Kind::of(kind) != Some(Kind::Header) {
        return Err("the first frame is not a header".into());
    }
    let read = |r: &mut Reader| -> Result<Header, DecodeError> {
        let m = r.bytes()?;
        if m != magic {
            return Err(DecodeError::Invalid("wrong magic"));
        }
        Ok(Header { version: r.u32()?, shard: r.u32()?, shards: r.u32()?, epoch: r.u64()? })
    };
    let h = read(&mut r).map_err(|e| e.to_string())?;
    if h.version > VERSION {
        return Err(format!("format version {} is newer than this build's ({})", h.version, VERSION));
    }
    Ok(h)
}

/// One step of reading frames: a good frame, the clean end, or damage.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    Frame {
        offset: usize,
        payload: &'a [u8],
    },
    End,
    /// Bad bytes at `offset`; `torn` when nothing valid follows them (a
    /// write cut short by a crash, or garbage after the last frame),
    /// otherwise corruption in the middle of the file.
    Damaged {
        offset: usize,
        torn: bool,
    },
}

/// Walks the frames of a file held in memory.
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Frames<'a> {
    pub fn new(buf: &'a [u8]) -> Frames<'a> {
        Frames { buf, pos: 0 }
    }

    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn next_frame(&mut self) -> Next<'a> {
        if self.pos == self.buf.len() {
            return Next::End;
        }
        match frame_at(self.buf, self.pos) {
            Some(payload) => {
                let offset = self.pos;
                self.pos += FRAME_HEADER + payload.len();
                Next::Frame { offset, payload }
            }
            None => Next::Damaged { offset: self.pos, torn: !valid_frame_after(self.buf, self.pos) },
        }
    }
}

/// The payload of a valid frame starting at `pos`, if there is one.
fn frame_at(buf: &[u8], pos: usize) -> Option<&[u8]> {
    let head = buf.get(pos..pos + FRAME_HEADER)?;
    let len = u32::from_le_bytes(head[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let payload = buf.get(pos + FRAME_HEADER..pos + FRAME_HEADER + len)?;
    (Kind::of(payload[0]).is_some() && crc32fast::hash(payload) == crc).then_some(payload)
}

/// How far past damage to look for a valid frame before calling it torn.
const RESYNC_WINDOW: usize = 16 << 20;

/// Whether a valid frame starts anywhere after the damage at `pos`: if so,
/// good data follows the bad bytes and cutting there would lose it.
fn valid_frame_after(buf: &[u8], pos: usize) -> bool {
    // The damaged frame's own length may be intact (a flipped payload byte):
    // then its successor is where the length says.
    if let Some(head) = buf.get(pos..pos + 4) {
        let len = u32::from_le_bytes(head.try_into().unwrap_or_default()) as usize;
        let next = pos.saturating_add(FRAME_HEADER).saturating_add(len);
        if len > 0 && next < buf.len() && frame_at(buf, next).is_some() {
            return true;
        }
    }
    let end = buf.len().min(pos.saturating_add(RESYNC_WINDOW));
    (pos + 1..end).any(|p| frame_at(buf, p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(frames: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for f in frames {
            frame(&mut buf, Kind::Entries, |b| b.extend_from_slice(f));
        }
        buf
    }

    fn walk(buf: &[u8]) -> (Vec<usize>, Next<'_>) {
        let mut frames = Frames::new(buf);
        let mut offsets = Vec::new();
        loop {
            match frames.next_frame() {
                Next::Frame { offset, .. } => offsets.push(offset),
                other => return (offsets, other),
            }
        }
    }

    #[test]
    fn frames_read_back_in_order() {
        let buf = file(&[b"one", b"two", b""]);
        assert_eq!(walk(&buf), (vec![0, 12, 24], Next::End));
    }

    #[test]
    fn a_cut_last_frame_is_torn() {
        let buf = file(&[b"one", b"two"]);
        for cut in 13..buf.len() {
            assert_eq!(walk(&buf[..cut]), (vec![0], Next::Damaged { offset: 12, torn: true }), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_after_the_last_frame_is_torn() {
        let mut buf = file(&[b"one"]);
        buf.extend_from_slice(&[0xAB; 20]);
        assert_eq!(walk(&buf), (vec![0], Next::Damaged { offset: 12, torn: true }));
        let mut zeros = file(&[b"one"]);
        zeros.extend_from_slice(&[0; 4096]);
        assert_eq!(walk(&zeros), (vec![0], Next::Damaged { offset: 12, torn: true }));
    }

    #[test]
    fn damage_before_good_frames_is_corruption() {
        let mut buf = file(&[b"one", b"two", b"three"]);
        buf[10] ^= 1;
        assert_eq!(walk(&buf), (vec![], Next::Damaged { offset: 0, torn: false }));
        let mut len = file(&[b"one", b"two", b"three"]);
        len[12] = 0xFF;
        assert_eq!(walk(&len), (vec![0], Next::Damaged { offset: 12, torn: false }));
    }

    #[test]
    fn headers_round_trip_and_refuse_newer_versions() {
        let h = Header { version: VERSION, shard: 1, shards: 2, epoch: 7 };
        let mut buf = Vec::new();
        put_header(&mut buf, LOG_MAGIC, &h);
        let Next::Frame { payload, .. } = Frames::new(&buf).next_frame() else { panic!() };
        assert_eq!(read_header(payload, LOG_MAGIC), Ok(h.clone()));
        assert!(read_header(payload, SNAP_MAGIC).is_err());
        let mut newer = Vec::new();
        put_header(&mut newer, LOG_MAGIC, &Header { version: VERSION + 1, ..h });
        let Next::Frame { payload, .. } = Frames::new(&newer).next_frame() else { panic!() };
        assert!(read_header(payload, LOG_MAGIC).unwrap_err().contains("newer"));
    }
}
