//! Index v2, postings and matcher tests: round trips through the writer and the reader over
//! `Bytes` and `LocalFile`, a golden byte layout, and corrupted files.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use bytes::Bytes;
use proptest::prelude::*;
use strata_tsdb::index::{ChunkMeta, IndexReader, IndexWriter, Toc, verify_index};
use strata_tsdb::matchers::{MatchType, Matcher};
use strata_tsdb::range::{LocalFile, RangeSource};
use strata_tsdb::{Error, Labels};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Symbols of a series set: every name and value, sorted and unique.
fn symbols_of(series: &[(Labels, Vec<ChunkMeta>)]) -> BTreeSet<String> {
    let mut syms = BTreeSet::new();
    for (l, _) in series {
        for lab in l {
            syms.insert(lab.name.clone());
            syms.insert(lab.value.clone());
        }
    }
    syms
}

/// Write `series` (sorted) to `dir/index`; returns the refs and the file bytes.
fn write_index(dir: &Path, series: &[(Labels, Vec<ChunkMeta>)]) -> (Vec<u32>, Bytes) {
    let path = dir.join("index");
    let mut w = IndexWriter::create(&path, symbols_of(series)).unwrap();
    let refs = series
        .iter()
        .map(|(l, c)| w.add_series(l, c).unwrap())
        .collect();
    let size = w.finish().unwrap();
    let bytes = Bytes::from(std::fs::read(&path).unwrap());
    assert_eq!(size, bytes.len() as u64);
    (refs, bytes)
}

