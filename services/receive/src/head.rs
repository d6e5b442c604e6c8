//! The in-memory head of one tenant: the series and samples not yet cut into a block, made
//! durable by a write-ahead log ([`crate::wal`]) in its directory.
//!
//! Semantics follow Prometheus' head (`tsdb/head_append.go`, `memSeries.appendable`), without
//! out-of-order ingestion and float samples only:
//!
//! * A sample older than the newest one of its series is out of order; one at the same
//!   timestamp is a duplicate — accepted silently (and not stored again) if the value is
//!   bit-identical, out of order otherwise ([`Error::OutOfOrder`], Thanos answers 409).
//!   A sample before the head's minimum valid time (the end of the last cut block) is
//!   [`Error::OutOfBounds`]. With [`HeadOptions::too_far_in_future`] set (Thanos'
//!   `--tsdb.too-far-in-future.time-window`, `pkg/receive/writer.go`), a sample later than the
//!   wall clock plus that window is [`Error::TooFarInFuture`]. Nothing of a refused batch is
//!   applied.
//! * [`Head::append`] is all-or-nothing: the whole batch is validated first, then written to
//!   the WAL as one frame (series records for new series, then the samples), then applied to
//!   memory. When it returns `Ok` the batch is in the WAL (see [`SyncPolicy`] for what that
//!   survives) and visible to readers.
//! * Memory layout: series by labels (hash map → series ref), per series closed XOR chunks of
//!   at most 120 samples (never across a 2h boundary) plus an open [`XorAppender`].
//! * [`Head::cut_block`] writes a time range as a block with [`BlockWriter`] (no Thanos meta:
//!   the caller adds it when uploading) and then [`Head::truncate`]s it away: the samples are
//!   dropped from memory, series left empty are removed, a [`Record::MinTime`] is logged and
//!   the WAL is checkpointed so replay does not resurrect them. A cut that fails removes its
//!   `<ULID>.tmp-for-creation` directory.
//!
//! Concurrency: all methods take `&self`. Appends (and truncations) are serialized by one
//! mutex that also owns the WAL; readers use a read lock on the in-memory state that appends
//! take for writing only while applying an already logged batch.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use strata_tsdb::block::{BlockWriter, TMP_FOR_CREATION};
use strata_tsdb::chunkenc::{SAMPLES_PER_CHUNK, XorAppender, decode_xor};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;
use strata_tsdb::{DEFAULT_BLOCK_DURATION_MS, range_for_timestamp};

pub use crate::wal::SyncPolicy;

/// Hash maps keyed by series: foldhash (randomly seeded, so label sets from remote write
/// cannot be chosen to collide) instead of SipHash, which took ~22% of the append path's CPU in
/// the receive bench's profile.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use crate::Error;
use crate::wal::{self, Record, RefSample, RefSeries, SeriesRef, Wal, WalOptions};

/// Options of [`Head::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadOptions {
    /// WAL fsync policy.
    pub sync: SyncPolicy,
    /// Maximum WAL segment size in bytes.
    pub segment_size: u64,
    /// Samples per head chunk before a new one is cut (Prometheus: 120).
    pub samples_per_chunk: usize,
    /// Samples later than now + this are refused ([`Error::TooFarInFuture`]); zero accepts
    /// any timestamp (Thanos' default).
    pub too_far_in_future: Duration,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::default(),
            segment_size: wal::DEFAULT_SEGMENT_SIZE,
            samples_per_chunk: SAMPLES_PER_CHUNK,
            too_far_in_future: Duration::ZERO,
        }
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Samples stored.
    pub samples: usize,
    /// Exact duplicates (same timestamp and value as the newest sample) ignored.
    pub duplicates: usize,
    /// Series created.
    pub new_series: usize,
}

/// One chunk of a series as read from the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadChunk {
    /// Timestamp of its first sample (ms, inclusive).
    pub min_time: i64,
    /// Timestamp of its last sample (ms, inclusive).
    pub max_time: i64,
    /// The raw XOR chunk without encoding byte (as in a StoreAPI `AggrChunk.raw`).
    pub data: Bytes,
}

