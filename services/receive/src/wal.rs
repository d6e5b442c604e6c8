//! The write-ahead log of a receive head: an append-only log in a directory of numbered segment
//! files, replayed at startup, checkpointed after the head cut a block.
//!
//! This is strata's own format, not Prometheus' (`tsdb/docs/format/wal.md`): the WAL never leaves
//! the receiver, only its blocks must be compatible. It borrows Prometheus' layout ideas:
//!
//! * Segment files named by 8 zero-padded digits (`00000000`, `00000001`, …), at most
//!   [`DEFAULT_SEGMENT_SIZE`] (128 MiB) each; a batch larger than that gets a segment of its own.
//! * Checkpoints `checkpoint.NNNNNNNN` (same frame format) replace every segment `<= NNNNNNNN`.
//!   Replay reads the newest checkpoint, then the segments after it, in order.
//! * One **frame per [`Wal::append`] call**: `LE32 payload length | LE32 CRC-32C(length bytes ‖
//!   payload) | payload`. A frame is the unit of durability, so a batch is all-or-nothing across
//!   crashes too. The payload is a sequence of records, each `u8 type | uvarint body length |
//!   body`, so readers skip types they do not know:
//!   * `1` series: uvarint count, then { uvarint ref, uvarint #labels, uvarint-strings name, value… }
//!   * `2` samples: uvarint count, then { varint Δref, varint Δt, LE64 float bits } (deltas to the
//!     previous sample of the record, starting from 0)
//!   * `3` min time: varint t — samples before t are already in a block; replay drops them.
//!
//! Durability: [`Wal::append`] returns only after the frame was handed to the OS (`write_all`
//! on the file, no user-space buffer), so once it returned a process crash (`kill -9`) loses
//! nothing. Surviving an OS crash or power loss additionally needs `fsync`: with
//! [`SyncPolicy::Always`] every append `sync_data`s before returning; with
//! [`SyncPolicy::Interval`]`(d)` the log is synced lazily, at most every `d` (by the next append
//! after `d` elapsed, or by whoever calls [`Wal::sync`] on a timer and at shutdown — the head
//! runs such a timer), so an OS crash can lose up to the last `d` of acknowledged writes.
//!
//! Replay never panics on garbage: a frame that is short, has an impossible length, a CRC
//! mismatch or an undecodable payload ends that file; the file is truncated there (logged with
//! `tracing`) and replay continues with the next file, so a torn tail — the normal result of a
//! crash during a write — just disappears. A failed write is rolled back the same way, and if
//! that is impossible the next append starts a fresh segment.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_tsdb::encoding::{Decbuf, Encbuf};
use strata_tsdb::{Label, Labels};

use crate::Error;

/// Default maximum segment size: 128 MiB, as Prometheus.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
/// Largest frame payload written or accepted on replay (protects replay from garbage lengths).
pub const MAX_FRAME_BYTES: usize = 1 << 30;
/// Checkpoint frames are cut at about this payload size.
const CHECKPOINT_FRAME_BYTES: usize = 1 << 20;
const FRAME_HEADER: usize = 8;
const CHECKPOINT_PREFIX: &str = "checkpoint.";

const REC_SERIES: u8 = 1;
const REC_SAMPLES: u8 = 2;
const REC_MIN_TIME: u8 = 3;

/// A head series ID, as written in the WAL.
pub type SeriesRef = u64;

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::WalIo {
        path: path.to_path_buf(),
        source,
    }
}

/// A series definition: `series_ref` stands for `labels` in later sample records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSeries {
    /// The head series ID.
    pub series_ref: SeriesRef,
    /// Its labels.
    pub labels: Labels,
}

/// One float sample of a series.
#[derive(Debug, Clone, Copy)]
pub struct RefSample {
    /// The head series ID.
    pub series_ref: SeriesRef,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// Value.
    pub v: f64,
}

impl PartialEq for RefSample {
    /// Bit-wise on the value, so NaNs (stale markers) compare equal to themselves.
    fn eq(&self, o: &Self) -> bool {
        self.series_ref == o.series_ref && self.t == o.t && self.v.to_bits() == o.v.to_bits()
    }
}

