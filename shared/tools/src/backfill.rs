//! `strata tools bucket backfill`: turn an OpenMetrics text file into blocks cut at
//! block-range-aligned boundaries (2h by default, like `promtool tsdb create-blocks-from
//! openmetrics`), stamp them with external labels (`source: bucket.upload`) and upload each one
//! (chunks, index, meta.json last) before writing the next, so local disk holds one block.
//!
//! Memory: the file is parsed once into per-series sample columns (16 bytes per sample plus
//! the label sets); a block's meta spans its first to its last sample + 1, as promtool's do.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use strata_tsdb::block::BlockWriter;
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::{BlockMeta, Downsample, ThanosMeta};
use strata_tsdb::{DEFAULT_BLOCK_DURATION_MS, range_for_timestamp};

use crate::openmetrics::{Line, parse_line};
use crate::{Error, Result};

/// What to backfill and how.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// External labels for every block (Thanos requires at least one).
    pub external_labels: BTreeMap<String, String>,
    /// Block range in ms (blocks never cross a multiple of it).
    pub block_duration_ms: i64,
    /// Where blocks are written before upload (a temp dir if None).
    pub tmp_dir: Option<PathBuf>,
    /// Told about progress (the binary draws a bar from it); the library draws nothing.
    pub progress: Option<Arc<dyn Progress>>,
}

/// Receives a backfill's progress, e.g. to draw a progress bar.
pub trait Progress: std::fmt::Debug + Send + Sync {
    /// Called once the input is parsed, with the number of block ranges its samples span (the
    /// most blocks the backfill can write).
    fn start(&self, block_ranges: u64);
    /// Called after each block has been uploaded (and its local copy removed).
    fn block_uploaded(&self, meta: &BlockMeta);
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            external_labels: BTreeMap::new(),
            block_duration_ms: DEFAULT_BLOCK_DURATION_MS,
            tmp_dir: None,
            progress: None,
        }
    }
}

/// Samples of every series in a file, sorted by time, series sorted by labels.
#[derive(Debug, Default)]
pub struct SeriesSet {
    /// (labels, samples sorted by timestamp), sorted by labels.
    pub series: Vec<(Labels, Vec<(i64, f64)>)>,
    /// Sample lines read.
    pub samples: u64,
}

impl SeriesSet {
    /// Smallest and largest timestamp, if any sample exists.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self
            .series
            .iter()
            .filter_map(|(_, s)| s.first())
            .map(|s| s.0)
            .min()?;
        let max = self
            .series
            .iter()
            .filter_map(|(_, s)| s.last())
            .map(|s| s.0)
            .max()?;
        Some((min, max))
    }
}

/// Parse an OpenMetrics text stream. Samples of a series may come in any order; a repeated
/// timestamp with the same value is kept once, with a different value it is an error.
pub fn read_openmetrics(reader: impl BufRead) -> Result<SeriesSet> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut series: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
    let mut samples = 0u64;
    let mut eof_line = None;
    for (i, line) in reader.lines().enumerate() {
        let lineno = i as u64 + 1;
        let line = line.map_err(|e| Error::Parse {
            line: lineno,
            reason: format!("reading input: {e}"),
        })?;
        if let Some(eof) = eof_line {
            if !line.trim().is_empty() {
                return Err(Error::Parse {
                    line: lineno,
                    reason: format!("data after # EOF (line {eof})"),
                });
            }
            continue;
        }
        match parse_line(&line).map_err(|reason| Error::Parse {
            line: lineno,
            reason,
        })? {
            Line::Metadata => {}
            Line::Eof => eof_line = Some(lineno),
            Line::Sample {
                labels,
                value,
                timestamp_ms,
            } => {
                let labels = Labels::from_vec(labels);
                let id = match index.get(&labels) {
                    Some(&id) => id,
                    None => {
                        series.push((labels.clone(), Vec::new()));
                        index.insert(labels, series.len() - 1);
                        series.len() - 1
                    }
                };
                series[id].1.push((timestamp_ms, value));
                samples += 1;
            }
        }
    }
    drop(index);
    for (labels, s) in &mut series {
        s.sort_by_key(|&(t, _)| t);
        let mut conflict = None;
        s.dedup_by(|b, a| {
            if a.0 != b.0 {
                return false;
            }
            if a.1.to_bits() != b.1.to_bits() {
                conflict = Some(a.0);
            }
            true
        });
        if let Some(t) = conflict {
            return Err(Error::Input(format!(
                "series {labels} has two different values at timestamp {t}"
            )));
        }
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(SeriesSet { series, samples })
}