fn cm(min_time: i64, max_time: i64, chunk_ref: u64) -> ChunkMeta {
    ChunkMeta {
        min_time,
        max_time,
        chunk_ref,
    }
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

// ---------- golden layout ----------

fn golden_series() -> Vec<(Labels, Vec<ChunkMeta>)> {
    vec![
        (l(&[("a", "1")]), vec![cm(0, 100, 8)]),
        (
            l(&[("a", "2"), ("b", "x")]),
            vec![cm(0, 50, 20), cm(60, 100, 40)],
        ),
    ]
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn golden_two_series() {
    let dir = tempfile::tempdir().unwrap();
    let (refs, b) = write_index(dir.path(), &golden_series());
    assert_eq!(refs, vec![2, 3], "series at offsets 32 and 48");
    assert_eq!(b.len(), 222);
    // Header.
    assert_eq!(&b[..5], &[0xBA, 0xAA, 0xD7, 0x00, 2]);
    // Symbol table: "1" "2" "a" "b" "x".
    assert_eq!(be32(&b, 5), 14);
    assert_eq!(be32(&b, 9), 5);
    assert_eq!(&b[13..23], b"\x011\x012\x01a\x01b\x01x");
    assert_eq!(be32(&b, 23), crc32c::crc32c(&b[9..23]));
    // Padding, then series 1 at 32: len 7, {a=1}, one chunk (0, +100, ref 8).
    assert_eq!(&b[27..32], &[0; 5]);
    assert_eq!(&b[32..40], &[7, 1, 2, 0, 1, 0, 100, 8]);
    assert_eq!(be32(&b, 40), crc32c::crc32c(&b[33..40]));
    // Series 2 at 48: {a=2, b=x}, chunks (0,+50,20) (+10,+40,+20).
    assert_eq!(&b[44..48], &[0; 4]);
    assert_eq!(&b[48..61], &[12, 2, 2, 1, 3, 4, 2, 0, 50, 20, 10, 40, 40]);
    assert_eq!(be32(&b, 61), crc32c::crc32c(&b[49..61]));
    // Postings: all-postings at 68 (after padding 65..68), then a=1, a=2, b=x.
    assert_eq!(&b[65..68], &[0; 3]);
    assert_eq!(
        &b[68..84],
        &[0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]
    );
    assert_eq!(be32(&b, 84), crc32c::crc32c(&b[72..84]));
    assert_eq!(&b[88..100], &[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert_eq!(&b[104..116], &[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 3]);
    assert_eq!(&b[120..132], &[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 3]);
    // Postings offset table at 136.
    assert_eq!(be32(&b, 136), 26);
    assert_eq!(be32(&b, 140), 4);
    assert_eq!(
        &b[144..166],
        b"\x02\x00\x00\x44\x02\x01a\x011\x58\x02\x01a\x012\x68\x02\x01b\x01x\x78"
    );
    assert_eq!(be32(&b, 166), crc32c::crc32c(&b[140..166]));
    // TOC.
    let toc = 170;
    let fields: Vec<u64> = (0..6).map(|i| be64(&b, toc + 8 * i)).collect();
    assert_eq!(fields, vec![5, 27, 65, 136, 65, 136]);
    assert_eq!(be32(&b, toc + 48), crc32c::crc32c(&b[toc..toc + 48]));

    rt().block_on(async {
        let r = IndexReader::open(b.clone()).await.unwrap();
        assert_eq!(
            *r.toc(),
            Toc {
                symbols: 5,
                series: 27,
                label_indices: 65,
                label_indices_table: 136,
                postings: 65,
                postings_table: 136
            }
        );
        assert_eq!(r.label_names(), vec!["a", "b"]);
        assert_eq!(r.label_values("a"), vec!["1", "2"]);
        assert_eq!(r.symbol(4).unwrap(), "x");
        assert!(r.symbol(5).is_err());
        assert_eq!(r.all_postings().await.unwrap(), vec![2, 3]);
        assert_eq!(r.postings("b", "x").await.unwrap(), vec![3]);
        assert!(r.postings("b", "y").await.unwrap().is_empty());
        let s = r.series(3).await.unwrap();
        assert_eq!(s.labels, golden_series()[1].0);
        assert_eq!(s.chunks, golden_series()[1].1);
        let st = verify_index(b.clone()).await.unwrap();
        assert_eq!(
            (st.series, st.chunks, st.postings_lists, st.symbols),
            (2, 3, 3, 5)
        );
    });
}

// ---------- writer contract ----------

#[test]
fn writer_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index");
    assert!(matches!(
        IndexWriter::create(&p, ["b", "a"]),
        Err(Error::InvalidInput(_))
    ));
    assert!(IndexWriter::create(&p, ["a", "a"]).is_err());

    let mut w = IndexWriter::create(&p, ["1", "2", "a"]).unwrap();
    assert!(w.add_series(&Labels::empty(), &[]).is_err());
    assert!(
        w.add_series(&l(&[("a", "3")]), &[]).is_err(),
        "unknown symbol"
    );
    assert!(w.add_series(&l(&[("a", "1")]), &[cm(5, 4, 0)]).is_err());
    assert!(
        w.add_series(&l(&[("a", "1")]), &[cm(0, 4, 0), cm(4, 8, 1)])
            .is_err(),
        "overlapping chunks"
    );
    assert!(
        w.add_series(&l(&[("a", "1")]), &[cm(0, 4, 9), cm(5, 8, 1)])
            .is_err(),
        "decreasing refs"
    );
    w.add_series(&l(&[("a", "2")]), &[cm(0, 4, 100)]).unwrap();
    assert!(
        w.add_series(&l(&[("a", "1")]), &[]).is_err(),
        "out of order"
    );
    assert!(w.add_series(&l(&[("a", "2")]), &[]).is_err(), "duplicate");
    assert!(
        matches!(
            w.add_series(&l(&[("a", "2"), ("a1", "1")]), &[cm(0, 1, 99)]),
            Err(Error::InvalidInput(_))
        ),
        "chunk refs must not decrease across series"
    );
    w.finish().unwrap();
}

#[test]
fn empty_index_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &[]);
    rt().block_on(async {
        let r = IndexReader::open(b.clone()).await.unwrap();
        assert!(r.label_names().is_empty());
        assert!(r.all_postings().await.unwrap().is_empty());
        let m = Matcher::new(MatchType::NotEqual, "a", "x").unwrap();
        assert!(r.postings_for_matchers(&[m]).await.unwrap().is_empty());
        assert_eq!(verify_index(b).await.unwrap().series, 0);
    });
}

#[test]
fn long_series_entries_take_a_second_read() {
    let dir = tempfile::tempdir().unwrap();
    let long = "v".repeat(3000);
    let chunks: Vec<ChunkMeta> = (0..400)
        .map(|i| cm(i * 1000, i * 1000 + 999, (i as u64) * 5000))
        .collect();
    let series = vec![
        (l(&[("a", &long)]), chunks.clone()),
        (l(&[("b", "1")]), vec![cm(0, 1, 2_000_000)]),
    ];
    let (refs, b) = write_index(dir.path(), &series);
    rt().block_on(async {
        let r = IndexReader::open(b).await.unwrap();
        let s = r.series(refs[0]).await.unwrap();
        assert_eq!(s.labels, series[0].0);
        assert_eq!(s.chunks, chunks);
        assert_eq!(r.series(refs[1]).await.unwrap().labels, series[1].0);
    });
}

// ---------- matchers semantics on a fixed index ----------

#[test]
fn matchers_select_like_prometheus() {
    let series = vec![
        (l(&[("__name__", "up")]), vec![]),
        (l(&[("__name__", "up"), ("job", "api")]), vec![]),
        (l(&[("__name__", "up"), ("job", "web"), ("x", "1")]), vec![]),
        (l(&[("job", "db")]), vec![]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (refs, b) = write_index(dir.path(), &series);
    let sel = |ms: Vec<Matcher>| {
        let b = b.clone();
        let refs = refs.clone();
        rt().block_on(async move {
            let r = IndexReader::open(b).await.unwrap();
            let got = r.postings_for_matchers(&ms).await.unwrap();
            got.iter()
                .map(|g| refs.iter().position(|r| r == g).unwrap())
                .collect::<Vec<_>>()
        })
    };
    let m = |k, n: &str, v: &str| Matcher::new(k, n, v).unwrap();
    use MatchType::*;
    assert_eq!(sel(vec![m(Equal, "job", "")]), vec![0]);
    assert_eq!(
        sel(vec![m(Equal, "__name__", "up"), m(Equal, "job", "")]),
        vec![0]
    );
    assert_eq!(sel(vec![m(NotRegex, "job", "api|")]), vec![2, 3]);
    assert_eq!(sel(vec![m(Regex, "job", "api|")]), vec![0, 1]);
    assert_eq!(sel(vec![m(NotEqual, "job", "api")]), vec![0, 2, 3]);
    assert_eq!(
        sel(vec![m(Regex, "job", ".+"), m(NotEqual, "job", "api")]),
        vec![2, 3]
    );
    assert_eq!(sel(vec![m(Regex, "x", ".*")]), vec![0, 1, 2, 3]);
    assert_eq!(sel(vec![m(Equal, "nope", "")]), vec![0, 1, 2, 3]);
    assert_eq!(sel(vec![m(Equal, "nope", "1")]), Vec::<usize>::new());
    assert_eq!(sel(vec![m(Equal, "", "")]), vec![0, 1, 2, 3]);
    assert_eq!(sel(vec![]), Vec::<usize>::new());
}

// ---------- property round trip ----------

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("__name__".to_string()),
        Just("a".to_string()),
        Just("job".to_string()),
        Just("ü".to_string()),
        Just("日本".to_string()),
        "[a-c_]{1,3}",
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{1,2}",
        "[xé日\u{1F600}\n]{1,3}",
        Just("a".to_string()),
        Just("long-value-".repeat(4)),
    ]
}

/// Labels with (time gap, width, ref delta) per chunk.
type RawSeries = (Labels, Vec<(i64, i64, u64)>);

fn series_set() -> impl Strategy<Value = Vec<(Labels, Vec<ChunkMeta>)>> {
    let one = (
        proptest::collection::btree_map(label_name(), label_value(), 1..5),
        proptest::collection::vec((0i64..1000, 0i64..1000, 0u64..100), 0..5),
    );
    proptest::collection::vec(one, 0..40).prop_map(|v| {
        let mut v: Vec<RawSeries> = v
            .into_iter()
            .map(|(m, c)| (Labels::from_pairs(m), c))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        let mut chunk_ref = 0u64;
        let mut t = -5000i64;
        v.into_iter()
            .map(|(labels, cs)| {
                let chunks = cs
                    .into_iter()
                    .map(|(gap, width, dref)| {
                        let min_time = t + gap + 1;
                        t = min_time + width;
                        chunk_ref += dref;
                        cm(min_time, t, chunk_ref)
                    })
                    .collect();
                (labels, chunks)
            })
            .collect()
    })
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let kind = prop_oneof![
        Just(MatchType::Equal),
        Just(MatchType::NotEqual),
        Just(MatchType::Regex),
        Just(MatchType::NotRegex),
    ];
    let value = prop_oneof![
        label_value(),
        Just(String::new()),
        Just(".*".to_string()),
        Just(".+".to_string()),
        Just("a|b|".to_string()),
        Just("a|ab".to_string()),
        Just("[a-b].*".to_string()),
        Just("x.|日.*".to_string()),
    ];
    let name = prop_oneof![label_name(), Just("absent".to_string())];
    (kind, name, value).prop_map(|(k, n, v)| Matcher::new(k, n, v).unwrap())
}

async fn check_reader<S: RangeSource>(
    r: &IndexReader<S>,
    series: &[(Labels, Vec<ChunkMeta>)],
    refs: &[u32],
    matcher_sets: &[Vec<Matcher>],
) {
    assert_eq!(r.all_postings().await.unwrap(), refs);
    for ((labels, chunks), &sref) in series.iter().zip(refs) {
        let s = r.series(sref).await.unwrap();
        assert_eq!(&s.labels, labels);
        assert_eq!(&s.chunks, chunks);
    }
    let mut names = BTreeSet::new();
    for (ls, _) in series {
        names.extend(ls.iter().map(|l| l.name.as_str()));
    }
    assert_eq!(r.label_names(), names.iter().copied().collect::<Vec<_>>());
    for name in names {
        let mut values = BTreeSet::new();
        for (ls, _) in series {
            values.extend(ls.get(name));
        }
        assert_eq!(
            r.label_values(name),
            values.iter().copied().collect::<Vec<_>>()
        );
        for v in values {
            let want: Vec<u32> = series
                .iter()
                .zip(refs)
                .filter(|((ls, _), _)| ls.get(name) == Some(v))
                .map(|(_, r)| *r)
                .collect();
            assert_eq!(r.postings(name, v).await.unwrap(), want);
        }
    }
    for ms in matcher_sets {
        let want: Vec<u32> = if ms.is_empty() {
            Vec::new()
        } else {
            series
                .iter()
                .zip(refs)
                .filter(|((ls, _), _)| ms.iter().all(|m| m.matches(ls.get(m.name()).unwrap_or(""))))
                .map(|(_, r)| *r)
                .collect()
        };
        let got = r.postings_for_matchers(ms).await.unwrap();
        let shown: Vec<String> = ms.iter().map(ToString::to_string).collect();
        assert_eq!(got, want, "matchers {shown:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn round_trip(
        series in series_set(),
        matcher_sets in proptest::collection::vec(proptest::collection::vec(matcher(), 0..4), 1..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (refs, b) = write_index(dir.path(), &series);
        rt().block_on(async {
            let r = IndexReader::open(b.clone()).await.unwrap();
            check_reader(&r, &series, &refs, &matcher_sets).await;
            let f = LocalFile::open(dir.path().join("index")).unwrap();
            let r = IndexReader::open(f).await.unwrap();
            check_reader(&r, &series, &refs, &matcher_sets).await;
            let st = verify_index(b).await.unwrap();
            assert_eq!(st.series, series.len() as u64);
        });
    }
}

// ---------- corruption ----------

#[test]
fn truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &golden_series());
    rt().block_on(async {
        for n in 0..b.len() {
            let t = b.slice(..n);
            assert!(verify_index(t.clone()).await.is_err(), "truncated to {n}");
            assert!(IndexReader::open(t).await.is_err(), "open truncated to {n}");
        }
    });
}

#[test]
fn flipped_bytes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &golden_series());
    // Zero padding between sections is not covered by any checksum (as in Prometheus).
    let padding = [27..32, 44..48, 65..68];
    rt().block_on(async {
        for i in 0..b.len() {
            for mask in [0x01u8, 0x40, 0xff] {
                let mut c = b.to_vec();
                c[i] ^= mask;
                let res = verify_index(Bytes::from(c)).await;
                // Version 2 flipped to 3 is a valid index too.
                if padding.iter().any(|p| p.contains(&i)) || (i == 4 && mask == 1) {
                    continue;
                }
                assert!(res.is_err(), "flipped byte {i} with {mask:#x}");
            }
        }
    });
}

