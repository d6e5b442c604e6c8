//! Block-format interoperability with real Prometheus tooling (Debian `prometheus` 2.42):
//! blocks strata writes pass `promtool tsdb analyze` and `promtool tsdb dump` prints exactly
//! the samples written; blocks `promtool tsdb create-blocks-from openmetrics` writes are read
//! back by strata with every series, label and sample equal to the input.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{gen_series, parse_dump, require_tool, run_ok, same_value, to_openmetrics};
use strata_tsdb::block::LocalBlock;
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::BlockMeta;

/// 2023-11-14T22:13:20Z, not on a 2h boundary, so blocks start mid-range.
const START_MS: i64 = 1_700_000_000_000;

type Expected = BTreeMap<Labels, Vec<(i64, f64)>>;

/// What the OpenMetrics text means, parsed by strata's parser (promtool's rules).
fn expected_from_text(text: &str) -> Expected {
    let set = strata_tools::backfill::read_openmetrics(text.as_bytes()).unwrap();
    set.series.into_iter().collect()
}

fn block_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    v.sort();
    v
}

#[test]
fn strata_blocks_pass_promtool_analyze_and_dump_prints_every_sample() {
    let promtool = require_tool("promtool");
    let series = gen_series(7, 60, START_MS, 7);
    let text = to_openmetrics(&series);
    let expected = expected_from_text(&text);
    // Sanity: the parser reproduces the generated data (timestamps truncated like promtool).
    assert_eq!(expected.len(), series.len());

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input.om");
    std::fs::write(&input, &text).unwrap();
    let bucket = tmp.path().join("bucket");
    let config = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    );
    let out = run_ok(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["tools", "bucket", "backfill", "--objstore.config", &config])
            .args(["--label", "cluster=test", "--label", "replica=a"])
            .arg(&input),
    );
    assert!(
        out.is_empty(),
        "backfill reports on stderr, not stdout: {out}"
    );

    let dirs = block_dirs(&bucket);
    // One block per 2h-aligned range the samples touch.
    let all: Vec<i64> = expected.values().flatten().map(|s| s.0).collect();
    let first = all.iter().min().unwrap().div_euclid(7_200_000);
    let last = all.iter().max().unwrap().div_euclid(7_200_000);
    assert_eq!(dirs.len() as i64, last - first + 1, "blocks: {dirs:?}");
    for d in &dirs {
        let meta = BlockMeta::read_from_dir(d).unwrap();
        let thanos = meta.thanos.as_ref().unwrap();
        assert_eq!(thanos.source, "bucket.upload");
        assert_eq!(
            thanos.labels.get("cluster").map(String::as_str),
            Some("test")
        );
        assert!(
            thanos
                .files
                .iter()
                .any(|f| f.rel_path == "index" && f.size_bytes.is_some())
        );
        let aligned_start = meta.min_time.div_euclid(7_200_000) * 7_200_000;
        assert!(
            meta.max_time <= aligned_start + 7_200_000,
            "block crosses a 2h boundary"
        );
        let id = d.file_name().unwrap().to_str().unwrap();
        let analysis = run_ok(
            Command::new(&promtool)
                .args(["tsdb", "analyze"])
                .arg(&bucket)
                .arg(id),
        );
        assert!(analysis.contains(&format!("Block ID: {id}")), "{analysis}");
    }

    // promtool 2.42's dump opens the directory as a Prometheus data dir and needs a `wal/`.
    std::fs::create_dir_all(bucket.join("wal")).unwrap();
    let dump = run_ok(Command::new(&promtool).args(["tsdb", "dump"]).arg(&bucket));
    let mut got: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (labels, t, v) in parse_dump(&dump) {
        got.entry(labels).or_default().push((t, v));
    }
    assert_eq!(got.len(), expected.len(), "series count");
    let mut total = 0;
    for (labels, want) in &expected {
        let have = got
            .get(&labels.to_string())
            .unwrap_or_else(|| panic!("promtool dump lacks {labels}"));
        assert_eq!(have.len(), want.len(), "samples of {labels}");
        for (h, w) in have.iter().zip(want) {
            assert_eq!(h.0, w.0, "timestamp in {labels}");
            assert!(
                same_value(h.1, w.1),
                "{labels} at {}: {} != {}",
                w.0,
                h.1,
                w.1
            );
        }
        total += want.len();
    }
    assert!(total > 50_000, "meaningful volume: {total}");
}

#[tokio::test]
async fn promtool_made_blocks_read_back_exactly() {
    let promtool = require_tool("promtool");
    let series = gen_series(11, 50, START_MS, 5);
    let text = to_openmetrics(&series);
    let expected = expected_from_text(&text);

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input.om");
    std::fs::write(&input, &text).unwrap();
    let out = tmp.path().join("blocks");
    run_ok(
        Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&out),
    );
    let dirs = block_dirs(&out);
    assert!(dirs.len() >= 3, "promtool wrote {} blocks", dirs.len());

    let mut got: Expected = BTreeMap::new();
    for d in &dirs {
        let block = LocalBlock::open(d).await.unwrap();
        let stats = strata_tsdb::index::verify_index(
            strata_tsdb::range::LocalFile::open(d.join("index")).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(stats.series as u64, block.meta.stats.num_series);
        let mut samples = 0u64;
        for (labels, s) in block.read_all().await.unwrap() {
            samples += s.len() as u64;
            for &(t, _) in &s {
                assert!(t >= block.meta.min_time && t < block.meta.max_time);
            }
            got.entry(labels).or_default().extend(s);
        }
        assert_eq!(samples, block.meta.stats.num_samples, "meta sample count");
    }
    assert_eq!(got.len(), expected.len(), "series count");
    for (labels, want) in &expected {
        let have = got
            .get(labels)
            .unwrap_or_else(|| panic!("strata lacks {labels}"));
        assert_eq!(have.len(), want.len(), "samples of {labels}");
        for (h, w) in have.iter().zip(want) {
            assert_eq!(h.0, w.0, "timestamp in {labels}");
            assert_eq!(
                h.1.to_bits(),
                w.1.to_bits(),
                "{labels} at {}: {} != {}",
                w.0,
                h.1,
                w.1
            );
        }
    }
}
