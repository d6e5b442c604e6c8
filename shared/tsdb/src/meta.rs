//! `meta.json` (Prometheus block meta, version 1) with the Thanos `thanos` section, and the Thanos
//! marker files (`deletion-mark.json`, `no-compact-mark.json`, `no-downsample-mark.json`). Follows
//! Prometheus' `tsdb/block.go` and Thanos' `pkg/block/metadata/meta.go`; unknown Thanos fields are
//! kept verbatim so a meta.json read and written back loses nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{Error, Result};

/// File name of the block meta.
pub const META_FILENAME: &str = "meta.json";
/// File name of the index.
pub const INDEX_FILENAME: &str = "index";
/// Directory of the chunk segment files.
pub const CHUNKS_DIRNAME: &str = "chunks";
/// File name of the tombstones.
pub const TOMBSTONES_FILENAME: &str = "tombstones";
/// Thanos deletion marker.
pub const DELETION_MARK_FILENAME: &str = "deletion-mark.json";
/// Thanos no-compact marker.
pub const NO_COMPACT_MARK_FILENAME: &str = "no-compact-mark.json";
/// Thanos no-downsample marker.
pub const NO_DOWNSAMPLE_MARK_FILENAME: &str = "no-downsample-mark.json";

/// Raw resolution (not downsampled).
pub const RESOLUTION_RAW: i64 = 0;
/// 5 minute downsampling resolution in ms.
pub const RESOLUTION_5M: i64 = 300_000;
/// 1 hour downsampling resolution in ms.
pub const RESOLUTION_1H: i64 = 3_600_000;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Block statistics; every field is omitted from JSON when zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_float_samples: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_histogram_samples: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

/// A parent block of a compacted block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    pub ulid: Ulid,
    pub min_time: i64,
    pub max_time: i64,
}

/// Compaction lineage of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for a block cut from a head or written by a tool; max(parents)+1 after compaction.
    pub level: u32,
    /// ULIDs of all level-1 blocks that went into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Ulid>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletable: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// Downsampling info of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downsample {
    /// Resolution in ms: 0 (raw), 300000 (5m) or 3600000 (1h).
    pub resolution: i64,
}

/// A file of the block with its size (meta.json itself has no size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockFile {
    pub rel_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<serde_json::Value>,
}

/// The Thanos `thanos` section of meta.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThanosMeta {
    /// Meta version; 0 (absent) is read as 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// External labels of the producer (must not be empty on upload).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub downsample: Downsample,
    /// Who wrote the block: sidecar, receive, compactor, ruler, bucket.upload, ...
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BlockFile>,
    /// Fields this version does not model (rewrites, index_stats, extensions, upload_time...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A block's meta.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub ulid: Ulid,
    /// Inclusive, ms.
    pub min_time: i64,
    /// Exclusive, ms.
    pub max_time: i64,
    #[serde(default)]
    pub stats: BlockStats,
    #[serde(default)]
    pub compaction: BlockCompaction,
    pub version: u32,
    /// Present in every block Thanos or strata uploaded; absent in plain Prometheus blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanos: Option<ThanosMeta>,
}

impl BlockMeta {
    /// A fresh level-1 meta for a new block.
    pub fn new_level1(ulid: Ulid, min_time: i64, max_time: i64) -> Self {
        Self {
            ulid,
            min_time,
            max_time,
            stats: BlockStats::default(),
            compaction: BlockCompaction {
                level: 1,
                sources: vec![ulid],
                ..Default::default()
            },
            version: 1,
            thanos: None,
        }
    }

    /// Parse and validate meta.json bytes.
    pub fn from_json(b: &[u8]) -> Result<Self> {
        let m: BlockMeta = serde_json::from_slice(b).map_err(|source| Error::Json {
            what: "meta.json",
            source,
        })?;
        if m.version != 1 {
            return Err(Error::Unsupported {
                what: "meta.json version",
                value: m.version.to_string(),
            });
        }
        if m.min_time > m.max_time {
            return Err(Error::corrupted(
                "meta.json",
                format!("minTime {} > maxTime {}", m.min_time, m.max_time),
            ));
        }
        Ok(m)
    }

    /// Serialize as Prometheus does (tab-indented JSON).
    pub fn to_json(&self) -> Vec<u8> {
        to_tab_json(self)
    }

    /// Read `<dir>/meta.json`.
    pub fn read_from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let p = dir.as_ref().join(META_FILENAME);
        let b = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        Self::from_json(&b)
    }

    /// Write `<dir>/meta.json` atomically (temp file + fsync + rename).
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> Result<()> {
        write_atomic(&dir.as_ref().join(META_FILENAME), &self.to_json())
    }

    /// The downsampling resolution (0 when there is no thanos section).
    pub fn resolution(&self) -> i64 {
        self.thanos.as_ref().map_or(0, |t| t.downsample.resolution)
    }
}