/// One WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<RefSeries>),
    /// Samples of series defined earlier in the log.
    Samples(Vec<RefSample>),
    /// Samples before this time were cut into a block: replay drops them (and series left
    /// without samples).
    MinTime(i64),
}

/// When appended bytes are `fsync`ed (see the module docs for what each policy survives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// `sync_data` before every append returns: survives OS crashes, slowest.
    Always,
    /// `sync_data` at most every interval: an OS crash may lose up to this much.
    Interval(Duration),
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy::Interval(Duration::from_secs(1))
    }
}

/// Options of [`Wal::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// The fsync policy.
    pub sync: SyncPolicy,
    /// A new segment is started when a batch would make the current one exceed this.
    pub segment_size: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::default(),
            segment_size: DEFAULT_SEGMENT_SIZE,
        }
    }
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Files read (checkpoint included).
    pub files: usize,
    /// Valid frames replayed.
    pub frames: u64,
    /// Records replayed.
    pub records: u64,
    /// Bytes dropped from corrupt or torn tails.
    pub truncated_bytes: u64,
}

/// An open write-ahead log, appending to its newest segment.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    file: File,
    segment: u64,
    size: u64,
    dirty: bool,
    broken: bool,
    last_sync: Instant,
    buf: Encbuf,
}

/// Path of segment `n` in `dir`.
pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

fn checkpoint_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{n:08}"))
}

fn parse_num(s: &str) -> Option<u64> {
    (s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The files of a WAL directory: sorted segment numbers and checkpoint numbers.
fn list_dir(dir: &Path) -> Result<(Vec<u64>, Vec<u64>), Error> {
    let mut segs = Vec::new();
    let mut cps = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let e = e.map_err(|e| io_err(dir, e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = parse_num(name) {
            segs.push(n);
        } else if let Some(n) = name.strip_prefix(CHECKPOINT_PREFIX).and_then(parse_num) {
            cps.push(n);
        } else if name.ends_with(".tmp") {
            // A checkpoint interrupted by a crash.
            let p = e.path();
            std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
        }
    }
    segs.sort_unstable();
    cps.sort_unstable();
    Ok((segs, cps))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path, e)),
        _ => Ok(()),
    }
}

impl Wal {
    /// Open (or create) the WAL in `dir` with default options and return every valid record
    /// in order. Loads the whole log into memory: [`Wal::open_with`] streams instead.
    pub fn open(dir: impl AsRef<Path>, sync: SyncPolicy) -> Result<(Wal, Vec<Record>), Error> {
        let mut out = Vec::new();
        let opts = WalOptions {
            sync,
            ..WalOptions::default()
        };
        let (wal, _) = Wal::open_with(dir, opts, |r| out.push(r))?;
        Ok((wal, out))
    }