/// One series as read from the head: its labels and its XOR chunks, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadSeries {
    /// The series labels.
    pub labels: Labels,
    /// Chunks overlapping the requested range; the open chunk is encoded on read.
    pub chunks: Vec<HeadChunk>,
}

#[derive(Debug)]
struct MemChunk {
    min_t: i64,
    max_t: i64,
    data: Bytes,
}

#[derive(Debug)]
struct MemSeries {
    labels: Arc<Labels>,
    chunks: Vec<MemChunk>,
    open: XorAppender,
    open_min: i64,
    last_t: i64,
    last_v: f64,
}

impl MemSeries {
    fn new(labels: Arc<Labels>) -> Self {
        Self {
            labels,
            chunks: Vec::new(),
            open: XorAppender::new(),
            open_min: 0,
            last_t: i64::MIN,
            last_v: 0.0,
        }
    }

    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.open.is_empty()
    }

    fn first_t(&self) -> Option<i64> {
        match self.chunks.first() {
            Some(c) => Some(c.min_t),
            None if !self.open.is_empty() => Some(self.open_min),
            None => None,
        }
    }

    fn push(&mut self, t: i64, v: f64, per_chunk: usize) {
        if !self.open.is_empty()
            && (self.open.num_samples() >= per_chunk
                || t >= range_for_timestamp(self.open_min, DEFAULT_BLOCK_DURATION_MS))
        {
            self.close_open();
        }
        if self.open.is_empty() {
            self.open_min = t;
        }
        self.open.append(t, v);
        self.last_t = t;
        self.last_v = v;
    }

    fn close_open(&mut self) {
        let app = std::mem::take(&mut self.open);
        self.chunks.push(MemChunk {
            min_t: self.open_min,
            max_t: self.last_t,
            data: Bytes::from(app.into_bytes()),
        });
    }

    /// All chunks overlapping `[mint, maxt]`, the open one encoded now.
    fn chunks_in(&self, mint: i64, maxt: i64) -> Vec<HeadChunk> {
        let mut out: Vec<HeadChunk> = self
            .chunks
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
            .map(|c| HeadChunk {
                min_time: c.min_t,
                max_time: c.max_t,
                data: c.data.clone(),
            })
            .collect();
        if !self.open.is_empty() && self.last_t >= mint && self.open_min <= maxt {
            out.push(HeadChunk {
                min_time: self.open_min,
                max_time: self.last_t,
                data: Bytes::from(self.open.to_vec()),
            });
        }
        out
    }

    /// Drop every sample before `mint`, re-encoding the chunk that straddles it.
    fn truncate(&mut self, mint: i64) {
        self.chunks.retain(|c| c.max_t >= mint);
        if let Some(c) = self.chunks.first_mut()
            && c.min_t < mint
        {
            let kept: Vec<(i64, f64)> = decode_or_log(&c.data)
                .into_iter()
                .filter(|&(t, _)| t >= mint)
                .collect();
            let mut app = XorAppender::new();
            kept.iter().for_each(|&(t, v)| app.append(t, v));
            c.min_t = kept.first().map_or(mint, |s| s.0);
            c.data = Bytes::from(app.into_bytes());
        }
        if !self.open.is_empty() && self.open_min < mint {
            let kept: Vec<(i64, f64)> = decode_or_log(&self.open.to_vec())
                .into_iter()
                .filter(|&(t, _)| t >= mint)
                .collect();
            self.open = XorAppender::new();
            kept.iter().for_each(|&(t, v)| self.open.append(t, v));
            self.open_min = kept.first().map_or(mint, |s| s.0);
        }
    }
}

fn decode_or_log(data: &[u8]) -> Vec<(i64, f64)> {
    decode_xor(data).unwrap_or_else(|e| {
        tracing::error!(error = %e, "undecodable head chunk dropped");
        Vec::new()
    })
}