/// Write the blocks for `set` into `dir`, calling `on_block` with each finished block's
/// directory and meta before the next is written (it may upload and delete it).
pub fn write_blocks(
    set: &SeriesSet,
    dir: &Path,
    opts: &BackfillOptions,
    mut on_block: impl FnMut(&Path, &BlockMeta) -> Result<()>,
) -> Result<usize> {
    let Some((min, max)) = set.time_range() else {
        return Ok(0);
    };
    let width = opts.block_duration_ms.max(1);
    let thanos = ThanosMeta {
        version: Some(1),
        labels: opts.external_labels.clone(),
        downsample: Downsample { resolution: 0 },
        source: "bucket.upload".to_string(),
        ..Default::default()
    };
    let mut written = 0;
    let mut start = range_for_timestamp(min, width) - width;
    while start <= max {
        let end = start + width;
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        let windows: Vec<(&Labels, &[(i64, f64)])> = set
            .series
            .iter()
            .filter_map(|(l, s)| {
                let a = s.partition_point(|x| x.0 < start);
                let b = s.partition_point(|x| x.0 < end);
                (a < b).then(|| {
                    lo = lo.min(s[a].0);
                    hi = hi.max(s[b - 1].0);
                    (l, &s[a..b])
                })
            })
            .collect();
        if !windows.is_empty() {
            let mut w = BlockWriter::create(dir, lo, hi + 1)?;
            w.set_chunk_range(width);
            for (labels, samples) in windows {
                w.add_series(labels.clone(), samples)?;
            }
            let meta = w.finish(Some(thanos.clone()))?;
            on_block(&dir.join(meta.ulid.to_string()), &meta)?;
            written += 1;
        }
        start = end;
    }
    Ok(written)
}

/// What a backfill did.
#[derive(Debug, Clone)]
pub struct BackfillReport {
    /// Metas of the uploaded blocks, oldest first.
    pub blocks: Vec<BlockMeta>,
    /// Distinct series in the input.
    pub series: usize,
    /// Sample lines in the input.
    pub samples: u64,
}

/// Parse `file`, write 2h-aligned blocks and upload them to `store`.
pub async fn backfill(
    store: Arc<dyn ObjectStore>,
    file: &Path,
    opts: BackfillOptions,
) -> Result<BackfillReport> {
    if opts.external_labels.is_empty() {
        return Err(Error::Input(
            "at least one --label is required: Thanos and strata need external labels on every \
             uploaded block"
                .to_string(),
        ));
    }
    let f = std::fs::File::open(file).map_err(|e| Error::Io {
        path: file.display().to_string(),
        source: e,
    })?;
    let set = read_openmetrics(std::io::BufReader::with_capacity(1 << 20, f))?;
    let series = set.series.len();
    let samples = set.samples;
    let tmp = match &opts.tmp_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("strata-backfill-")
            .tempdir_in(d),
        None => tempfile::Builder::new()
            .prefix("strata-backfill-")
            .tempdir(),
    }
    .map_err(|e| Error::Io {
        path: "temporary directory".to_string(),
        source: e,
    })?;
    if let (Some(p), Some(n)) = (&opts.progress, block_ranges(&set, opts.block_duration_ms)) {
        p.start(n);
    }
    let handle = tokio::runtime::Handle::current();
    let blocks = tokio::task::block_in_place(|| {
        let mut blocks = Vec::new();
        write_blocks(&set, tmp.path(), &opts, |dir, meta| {
            let uploaded =
                handle.block_on(strata_objstore::block::upload_block(store.as_ref(), dir))?;
            tracing::info!(
                block = %meta.ulid,
                min_time = meta.min_time,
                max_time = meta.max_time,
                series = meta.stats.num_series,
                samples = meta.stats.num_samples,
                "uploaded block"
            );
            std::fs::remove_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
            if let Some(p) = &opts.progress {
                p.block_uploaded(&uploaded);
            }
            blocks.push(uploaded);
            Ok(())
        })?;
        Ok::<_, Error>(blocks)
    })?;
    Ok(BackfillReport {
        blocks,
        series,
        samples,
    })
}

/// How many block ranges of `block_duration_ms` the samples of `set` span.
fn block_ranges(set: &SeriesSet, block_duration_ms: i64) -> Option<u64> {
    let (min, max) = set.time_range()?;
    let width = block_duration_ms.max(1);
    let ranges =
        (range_for_timestamp(max, width) - (range_for_timestamp(min, width) - width)) / width;
    Some(ranges as u64)
}