    /// Open (or create) the WAL in `dir`, calling `on_record` for every valid record in log
    /// order (checkpoint first). Torn or corrupt tails are truncated away (see module docs).
    pub fn open_with(
        dir: impl AsRef<Path>,
        opts: WalOptions,
        mut on_record: impl FnMut(Record),
    ) -> Result<(Wal, ReplayStats), Error> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let (segs, cps) = list_dir(&dir)?;
        let mut stats = ReplayStats::default();
        let mut first = 0;
        if let Some(&cp) = cps.last() {
            // Leftovers of a checkpoint whose cleanup was interrupted.
            for &old in &cps[..cps.len() - 1] {
                remove(&checkpoint_path(&dir, old))?;
            }
            for &s in segs.iter().filter(|&&s| s <= cp) {
                remove(&segment_path(&dir, s))?;
            }
            replay_file(&checkpoint_path(&dir, cp), &mut stats, &mut on_record)?;
            first = cp + 1;
        }
        let segs: Vec<u64> = segs.into_iter().filter(|&s| s >= first).collect();
        let mut expect = segs.first().copied().unwrap_or(first);
        for &s in &segs {
            if s != expect {
                tracing::warn!(dir = %dir.display(), missing_from = expect, next = s, "gap in WAL segments");
            }
            replay_file(&segment_path(&dir, s), &mut stats, &mut on_record)?;
            expect = s + 1;
        }
        let segment = segs.last().copied().unwrap_or(first);
        let path = segment_path(&dir, segment);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let size = file.metadata().map_err(|e| io_err(&path, e))?.len();
        if segs.is_empty() {
            sync_dir(&dir)?;
        }
        let wal = Wal {
            dir,
            opts,
            file,
            segment,
            size,
            dirty: false,
            broken: false,
            last_sync: Instant::now(),
            buf: Encbuf::new(),
        };
        Ok((wal, stats))
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The number of the segment being appended to.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Append `records` as one frame (atomic across crashes). Returns once the bytes are with
    /// the OS, and with [`SyncPolicy::Always`] once they are on disk. On error nothing of the
    /// batch counts as written (the partial frame is removed or, failing that, abandoned
    /// together with its segment).
    pub fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        if records.is_empty() {
            return Ok(());
        }
        self.buf.reset();
        encode_frame(&mut self.buf, records)?;
        let frame_len = self.buf.len() as u64;
        if self.broken || (self.size > 0 && self.size + frame_len > self.opts.segment_size) {
            self.cut_segment()?;
        }
        let path = segment_path(&self.dir, self.segment);
        let written = self
            .file
            .write_all(&self.buf.buf)
            .and_then(|()| self.file.flush());
        if let Err(e) = written {
            if let Err(e2) = self.file.set_len(self.size) {
                tracing::error!(path = %path.display(), error = %e2, "cannot roll back a failed WAL write; starting a new segment");
                self.broken = true;
            }
            return Err(io_err(&path, e));
        }
        self.size += frame_len;
        self.dirty = true;
        let due = match self.opts.sync {
            SyncPolicy::Always => true,
            SyncPolicy::Interval(d) => self.last_sync.elapsed() >= d,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// `sync_data` the current segment if anything was written since the last sync.
    pub fn sync(&mut self) -> Result<(), Error> {
        if self.dirty {
            let path = segment_path(&self.dir, self.segment);
            self.file.sync_data().map_err(|e| io_err(&path, e))?;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// For a background syncer: a handle to the current segment if it has unsynced bytes
    /// (marked synced now), so the caller can `sync_data` it without holding the WAL.
    pub fn take_unsynced(&mut self) -> Option<File> {
        if !self.dirty {
            return None;
        }
        let f = self.file.try_clone().ok()?;
        self.dirty = false;
        self.last_sync = Instant::now();
        Some(f)
    }

    /// Close the current segment (synced) and start the next one; returns the new segment's
    /// number. Every segment before it is then immutable and may be checkpointed.
    pub fn cut_segment(&mut self) -> Result<u64, Error> {
        let old = segment_path(&self.dir, self.segment);
        if !self.broken {
            self.file.sync_data().map_err(|e| io_err(&old, e))?;
        }
        let next = self.segment + 1;
        let path = segment_path(&self.dir, next);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.segment = next;
        self.size = 0;
        self.dirty = false;
        self.broken = false;
        Ok(next)
    }
}

/// What [`checkpoint`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series records kept.
    pub series: u64,
    /// Samples kept.
    pub samples: u64,
    /// Segments deleted.
    pub segments_removed: usize,
}

/// Replace every segment before `before` (and the previous checkpoint) by a checkpoint that
/// keeps only series for which `keep_series` is true, their samples at or after `min_time`,
/// and a [`Record::MinTime`] of `min_time` (or a later one found in the log). Then delete the
/// replaced files. `before` is typically what [`Wal::cut_segment`] returned; the segments
/// before it are immutable, so this can run while appends continue (but not concurrently
/// with another checkpoint of the same directory). A crash at any point leaves a log that
/// replays to the same head.
pub fn checkpoint(
    dir: &Path,
    before: u64,
    keep_series: impl Fn(SeriesRef) -> bool,
    min_time: i64,
) -> Result<CheckpointStats, Error> {
    let (segs, cps) = list_dir(dir)?;
    let prev_cp = cps.last().copied();
    let old_segs: Vec<u64> = segs.into_iter().filter(|&s| s < before).collect();
    // Segments already covered by the previous checkpoint are leftovers: just delete them.
    let (covered, fresh): (Vec<u64>, Vec<u64>) = old_segs
        .iter()
        .partition(|&&s| prev_cp.is_some_and(|cp| s <= cp));
    for s in &covered {
        remove(&segment_path(dir, *s))?;
    }
    let Some(&last) = fresh.last() else {
        return Ok(CheckpointStats {
            segments_removed: covered.len(),
            ..CheckpointStats::default()
        });
    };
    let mut inputs: Vec<PathBuf> = prev_cp
        .map(|cp| checkpoint_path(dir, cp))
        .into_iter()
        .collect();
    inputs.extend(fresh.iter().map(|&s| segment_path(dir, s)));
    let mut series = Vec::new();
    let mut samples = Vec::new();
    let mut min_t = min_time;
    let mut dummy = ReplayStats::default();
    for p in &inputs {
        replay_file(p, &mut dummy, &mut |r| match r {
            Record::Series(s) => series.extend(s.into_iter().filter(|s| keep_series(s.series_ref))),
            Record::Samples(s) => {
                samples.extend(s.into_iter().filter(|s| keep_series(s.series_ref)))
            }
            Record::MinTime(t) => min_t = min_t.max(t),
        })?;
    }
    samples.retain(|s| s.t >= min_t);
    let stats = CheckpointStats {
        series: series.len() as u64,
        samples: samples.len() as u64,
        segments_removed: old_segs.len(),
    };
    let final_path = checkpoint_path(dir, last);
    let tmp = dir.join(format!("{CHECKPOINT_PREFIX}{last:08}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let mut frames = vec![vec![Record::MinTime(min_t)]];
    for chunk in series.chunks(CHECKPOINT_FRAME_BYTES / 64) {
        frames.push(vec![Record::Series(chunk.to_vec())]);
    }
    for chunk in samples.chunks(CHECKPOINT_FRAME_BYTES / 16) {
        frames.push(vec![Record::Samples(chunk.to_vec())]);
    }
    let mut buf = Encbuf::new();
    for recs in &frames {
        buf.reset();
        encode_frame(&mut buf, recs)?;
        f.write_all(&buf.buf).map_err(|e| io_err(&tmp, e))?;
    }
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &final_path).map_err(|e| io_err(&final_path, e))?;
    sync_dir(dir)?;
    for s in &fresh {
        remove(&segment_path(dir, *s))?;
    }
    for cp in cps.iter().filter(|&&cp| cp < last) {
        remove(&checkpoint_path(dir, *cp))?;
    }
    sync_dir(dir)?;
    Ok(stats)
}

fn encode_frame(buf: &mut Encbuf, records: &[Record]) -> Result<(), Error> {
    let start = buf.len();
    buf.put_bytes(&[0; FRAME_HEADER]);
    for r in records {
        encode_record(buf, r);
    }
    let len = buf.len() - start - FRAME_HEADER;
    let len32 = u32::try_from(len)
        .ok()
        .filter(|_| len <= MAX_FRAME_BYTES)
        .ok_or(Error::WalBatchTooLarge(len))?;
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&len32.to_le_bytes()),
        &buf.buf[start + FRAME_HEADER..],
    );
    buf.buf[start..start + 4].copy_from_slice(&len32.to_le_bytes());
    buf.buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

fn encode_record(buf: &mut Encbuf, r: &Record) {
    let mut body = Encbuf::new();
    let typ = match r {
        Record::Series(s) => {
            body.put_uvarint(s.len() as u64);
            for s in s {
                body.put_uvarint(s.series_ref);
                body.put_uvarint(s.labels.len() as u64);
                for l in &s.labels {
                    body.put_uvarint_str(&l.name);
                    body.put_uvarint_str(&l.value);
                }
            }
            REC_SERIES
        }
        Record::Samples(s) => {
            body.put_uvarint(s.len() as u64);
            let (mut pr, mut pt) = (0u64, 0i64);
            for s in s {
                body.put_varint(s.series_ref.wrapping_sub(pr) as i64);
                body.put_varint(s.t.wrapping_sub(pt));
                body.put_bytes(&s.v.to_bits().to_le_bytes());
                (pr, pt) = (s.series_ref, s.t);
            }
            REC_SAMPLES
        }
        Record::MinTime(t) => {
            body.put_varint(*t);
            REC_MIN_TIME
        }
    };
    buf.put_byte(typ);
    buf.put_uvarint(body.len() as u64);
    buf.put_bytes(&body.buf);
}

fn corrupt(e: strata_tsdb::Error) -> Error {
    Error::WalDecode(e)
}

/// Decode one frame payload into its records; unknown record types are skipped.
pub fn decode_payload(payload: &[u8]) -> Result<Vec<Record>, Error> {
    let mut d = Decbuf::new(payload, "WAL record");
    let mut out = Vec::new();
    while d.remaining() > 0 {
        let typ = d.byte().map_err(corrupt)?;
        let body = d.uvarint_bytes().map_err(corrupt)?;
        let mut b = Decbuf::new(body, "WAL record body");
        match typ {
            REC_SERIES => {
                let n = b.uvarint().map_err(corrupt)?;
                let mut v = Vec::with_capacity((n as usize).min(body.len()));
                for _ in 0..n {
                    let series_ref = b.uvarint().map_err(corrupt)?;
                    let nl = b.uvarint().map_err(corrupt)?;
                    let mut ls = Vec::with_capacity((nl as usize).min(b.remaining()));
                    for _ in 0..nl {
                        let name = b.uvarint_str().map_err(corrupt)?;
                        let value = b.uvarint_str().map_err(corrupt)?;
                        ls.push(Label::new(name, value));
                    }
                    if !Labels::is_sorted_unique(&ls) {
                        return Err(Error::WalCorrupt(format!(
                            "labels of series {series_ref} are not sorted"
                        )));
                    }
                    v.push(RefSeries {
                        series_ref,
                        labels: Labels::from_sorted(ls),
                    });
                }
                out.push(Record::Series(v));
            }
            REC_SAMPLES => {
                let n = b.uvarint().map_err(corrupt)?;
                let mut v = Vec::with_capacity((n as usize).min(body.len() / 10));
                let (mut r, mut t) = (0u64, 0i64);
                for _ in 0..n {
                    r = r.wrapping_add(b.varint().map_err(corrupt)? as u64);
                    t = t.wrapping_add(b.varint().map_err(corrupt)?);
                    let bits = b.bytes(8).map_err(corrupt)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(bits);
                    v.push(RefSample {
                        series_ref: r,
                        t,
                        v: f64::from_bits(u64::from_le_bytes(a)),
                    });
                }
                out.push(Record::Samples(v));
            }
            REC_MIN_TIME => out.push(Record::MinTime(b.varint().map_err(corrupt)?)),
            _ => continue,
        }
        if b.remaining() != 0 {
            return Err(Error::WalCorrupt(format!(
                "{} trailing bytes in a record of type {typ}",
                b.remaining()
            )));
        }
    }
    Ok(out)
}

/// Replay one file; on a torn or corrupt frame truncate the file there and stop.
fn replay_file(
    path: &Path,
    stats: &mut ReplayStats,
    on_record: &mut dyn FnMut(Record),
) -> Result<(), Error> {
    let data = std::fs::read(path).map_err(|e| io_err(path, e))?;
    stats.files += 1;
    let mut off = 0usize;
    let problem = loop {
        let rest = &data[off..];
        if rest.is_empty() {
            break None;
        }
        if rest.len() < FRAME_HEADER {
            break Some("torn frame header".to_string());
        }
        let len32 = [rest[0], rest[1], rest[2], rest[3]];
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let len = u32::from_le_bytes(len32) as usize;
        if len == 0 || len > MAX_FRAME_BYTES {
            break Some(format!("impossible frame length {len}"));
        }
        if rest.len() - FRAME_HEADER < len {
            break Some(format!(
                "torn frame: {len} bytes announced, {} present",
                rest.len() - FRAME_HEADER
            ));
        }
        let payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
        let actual = crc32c::crc32c_append(crc32c::crc32c(&len32), payload);
        if actual != crc {
            break Some(format!(
                "CRC mismatch: expected {crc:#010x}, got {actual:#010x}"
            ));
        }
        match decode_payload(payload) {
            Ok(recs) => {
                stats.frames += 1;
                stats.records += recs.len() as u64;
                recs.into_iter().for_each(&mut *on_record);
            }
            Err(e) => break Some(e.to_string()),
        }
        off += FRAME_HEADER + len;
    };
    if let Some(reason) = problem {
        let dropped = (data.len() - off) as u64;
        tracing::warn!(path = %path.display(), offset = off, dropped_bytes = dropped, %reason,
            "WAL: corrupt or torn tail, truncating");
        stats.truncated_bytes += dropped;
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        f.set_len(off as u64).map_err(|e| io_err(path, e))?;
        f.sync_all().map_err(|e| io_err(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(r: u64, name: &str) -> Record {
        Record::Series(vec![RefSeries {
            series_ref: r,
            labels: Labels::from_pairs([("__name__", name)]),
        }])
    }

    fn samples(v: &[(u64, i64, f64)]) -> Record {
        Record::Samples(
            v.iter()
                .map(|&(series_ref, t, v)| RefSample { series_ref, t, v })
                .collect(),
        )
    }

    #[test]
    fn round_trip_and_segment_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let opts = WalOptions {
            sync: SyncPolicy::Always,
            segment_size: 100,
        };
        let mut want = Vec::new();
        {
            let (mut wal, stats) = Wal::open_with(dir.path(), opts, |_| {}).unwrap();
            assert_eq!(stats.records, 0);
            for i in 0..20u64 {
                let batch = vec![
                    series(i, &format!("m{i}")),
                    samples(&[(i, i as i64 * 10 - 5, f64::from_bits(0x7ff0_0000_0000_0002))]),
                    Record::MinTime(-3),
                ];
                wal.append(&batch).unwrap();
                want.extend(batch);
            }
            assert!(wal.segment() > 5, "segments rotated");
        }
        let (_, got) = Wal::open(dir.path(), SyncPolicy::Always).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn unknown_record_types_are_skipped() {
        let mut b = Encbuf::new();
        b.put_byte(99);
        b.put_uvarint(3);
        b.put_bytes(&[1, 2, 3]);
        encode_record(&mut b, &Record::MinTime(7));
        assert_eq!(decode_payload(&b.buf).unwrap(), vec![Record::MinTime(7)]);
        assert!(decode_payload(&[1, 5, 1]).is_err());
    }

    #[test]
    fn checkpoint_keeps_live_series_and_recent_samples() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), SyncPolicy::Always).unwrap();
        wal.append(&[series(1, "a"), series(2, "b")]).unwrap();
        wal.append(&[samples(&[(1, 5, 1.0), (2, 5, 2.0), (1, 15, 3.0)])])
            .unwrap();
        let k = wal.cut_segment().unwrap();
        wal.append(&[samples(&[(1, 20, 4.0)])]).unwrap();
        let st = checkpoint(dir.path(), k, |r| r == 1, 10).unwrap();
        assert_eq!((st.series, st.samples, st.segments_removed), (1, 1, 1));
        wal.append(&[samples(&[(1, 30, 5.0)])]).unwrap();
        drop(wal);
        let (_, got) = Wal::open(dir.path(), SyncPolicy::Always).unwrap();
        assert_eq!(
            got,
            vec![
                Record::MinTime(10),
                series(1, "a"),
                samples(&[(1, 15, 3.0)]),
                samples(&[(1, 20, 4.0)]),
                samples(&[(1, 30, 5.0)]),
            ]
        );
    }
}