#[derive(Debug)]
struct State {
    by_labels: FastMap<Arc<Labels>, SeriesRef>,
    series: FastMap<SeriesRef, MemSeries>,
    min_valid: i64,
    min_time: i64,
    max_time: i64,
    per_chunk: usize,
}

impl State {
    fn new(per_chunk: usize) -> Self {
        Self {
            by_labels: FastMap::default(),
            series: FastMap::default(),
            min_valid: i64::MIN,
            min_time: i64::MAX,
            max_time: i64::MIN,
            per_chunk: per_chunk.clamp(1, usize::from(u16::MAX)),
        }
    }

    fn add_series(&mut self, r: SeriesRef, labels: Labels) {
        let labels = Arc::new(labels);
        self.by_labels.insert(labels.clone(), r);
        self.series.insert(r, MemSeries::new(labels));
    }

    fn push(&mut self, r: SeriesRef, t: i64, v: f64) {
        if let Some(s) = self.series.get_mut(&r) {
            s.push(t, v, self.per_chunk);
            self.min_time = self.min_time.min(t);
            self.max_time = self.max_time.max(t);
        }
    }

    /// Drop samples before `mint`, remove emptied series, reject older samples from now on.
    fn truncate(&mut self, mint: i64) {
        self.min_valid = self.min_valid.max(mint);
        let mut gone = Vec::new();
        for (r, s) in &mut self.series {
            s.truncate(mint);
            if s.is_empty() {
                gone.push(*r);
            }
        }
        for r in gone {
            if let Some(s) = self.series.remove(&r) {
                self.by_labels.remove(&*s.labels);
            }
        }
        self.recompute_bounds();
    }

    fn recompute_bounds(&mut self) {
        self.min_time = self
            .series
            .values()
            .filter_map(MemSeries::first_t)
            .min()
            .unwrap_or(i64::MAX);
        self.max_time = self
            .series
            .values()
            .filter(|s| !s.is_empty())
            .map(|s| s.last_t)
            .max()
            .unwrap_or(i64::MIN);
    }
}

#[derive(Debug)]
struct Writer {
    wal: Wal,
    next_ref: SeriesRef,
}

