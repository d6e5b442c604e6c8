//! Writing and reading whole blocks in a local directory, as Prometheus' `LeveledCompactor.write`
//! (`tsdb/compact.go`) writes them: chunks stream to `chunks/` as series are added, the index and
//! then `meta.json` are written at the end into `<ULID>.tmp-for-creation`, which is renamed to
//! `<ULID>` only when complete.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ulid::Ulid;

use crate::chunkenc::{
    Encoding, MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND, SAMPLES_PER_CHUNK, XorAppender,
    decode_xor_into,
};
use crate::chunks::{ChunkReader, ChunkWriter};
use crate::index::{ChunkMeta, IndexReader, IndexWriter};
use crate::labels::Labels;
use crate::meta::{BlockMeta, CHUNKS_DIRNAME, INDEX_FILENAME, ThanosMeta};
use crate::range::LocalFile;
use crate::{DEFAULT_BLOCK_DURATION_MS, Error, Result, range_for_timestamp};

/// Suffix of a block directory being written.
pub const TMP_FOR_CREATION: &str = ".tmp-for-creation";

/// An already encoded chunk for [`BlockWriter::add_series_chunks`].
#[derive(Debug, Clone, Copy)]
pub struct EncodedChunk<'a> {
    /// Timestamp of its first sample (ms).
    pub min_time: i64,
    /// Timestamp of its last sample (ms, inclusive).
    pub max_time: i64,
    /// How `data` is encoded.
    pub encoding: Encoding,
    /// The chunk bytes, without the segment's length, encoding and CRC framing.
    pub data: &'a [u8],
    /// Samples in the chunk (counted into meta.json's stats).
    pub samples: u64,
}

/// Writes one block: series in label order, each with its samples or pre-encoded chunks.
#[derive(Debug)]
pub struct BlockWriter {
    parent: PathBuf,
    tmp_dir: PathBuf,
    meta: BlockMeta,
    chunk_range: i64,
    chunks: ChunkWriter,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
}

impl BlockWriter {
    /// Start a block covering `[min_time, max_time)` under `parent` with a fresh ULID.
    pub fn create(parent: impl AsRef<Path>, min_time: i64, max_time: i64) -> Result<Self> {
        Self::create_with_ulid(parent, Ulid::generate(), min_time, max_time)
    }

    /// Start a block with a given ULID.
    pub fn create_with_ulid(
        parent: impl AsRef<Path>,
        ulid: Ulid,
        min_time: i64,
        max_time: i64,
    ) -> Result<Self> {
        if min_time >= max_time {
            return Err(Error::InvalidInput(format!(
                "block range [{min_time}, {max_time}) is empty"
            )));
        }
        let parent = parent.as_ref().to_path_buf();
        let tmp_dir = parent.join(format!("{ulid}{TMP_FOR_CREATION}"));
        if tmp_dir.exists() {
            std::fs::remove_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        }
        let chunks = ChunkWriter::create(tmp_dir.join(CHUNKS_DIRNAME))?;
        Ok(Self {
            parent,
            tmp_dir,
            meta: BlockMeta::new_level1(ulid, min_time, max_time),
            chunk_range: DEFAULT_BLOCK_DURATION_MS,
            chunks,
            series: Vec::new(),
        })
    }

    /// The ULID of the block being written.
    pub fn ulid(&self) -> Ulid {
        self.meta.ulid
    }

    /// Chunks never span a multiple of this range (default 2h, the block range).
    pub fn set_chunk_range(&mut self, ms: i64) {
        self.chunk_range = ms.max(1);
    }

    fn check_order(&self, labels: &Labels) -> Result<()> {
        if labels.is_empty() {
            return Err(Error::InvalidInput("series with no labels".to_string()));
        }
        if let Some((last, _)) = self.series.last()
            && labels <= last
        {
            return Err(Error::InvalidInput(format!(
                "series {labels} added after {last}: series must be added in label order, once"
            )));
        }
        Ok(())
    }