#[test]
fn random_damage_never_panics() {
    let series: Vec<(Labels, Vec<ChunkMeta>)> = (0..50)
        .map(|i| {
            (
                l(&[
                    ("__name__", "m"),
                    ("i", &format!("{i:03}")),
                    ("p", &format!("{}", i % 7)),
                ]),
                vec![cm(i, i + 10, i as u64 * 100)],
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &series);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    rt().block_on(async {
        for _ in 0..2000 {
            let mut c = b.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() % c.len() as u64) as usize;
                c[i] = next() as u8;
            }
            let _ = verify_index(Bytes::from(c.clone())).await;
            if let Ok(r) = IndexReader::open(Bytes::from(c)).await {
                for sref in [0, 1, 2, 3, 100, 1000, u32::MAX] {
                    let _ = r.series(sref).await;
                }
                let m = Matcher::new(MatchType::Regex, "i", "0.*").unwrap();
                let _ = r.postings_for_matchers(&[m]).await;
            }
        }
    });
}

#[test]
fn bad_header_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &golden_series());
    rt().block_on(async {
        let mut c = b.to_vec();
        c[0] = 0;
        assert!(matches!(
            IndexReader::open(Bytes::from(c)).await,
            Err(Error::Corrupted { .. })
        ));
        let mut c = b.to_vec();
        c[4] = 1;
        assert!(matches!(
            IndexReader::open(Bytes::from(c)).await,
            Err(Error::Unsupported { .. })
        ));
        let mut c = b.to_vec();
        c[4] = 3;
        let r = IndexReader::open(Bytes::from(c)).await.unwrap();
        assert_eq!(r.version(), 3);
        assert_eq!(r.all_postings().await.unwrap(), vec![2, 3]);
        let mut c = b.to_vec();
        c[4] = 4;
        assert!(IndexReader::open(Bytes::from(c)).await.is_err());
    });
}