/// The in-memory head of one tenant with its WAL (see the module docs).
#[derive(Debug)]
pub struct Head {
    dir: PathBuf,
    state: RwLock<State>,
    writer: Arc<Mutex<Writer>>,
    truncating: Mutex<()>,
    too_far_in_future: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wall clock in ms since the epoch (0 before 1970).
pub(crate) fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds of a duration, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Replays WAL records into a state, mapping duplicate series definitions onto one series.
#[derive(Debug)]
struct Replayer {
    state: State,
    alias: HashMap<SeriesRef, SeriesRef>,
    max_ref: Option<SeriesRef>,
    skipped: u64,
}

impl Replayer {
    fn apply(&mut self, rec: Record) {
        match rec {
            Record::Series(series) => {
                for RefSeries { series_ref, labels } in series {
                    self.max_ref = self.max_ref.max(Some(series_ref));
                    if let Some(&existing) = self.state.by_labels.get(&labels) {
                        if existing != series_ref {
                            self.alias.insert(series_ref, existing);
                        }
                    } else if self.state.series.contains_key(&series_ref) {
                        tracing::warn!(series_ref, %labels, "WAL redefines a series ref; ignored");
                    } else {
                        self.state.add_series(series_ref, labels);
                    }
                }
            }
            Record::Samples(samples) => {
                for RefSample { series_ref, t, v } in samples {
                    let r = self.alias.get(&series_ref).copied().unwrap_or(series_ref);
                    match self.state.series.get(&r) {
                        Some(s) if t > s.last_t && t >= self.state.min_valid => {
                            self.state.push(r, t, v)
                        }
                        _ => self.skipped += 1,
                    }
                }
            }
            Record::MinTime(t) => self.state.truncate(t),
        }
    }
}

impl Head {
    /// Open the head whose WAL lives in `dir` (created if missing), replaying the WAL into
    /// memory. Starts a background fsync thread for [`SyncPolicy::Interval`].
    pub fn open(dir: impl AsRef<Path>, opts: HeadOptions) -> Result<Head, Error> {
        let dir = dir.as_ref().to_path_buf();
        let mut rp = Replayer {
            state: State::new(opts.samples_per_chunk),
            alias: HashMap::new(),
            max_ref: None,
            skipped: 0,
        };
        let wal_opts = WalOptions {
            sync: opts.sync,
            segment_size: opts.segment_size,
        };
        let (wal, stats) = Wal::open_with(&dir, wal_opts, |r| rp.apply(r))?;
        let mut state = rp.state;
        // Series whose samples were all dropped (e.g. by a later MinTime) are not kept.
        state.truncate(i64::MIN);
        tracing::info!(dir = %dir.display(), series = state.series.len(), records = stats.records,
            skipped_samples = rp.skipped, truncated_bytes = stats.truncated_bytes, "head replayed WAL");
        let writer = Arc::new(Mutex::new(Writer {
            wal,
            next_ref: rp.max_ref.map_or(1, |r| r + 1),
        }));
        if let SyncPolicy::Interval(d) = opts.sync {
            spawn_syncer(Arc::downgrade(&writer), d.max(Duration::from_millis(10)));
        }
        Ok(Head {
            dir,
            state: RwLock::new(state),
            writer,
            truncating: Mutex::new(()),
            too_far_in_future: opts.too_far_in_future,
        })
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Append a batch of series with their samples (each series' samples in time order),
    /// all-or-nothing (see the module docs). A series with no samples is ignored.
    pub fn append(&self, batch: &[(Labels, Vec<(i64, f64)>)]) -> Result<AppendStats, Error> {
        let mut w = lock(&self.writer);
        let mut stats = AppendStats::default();
        let mut new_series: Vec<RefSeries> = Vec::new();
        let mut samples: Vec<RefSample> = Vec::new();
        let window = self.too_far_in_future;
        let now = if window.is_zero() { 0 } else { unix_now_ms() };
        let max_valid = if window.is_zero() {
            i64::MAX
        } else {
            now.saturating_add(duration_ms(window))
        };
        {
            let st = self.read();
            // Per series of the batch: (ref, newest timestamp, its value).
            let mut pending: FastMap<&Labels, (SeriesRef, i64, f64)> =
                FastMap::with_capacity_and_hasher(batch.len(), Default::default());
            let mut next_ref = w.next_ref;
            for (labels, ss) in batch {
                if ss.is_empty() {
                    continue;
                }
                if labels.is_empty() {
                    return Err(Error::EmptyLabels);
                }
                if !pending.contains_key(labels) {
                    let existing = st
                        .by_labels
                        .get(labels)
                        .and_then(|r| st.series.get(r).map(|s| (*r, s.last_t, s.last_v)));
                    let init = existing.unwrap_or_else(|| {
                        new_series.push(RefSeries {
                            series_ref: next_ref,
                            labels: labels.clone(),
                        });
                        next_ref += 1;
                        (next_ref - 1, i64::MIN, 0.0)
                    });
                    pending.insert(labels, init);
                }
                let Some(cur) = pending.get_mut(labels) else {
                    continue;
                };
                for &(t, v) in ss {
                    if t < st.min_valid {
                        return Err(Error::OutOfBounds {
                            labels: labels.clone(),
                            t,
                            min_valid: st.min_valid,
                        });
                    }
                    if t > max_valid {
                        return Err(Error::TooFarInFuture {
                            labels: labels.clone(),
                            t,
                            now,
                            window,
                        });
                    }
                    if t == cur.1 && v.to_bits() == cur.2.to_bits() {
                        stats.duplicates += 1;
                        continue;
                    }
                    if t <= cur.1 {
                        return Err(Error::OutOfOrder {
                            labels: labels.clone(),
                            t,
                        });
                    }
                    (cur.1, cur.2) = (t, v);
                    samples.push(RefSample {
                        series_ref: cur.0,
                        t,
                        v,
                    });
                }
            }
        }
        stats.samples = samples.len();
        stats.new_series = new_series.len();
        let mut recs = Vec::with_capacity(2);
        if !new_series.is_empty() {
            recs.push(Record::Series(new_series));
        }
        if !samples.is_empty() {
            recs.push(Record::Samples(samples));
        }
        w.wal.append(&recs)?;
        let mut st = self.write();
        for rec in recs {
            match rec {
                Record::Series(ns) => {
                    for s in ns {
                        w.next_ref = w.next_ref.max(s.series_ref + 1);
                        st.add_series(s.series_ref, s.labels);
                    }
                }
                Record::Samples(ss) => {
                    for s in ss {
                        st.push(s.series_ref, s.t, s.v);
                    }
                }
                Record::MinTime(_) => {}
            }
        }
        Ok(stats)
    }

    /// Series matching all `matchers` with chunks overlapping `[mint, maxt]` (inclusive),
    /// sorted by labels. Scans every series (no postings index yet).
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<HeadSeries> {
        let st = self.read();
        let mut out: Vec<HeadSeries> = st
            .series
            .values()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(m.name()).unwrap_or("")))
            })
            .filter_map(|s| {
                let chunks = s.chunks_in(mint, maxt);
                (!chunks.is_empty()).then(|| HeadSeries {
                    labels: (*s.labels).clone(),
                    chunks,
                })
            })
            .collect();
        drop(st);
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Number of series in memory.
    pub fn num_series(&self) -> usize {
        self.read().series.len()
    }