    /// Add a series from samples (strictly increasing timestamps inside the block range);
    /// cuts XOR chunks like Prometheus: at most 120 samples, about 1 KiB, never across a
    /// chunk-range boundary. A series without samples is skipped.
    pub fn add_series(&mut self, labels: Labels, samples: &[(i64, f64)]) -> Result<()> {
        self.check_order(&labels)?;
        if samples.is_empty() {
            return Ok(());
        }
        let mut metas = Vec::with_capacity(samples.len() / SAMPLES_PER_CHUNK + 1);
        let mut app = XorAppender::new();
        let mut chunk_min = 0;
        let mut boundary = i64::MIN;
        let mut last_t = i64::MIN;
        for &(t, v) in samples {
            if t < self.meta.min_time || t >= self.meta.max_time {
                return Err(Error::InvalidInput(format!(
                    "sample at {t} of {labels} is outside the block range [{}, {})",
                    self.meta.min_time, self.meta.max_time
                )));
            }
            if t <= last_t {
                return Err(Error::InvalidInput(format!(
                    "sample at {t} of {labels} is not after the previous one at {last_t}"
                )));
            }
            let full = app.num_samples() >= SAMPLES_PER_CHUNK
                || app.len() > MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND
                || t >= boundary;
            if !app.is_empty() && full {
                let done = std::mem::take(&mut app);
                metas.push(self.write_xor(chunk_min, last_t, done)?);
            }
            if app.is_empty() {
                chunk_min = t;
                boundary = range_for_timestamp(t, self.chunk_range);
            }
            app.append(t, v);
            last_t = t;
        }
        metas.push(self.write_xor(chunk_min, last_t, app)?);
        self.meta.stats.num_samples += samples.len() as u64;
        self.meta.stats.num_float_samples += samples.len() as u64;
        self.push_series(labels, metas);
        Ok(())
    }

    fn write_xor(&mut self, min_time: i64, max_time: i64, app: XorAppender) -> Result<ChunkMeta> {
        let chunk_ref = self.chunks.write_chunk(Encoding::Xor, &app.into_bytes())?;
        Ok(ChunkMeta {
            min_time,
            max_time,
            chunk_ref,
        })
    }