fn to_tab_json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Serializing plain structs and maps into a Vec cannot fail.
    if v.serialize(&mut ser).is_err() {
        out.clear();
    }
    out.push(b'\n');
    out
}

/// Write `path` through `path.tmp` + fsync + rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(data).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// `deletion-mark.json`: the block will be deleted after the delete delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionMark {
    pub id: Ulid,
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    /// Unix seconds.
    pub deletion_time: i64,
}

/// Why a block must not be compacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoCompactMark {
    pub id: Ulid,
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    /// Unix seconds.
    pub no_compact_time: i64,
    /// `manual`, `index-size-exceeding`, `block-index-out-of-order-chunk`,
    /// `downsample-vertical-compaction`.
    pub reason: String,
}

/// Why a block must not be downsampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoDownsampleMark {
    pub id: Ulid,
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    /// Unix seconds.
    pub no_downsample_time: i64,
    pub reason: String,
}

/// A marker file kind, with its file name and version check.
pub trait Marker: Serialize + for<'de> Deserialize<'de> {
    /// File name in the block directory.
    const FILENAME: &'static str;
    /// The marker's version field.
    fn version(&self) -> u32;

    /// Parse and check the version (must be 1).
    fn from_json(b: &[u8]) -> Result<Self> {
        let m: Self = serde_json::from_slice(b).map_err(|source| Error::Json {
            what: Self::FILENAME,
            source,
        })?;
        if m.version() != 1 {
            return Err(Error::Unsupported {
                what: Self::FILENAME,
                value: format!("version {}", m.version()),
            });
        }
        Ok(m)
    }

    /// Serialize (tab-indented like Thanos).
    fn to_json(&self) -> Vec<u8> {
        to_tab_json(self)
    }
}

impl Marker for DeletionMark {
    const FILENAME: &'static str = DELETION_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Marker for NoCompactMark {
    const FILENAME: &'static str = NO_COMPACT_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Marker for NoDownsampleMark {
    const FILENAME: &'static str = NO_DOWNSAMPLE_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THANOS_META: &str = r#"{
	"ulid": "01FQVAGZ7RN2B1Y8Q9JZ8H4N3E",
	"minTime": 1640000000000,
	"maxTime": 1640007200000,
	"stats": {"numSamples": 480, "numSeries": 4, "numChunks": 4},
	"compaction": {"level": 2, "sources": ["01FQVAGZ7RN2B1Y8Q9JZ8H4N3E"],
	  "parents": [{"ulid": "01FQVAGZ7RN2B1Y8Q9JZ8H4N3E", "minTime": 1, "maxTime": 2}]},
	"version": 1,
	"thanos": {"labels": {"cluster": "eu1", "replica": "a"}, "downsample": {"resolution": 300000},
	  "source": "compactor", "files": [{"rel_path": "chunks/000001", "size_bytes": 1234},
	  {"rel_path": "meta.json"}], "index_stats": {"series_max_size": 100}}
}"#;

    #[test]
    fn thanos_meta_round_trips_including_unknown_fields() {
        let m = BlockMeta::from_json(THANOS_META.as_bytes()).unwrap();
        assert_eq!(m.stats.num_series, 4);
        assert_eq!(m.compaction.level, 2);
        assert_eq!(m.resolution(), RESOLUTION_5M);
        let t = m.thanos.as_ref().unwrap();
        assert_eq!(t.labels["cluster"], "eu1");
        assert_eq!(t.files[1].size_bytes, None);
        assert!(t.extra.contains_key("index_stats"));
        let again = BlockMeta::from_json(&m.to_json()).unwrap();
        assert_eq!(again, m);
        let text = String::from_utf8(m.to_json()).unwrap();
        assert!(text.contains("\n\t\"ulid\""), "tab indented: {text}");
        assert!(!text.contains("numTombstones"), "zero stats omitted");
    }

    #[test]
    fn bad_meta_is_rejected_with_a_reason() {
        let v2 = THANOS_META.replace("\"version\": 1,", "\"version\": 2,");
        assert!(matches!(
            BlockMeta::from_json(v2.as_bytes()),
            Err(Error::Unsupported { .. })
        ));
        assert!(BlockMeta::from_json(b"{").is_err());
        assert!(BlockMeta::from_json(b"{\"ulid\":\"nope\"}").is_err());
    }

    #[test]
    fn markers_round_trip() {
        let d = DeletionMark {
            id: Ulid::nil(),
            version: 1,
            details: String::new(),
            deletion_time: 1_700_000_000,
        };
        assert_eq!(DeletionMark::from_json(&d.to_json()).unwrap(), d);
        let bad = br#"{"id":"00000000000000000000000000","version":2,"deletion_time":1}"#;
        assert!(DeletionMark::from_json(bad).is_err());
    }
}