    /// Oldest sample timestamp, `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        let st = self.read();
        (st.min_time != i64::MAX).then_some(st.min_time)
    }

    /// Newest sample timestamp, `None` when empty.
    pub fn max_time(&self) -> Option<i64> {
        let st = self.read();
        (st.max_time != i64::MIN).then_some(st.max_time)
    }

    /// Samples before this time are rejected as out of bounds (`i64::MIN` if never truncated).
    pub fn min_valid_time(&self) -> i64 {
        self.read().min_valid
    }

    /// `fsync` the WAL now (e.g. at shutdown; dropping the head does it too).
    pub fn sync(&self) -> Result<(), Error> {
        lock(&self.writer).wal.sync()
    }

    /// Write every sample in `[mint, maxt)` as a block under `dir`, then [`Head::truncate`]
    /// to `maxt`, and return the block's directory. From the start of the cut, samples before
    /// `maxt` are rejected as out of bounds (restored if writing the block fails). If the range
    /// holds no sample nothing happens and the result is `None`. A range starting after the
    /// head's oldest sample is [`Error::InvalidCutRange`] (those samples would be lost):
    /// callers cut consecutive aligned ranges starting at or before [`Head::min_time`].
    pub fn cut_block(&self, dir: &Path, mint: i64, maxt: i64) -> Result<Option<PathBuf>, Error> {
        let _t = lock(&self.truncating);
        let prev = {
            let _w = lock(&self.writer);
            let mut st = self.write();
            if st.min_time < mint {
                return Err(Error::InvalidCutRange {
                    mint,
                    maxt,
                    min_time: st.min_time,
                });
            }
            if st.min_time >= maxt {
                return Ok(None);
            }
            let prev = st.min_valid;
            st.min_valid = st.min_valid.max(maxt);
            prev
        };
        let res = self.write_block(dir, mint, maxt);
        if !matches!(res, Ok(Some(_))) {
            let _w = lock(&self.writer);
            let mut st = self.write();
            if st.min_valid == maxt {
                st.min_valid = prev;
            }
        }
        let Some(path) = res? else { return Ok(None) };
        self.truncate_locked(maxt)?;
        Ok(Some(path))
    }

    /// [`Head::write_block_as`] with a fresh ULID; on failure the partly written block (its
    /// `.tmp-for-creation` directory) is removed, so a persistent error (EMFILE, ENOSPC) does
    /// not leave one more directory per attempt.
    fn write_block(&self, dir: &Path, mint: i64, maxt: i64) -> Result<Option<PathBuf>, Error> {
        let ulid = ulid::Ulid::generate();
        let res = self.write_block_as(dir, ulid, mint, maxt);
        if res.is_err() {
            // `BlockWriter::finish` renames last: on an error the block is still in here.
            let tmp = dir.join(format!("{ulid}{TMP_FOR_CREATION}"));
            match std::fs::remove_dir_all(&tmp) {
                Ok(()) => tracing::info!(dir = %tmp.display(), "removed the block of a failed cut"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(dir = %tmp.display(), error = %e,
                    "cannot remove the block of a failed cut; removed at the next cut or start"),
            }
        }
        res
    }

    fn write_block_as(
        &self,
        dir: &Path,
        ulid: ulid::Ulid,
        mint: i64,
        maxt: i64,
    ) -> Result<Option<PathBuf>, Error> {
        let mut snap: Vec<(Arc<Labels>, Vec<HeadChunk>)> = {
            let st = self.read();
            st.series
                .values()
                .filter_map(|s| {
                    let c = s.chunks_in(mint, maxt.saturating_sub(1));
                    (!c.is_empty()).then(|| (s.labels.clone(), c))
                })
                .collect()
        };
        snap.sort_by(|a, b| a.0.cmp(&b.0));
        let mut bw: Option<BlockWriter> = None;
        for (labels, chunks) in snap {
            let samples: Vec<(i64, f64)> = chunks
                .iter()
                .map(|c| decode_xor(&c.data))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Error::WriteBlock)?
                .into_iter()
                .flatten()
                .filter(|&(t, _)| t >= mint && t < maxt)
                .collect();
            if samples.is_empty() {
                continue;
            }
            let w = match &mut bw {
                Some(w) => w,
                None => bw.insert(
                    BlockWriter::create_with_ulid(dir, ulid, mint, maxt)
                        .map_err(Error::WriteBlock)?,
                ),
            };
            w.add_series((*labels).clone(), &samples)
                .map_err(Error::WriteBlock)?;
        }
        let Some(bw) = bw else { return Ok(None) };
        let meta = bw.finish(None).map_err(Error::WriteBlock)?;
        Ok(Some(dir.join(meta.ulid.to_string())))
    }

    /// Drop every sample before `mint` from memory (series left empty are removed), reject
    /// such samples from now on, log that in the WAL and checkpoint it, deleting old segments.
    pub fn truncate(&self, mint: i64) -> Result<(), Error> {
        let _t = lock(&self.truncating);
        self.truncate_locked(mint)
    }

    fn truncate_locked(&self, mint: i64) -> Result<(), Error> {
        let (before, keep) = {
            let mut w = lock(&self.writer);
            w.wal.append(&[Record::MinTime(mint)])?;
            let before = w.wal.cut_segment()?;
            let mut st = self.write();
            st.truncate(mint);
            let keep: HashSet<SeriesRef> = st.series.keys().copied().collect();
            (before, keep)
        };
        let stats = wal::checkpoint(&self.dir, before, |r| keep.contains(&r), mint)?;
        tracing::debug!(dir = %self.dir.display(), mint, ?stats, "head truncated");
        Ok(())
    }
}

impl Drop for Head {
    fn drop(&mut self) {
        if let Err(e) = lock(&self.writer).wal.sync() {
            tracing::error!(dir = %self.dir.display(), error = %e, "WAL sync at close failed");
        }
    }
}

fn spawn_syncer(writer: Weak<Mutex<Writer>>, every: Duration) {
    let res = std::thread::Builder::new()
        .name("wal-sync".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(w) = writer.upgrade() else { return };
                let file = lock(&w).wal.take_unsynced();
                drop(w);
                if let Some(f) = file
                    && let Err(e) = f.sync_data()
                {
                    tracing::error!(error = %e, "background WAL sync failed");
                }
            }
        });
    if let Err(e) = res {
        tracing::error!(error = %e, "cannot start the WAL sync thread; syncing lazily on append");
    }
}