    /// Add a series from already encoded chunks, sorted by time and non-overlapping (e.g.
    /// copied from another block).
    pub fn add_series_chunks(&mut self, labels: Labels, chunks: &[EncodedChunk<'_>]) -> Result<()> {
        self.check_order(&labels)?;
        let mut metas = Vec::with_capacity(chunks.len());
        let mut prev_max = i64::MIN;
        for &EncodedChunk {
            min_time,
            max_time,
            encoding: enc,
            data,
            samples,
        } in chunks
        {
            if min_time > max_time || (!metas.is_empty() && min_time <= prev_max) {
                return Err(Error::InvalidInput(format!(
                    "chunks of {labels} overlap or are out of order at {min_time}"
                )));
            }
            prev_max = max_time;
            let chunk_ref = self.chunks.write_chunk(enc, data)?;
            metas.push(ChunkMeta {
                min_time,
                max_time,
                chunk_ref,
            });
            self.meta.stats.num_samples += samples;
            if enc == Encoding::Xor {
                self.meta.stats.num_float_samples += samples;
            }
        }
        if !metas.is_empty() {
            self.push_series(labels, metas);
        }
        Ok(())
    }

    fn push_series(&mut self, labels: Labels, metas: Vec<ChunkMeta>) {
        self.meta.stats.num_series += 1;
        self.meta.stats.num_chunks += metas.len() as u64;
        self.series.push((labels, metas));
    }

    /// Write the index and meta.json (with `thanos` if given), rename the directory into place
    /// and return the meta. An empty block is allowed (Prometheus skips those; callers decide).
    pub fn finish(self, thanos: Option<ThanosMeta>) -> Result<BlockMeta> {
        let Self {
            parent,
            tmp_dir,
            mut meta,
            chunks,
            series,
            ..
        } = self;
        chunks.finish()?;
        let symbols: BTreeSet<&str> = series
            .iter()
            .flat_map(|(l, _)| l.iter().flat_map(|l| [l.name.as_str(), l.value.as_str()]))
            .collect();
        let mut iw = IndexWriter::create(&tmp_dir.join(INDEX_FILENAME), symbols)?;
        for (labels, metas) in &series {
            iw.add_series(labels, metas)?;
        }
        iw.finish()?;
        meta.thanos = thanos;
        meta.write_to_dir(&tmp_dir)?;
        let dir = parent.join(meta.ulid.to_string());
        std::fs::rename(&tmp_dir, &dir).map_err(|e| Error::io(&dir, e))?;
        Ok(meta)
    }
}

/// A block in a local directory, opened for reading.
#[derive(Debug)]
pub struct LocalBlock {
    /// Its meta.json.
    pub meta: BlockMeta,
    /// Its index.
    pub index: IndexReader<LocalFile>,
    /// Its chunk segments.
    pub chunks: ChunkReader<LocalFile>,
}

impl LocalBlock {
    /// Open the block in `dir` (meta.json, index, chunks/*).
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let meta = BlockMeta::read_from_dir(dir)?;
        let index = IndexReader::open(LocalFile::open(dir.join(INDEX_FILENAME))?).await?;
        let chunk_dir = dir.join(CHUNKS_DIRNAME);
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&chunk_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&chunk_dir, e)),
        };
        names.sort();
        let segments = names
            .iter()
            .map(LocalFile::open)
            .collect::<Result<Vec<_>>>()?;
        let chunks = ChunkReader::new(segments).await?;
        Ok(Self {
            meta,
            index,
            chunks,
        })
    }

    /// Every series with its decoded float samples, in label order. Loads the whole block:
    /// meant for tools and tests, not for serving queries.
    pub async fn read_all(&self) -> Result<Vec<(Labels, Vec<(i64, f64)>)>> {
        let refs = self.index.all_postings().await?;
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let entry = self.index.series(r).await?;
            let mut ts = Vec::new();
            let mut vs = Vec::new();
            for c in &entry.chunks {
                let raw = self.chunks.chunk(c.chunk_ref).await?;
                if raw.encoding != Encoding::Xor {
                    return Err(Error::Unsupported {
                        what: "chunk encoding",
                        value: format!("{:?}", raw.encoding),
                    });
                }
                decode_xor_into(&raw.data, &mut ts, &mut vs)?;
            }
            out.push((entry.labels, ts.into_iter().zip(vs).collect()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lbl(name: &str, i: usize) -> Labels {
        Labels::from_pairs([("__name__", name.to_string()), ("i", i.to_string())])
    }

    #[tokio::test]
    async fn write_read_round_trip_and_chunk_cutting() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 4 * 3_600_000).unwrap();
        let samples: Vec<(i64, f64)> = (0..959).map(|i| (i * 15_000 + 7, i as f64)).collect();
        w.add_series(lbl("a", 1), &samples).unwrap();
        w.add_series(lbl("a", 2), &samples[..3]).unwrap();
        assert!(w.add_series(lbl("a", 0), &samples).is_err(), "out of order");
        assert!(w.add_series(lbl("a", 3), &[(5, 1.0), (5, 2.0)]).is_err());
        let meta = w.finish(None).unwrap();
        assert_eq!(meta.stats.num_series, 2);
        assert_eq!(meta.stats.num_samples, 962);
        let b = LocalBlock::open(dir.path().join(meta.ulid.to_string()))
            .await
            .unwrap();
        let all = b.read_all().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1, samples);
        // 959 samples at 15s over 4h: 8 chunks of 120 (last one shorter), and no chunk may
        // straddle the 2h boundary.
        let e = b
            .index
            .series(b.index.all_postings().await.unwrap()[0])
            .await
            .unwrap();
        assert_eq!(e.chunks.len(), 8);
        for c in &e.chunks {
            assert_eq!(
                range_for_timestamp(c.min_time, DEFAULT_BLOCK_DURATION_MS),
                range_for_timestamp(c.max_time, DEFAULT_BLOCK_DURATION_MS)
            );
        }
        assert_eq!(meta.stats.num_chunks, 9);
    }
}