#[test]
fn series_refs_outside_the_section_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b) = write_index(dir.path(), &golden_series());
    rt().block_on(async {
        let r = IndexReader::open(b).await.unwrap();
        for sref in [0, 1, 5, 13, 1000, u32::MAX] {
            assert!(r.series(sref).await.is_err(), "ref {sref}");
        }
        assert!(r.series(2).await.is_ok());
    });
}

// ---------- compatibility with Prometheus' own tools ----------

fn promtool(args: &[&str], dir: &Path) -> String {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool cannot run ({e}): tests/run installs it (Debian package `prometheus`)")
        });
    assert!(
        out.status.success(),
        "promtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Reads a block written by promtool, rewrites its index with [`IndexWriter`], and checks that
/// promtool reads the rewritten block identically. Fails when promtool is not installed.
#[test]
fn promtool_reads_our_index_and_we_read_its() {
    let dir = tempfile::tempdir().unwrap();
    let mut om = String::from("# TYPE req counter\n");
    for t in (0..3600).step_by(60) {
        for (job, n) in [("api", 3), ("wéb", 2), ("db", 1)] {
            for i in 0..n {
                om.push_str(&format!(
                    "req{{job=\"{job}\",instance=\"i{i}\",path=\"/日/{}\"}} {} {}\n",
                    i % 2,
                    t * (i + 1),
                    1_700_000_000 + t
                ));
            }
        }
    }
    om.push_str("# EOF\n");
    std::fs::write(dir.path().join("in.om"), om).unwrap();
    let args = ["tsdb", "create-blocks-from", "openmetrics", "in.om", "orig"];
    promtool(&args, dir.path());
    let orig = dir.path().join("orig");
    let block = std::fs::read_dir(&orig)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("index").exists())
        .unwrap();
    let ulid = block.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::create_dir_all(orig.join("wal")).unwrap();

    let ours = dir.path().join("ours");
    copy_dir(&block, &ours.join(&ulid));
    std::fs::create_dir_all(ours.join("wal")).unwrap();
    rt().block_on(async {
        let st = verify_index(LocalFile::open(block.join("index")).unwrap())
            .await
            .unwrap();
        assert_eq!(st.series, 6);
        let r = IndexReader::open(LocalFile::open(block.join("index")).unwrap())
            .await
            .unwrap();
        assert_eq!(r.label_names(), vec!["__name__", "instance", "job", "path"]);
        let m = Matcher::new(MatchType::Regex, "job", "wéb|db").unwrap();
        assert_eq!(r.postings_for_matchers(&[m]).await.unwrap().len(), 3);
        let path = ours.join(&ulid).join("index");
        let mut w = IndexWriter::create(&path, r.symbols().iter()).unwrap();
        for sref in r.all_postings().await.unwrap() {
            let s = r.series(sref).await.unwrap();
            w.add_series(&s.labels, &s.chunks).unwrap();
        }
        w.finish().unwrap();
        verify_index(LocalFile::open(&path).unwrap()).await.unwrap();
    });
    // Ties in analyze's rankings come out in map order: compare the sorted lines.
    let analyze = |d: &str| {
        let out = promtool(&["tsdb", "analyze", d, &ulid], dir.path());
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(analyze("orig"), analyze("ours"));
    let dump = |d: &str| promtool(&["tsdb", "dump", d], dir.path());
    let (a, b) = (dump("orig"), dump("ours"));
    assert!(a.lines().count() > 100);
    assert_eq!(a, b);
}
