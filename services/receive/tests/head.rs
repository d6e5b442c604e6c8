//! The head and its WAL: read-back, all-or-nothing appends, restart, torn and corrupt WAL
//! tails, block cutting with truncation, and a model-based property test.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns read the head back

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use strata_receive::Error;
use strata_receive::head::{Head, HeadOptions, SyncPolicy};
use strata_tsdb::block::LocalBlock;
use strata_tsdb::chunkenc::decode_xor;
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::{MatchType, Matcher};

const H: i64 = 3_600_000;

/// Series → samples as (t, value bits), so NaNs compare.
type Model = BTreeMap<Labels, Vec<(i64, u64)>>;
/// An append batch.
type Batch = Vec<(Labels, Vec<(i64, f64)>)>;

fn opts() -> HeadOptions {
    HeadOptions {
        sync: SyncPolicy::Always,
        ..HeadOptions::default()
    }
}

fn lbl(name: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", name.to_string()), ("i", i.to_string())])
}

fn read_all(head: &Head) -> Model {
    let mut out = Model::new();
    let all = head.series(&[], i64::MIN, i64::MAX);
    assert!(all.windows(2).all(|w| w[0].labels < w[1].labels), "sorted");
    for s in all {
        let mut v = Vec::new();
        for c in &s.chunks {
            let samples = decode_xor(&c.data).unwrap();
            assert_eq!(samples.first().unwrap().0, c.min_time);
            assert_eq!(samples.last().unwrap().0, c.max_time);
            v.extend(samples.into_iter().map(|(t, v)| (t, v.to_bits())));
        }
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        out.insert(s.labels, v);
    }
    out
}

fn to_model(batch: &[(Labels, Vec<(i64, f64)>)], model: &mut Model) {
    for (l, ss) in batch {
        let e = model.entry(l.clone()).or_default();
        for &(t, v) in ss {
            if e.last().is_some_and(|&(lt, _)| lt == t) {
                continue; // an exact duplicate
            }
            e.push((t, v.to_bits()));
        }
    }
}

#[test]
fn append_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let head = Head::open(dir.path(), opts()).unwrap();
    assert_eq!(
        (head.num_series(), head.min_time(), head.max_time()),
        (0, None, None)
    );
    let a: Vec<(i64, f64)> = (0..300).map(|i| (i * 15_000, i as f64 * 0.5)).collect();
    let b = vec![(7, f64::from_bits(0x7ff0_0000_0000_0002)), (8, -1.0)];
    let batch = vec![(lbl("up", 2), a.clone()), (lbl("up", 1), b.clone())];
    let st = head.append(&batch).unwrap();
    assert_eq!((st.samples, st.new_series, st.duplicates), (302, 2, 0));
    let mut model = Model::new();
    to_model(&batch, &mut model);
    assert_eq!(read_all(&head), model);
    assert_eq!(head.num_series(), 2);
    assert_eq!(head.min_time(), Some(0));
    assert_eq!(head.max_time(), Some(299 * 15_000));

    // 300 samples: two closed chunks of 120 and the open one.
    let s = head.series(&[Matcher::equal("i", "2")], i64::MIN, i64::MAX);
    assert_eq!(s.len(), 1);
    let sizes: Vec<usize> = s[0]
        .chunks
        .iter()
        .map(|c| decode_xor(&c.data).unwrap().len())
        .collect();
    assert_eq!(sizes, vec![120, 120, 60]);
    // A time range selects only overlapping chunks; matchers filter series.
    let s = head.series(&[], 120 * 15_000, 130 * 15_000);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].chunks.len(), 1);
    assert_eq!(s[0].chunks[0].min_time, 120 * 15_000);
    let re = Matcher::new(MatchType::Regex, "i", "1|3").unwrap();
    assert_eq!(
        head.series(&[re], i64::MIN, i64::MAX)[0].labels,
        lbl("up", 1)
    );
    assert!(
        head.series(&[Matcher::equal("__name__", "x")], 0, i64::MAX)
            .is_empty()
    );
}

#[test]
fn out_of_order_rejects_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let head = Head::open(dir.path(), opts()).unwrap();
    head.append(&[(lbl("a", 1), vec![(100, 1.0)])]).unwrap();
    let before = read_all(&head);

    let cases: Vec<(Batch, i64)> = vec![
        // A new series first, then an old timestamp for an existing one.
        (
            vec![
                (lbl("new", 1), vec![(1, 1.0)]),
                (lbl("a", 1), vec![(101, 2.0), (50, 1.0)]),
            ],
            50,
        ),
        // Same timestamp, other value: a duplicate that is rejected.
        (
            vec![
                (lbl("new", 2), vec![(5, 1.0)]),
                (lbl("a", 1), vec![(100, 2.0)]),
            ],
            100,
        ),
        // Out of order inside one batch, across two entries of the same series.
        (
            vec![
                (lbl("new", 3), vec![(5, 1.0), (6, 1.0)]),
                (lbl("new", 3), vec![(6, 0.0)]),
            ],
            6,
        ),
    ];
    for (batch, bad_t) in cases {
        match head.append(&batch) {
            Err(Error::OutOfOrder { t, .. }) => assert_eq!(t, bad_t),
            other => panic!("expected OutOfOrder, got {other:?}"),
        }
        assert_eq!(read_all(&head), before, "nothing of the batch applied");
    }
    // Same timestamp and same value: accepted silently, stored once.
    let st = head
        .append(&[(lbl("a", 1), vec![(100, 1.0), (101, 3.0)])])
        .unwrap();
    assert_eq!((st.samples, st.duplicates), (1, 1));
    drop(head);
    let head = Head::open(dir.path(), opts()).unwrap();
    let mut want = before;
    want.insert(
        lbl("a", 1),
        vec![(100, 1f64.to_bits()), (101, 3f64.to_bits())],
    );
    assert_eq!(
        read_all(&head),
        want,
        "rejected batches are not in the WAL either"
    );
}

#[test]
fn restart_restores_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    {
        let head = Head::open(
            dir.path(),
            HeadOptions {
                sync: SyncPolicy::Interval(Duration::from_secs(3600)),
                segment_size: 4096, // many segments
                samples_per_chunk: 7,
                ..HeadOptions::default()
            },
        )
        .unwrap();
        for round in 0..50i64 {
            let batch: Vec<_> = (0..(round as usize % 5 + 1))
                .map(|i| {
                    let v = if round % 7 == 3 {
                        f64::NAN
                    } else {
                        round as f64 / 3.0
                    };
                    (lbl("m", i), vec![(round * 10, v), (round * 10 + 1, -v)])
                })
                .collect();
            head.append(&batch).unwrap();
            to_model(&batch, &mut model);
        }
        assert_eq!(read_all(&head), model);
    }
    let head = Head::open(dir.path(), opts()).unwrap();
    assert_eq!(read_all(&head), model);
    assert_eq!(head.max_time(), Some(491));
    // Appending continues with fresh series refs that do not collide with replayed ones.
    head.append(&[
        (lbl("late", 0), vec![(1000, 1.0)]),
        (lbl("m", 0), vec![(1000, 2.0)]),
    ])
    .unwrap();
    to_model(
        &[
            (lbl("late", 0), vec![(1000, 1.0)]),
            (lbl("m", 0), vec![(1000, 2.0)]),
        ],
        &mut model,
    );
    drop(head);
    assert_eq!(read_all(&Head::open(dir.path(), opts()).unwrap()), model);
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn torn_or_corrupt_tail_keeps_every_complete_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let (seg, last_start) = {
        let head = Head::open(dir.path(), opts()).unwrap();
        for r in 0..5i64 {
            let batch = vec![(lbl("x", r as usize % 2), vec![(r, r as f64)])];
            head.append(&batch).unwrap();
            to_model(&batch, &mut model);
        }
        let seg = segments(dir.path()).pop().unwrap();
        let start = std::fs::metadata(&seg).unwrap().len() as usize;
        // The last batch creates a series and adds samples: it must vanish as a whole.
        head.append(&[
            (lbl("y", 0), vec![(10, 1.0), (11, 2.0)]),
            (lbl("x", 0), vec![(12, 3.0)]),
        ])
        .unwrap();
        (seg, start)
    };
    let full = std::fs::read(&seg).unwrap();
    let name = seg.file_name().unwrap().to_owned();
    let check = |bytes: &[u8], what: &str| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(&name), bytes).unwrap();
        let head = Head::open(d.path(), opts()).unwrap();
        assert_eq!(read_all(&head), model, "{what}");
        // The log is usable afterwards: a new batch survives another restart.
        head.append(&[(lbl("z", 0), vec![(100, 1.0)])]).unwrap();
        drop(head);
        let head = Head::open(d.path(), opts()).unwrap();
        let mut want = model.clone();
        want.insert(lbl("z", 0), vec![(100, 1f64.to_bits())]);
        assert_eq!(read_all(&head), want, "{what}, after a new append");
    };
    for cut in last_start..full.len() {
        check(&full[..cut], &format!("truncated at {cut}"));
    }
    for pos in last_start..full.len() {
        let mut b = full.clone();
        b[pos] ^= 0x5a;
        check(&b, &format!("byte {pos} flipped"));
    }
    // Zeros after the last frame (a file extended but not written) are a torn tail too.
    let mut b = full[..last_start].to_vec();
    b.extend([0u8; 100]);
    check(&b, "zero padding");
}

#[test]
fn garbage_wal_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in [0usize, 1, 7, 8, 9, 64, 1000, 70_000] {
        let d = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(d.path().join("00000000"), &bytes).unwrap();
        std::fs::write(d.path().join("checkpoint.00000003"), &bytes[..len / 2]).unwrap();
        std::fs::write(d.path().join("00000004"), &bytes).unwrap();
        let head = Head::open(d.path(), opts()).unwrap();
        assert_eq!(head.num_series(), 0);
        head.append(&[(lbl("ok", 0), vec![(1, 1.0)])]).unwrap();
        drop(head);
        assert_eq!(Head::open(d.path(), opts()).unwrap().num_series(), 1);
    }
}

#[tokio::test]
async fn cut_block_writes_the_range_and_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = tempfile::tempdir().unwrap();
    let head = Head::open(dir.path(), opts()).unwrap();
    let mut model = Model::new();
    // Series 0 only before 2h, series 1 across, series 2 only after.
    let spans = [(0, 2 * H), (H, 3 * H), (2 * H, 3 * H)];
    for step in 0..(3 * H / 60_000) {
        let t = step * 60_000;
        let batch: Vec<_> = spans
            .iter()
            .enumerate()
            .filter(|(_, (a, b))| t >= *a && t < *b)
            .map(|(i, _)| (lbl("c", i), vec![(t, (t / 1000) as f64 + i as f64)]))
            .collect();
        head.append(&batch).unwrap();
        to_model(&batch, &mut model);
    }
    assert!(matches!(
        head.cut_block(blocks.path(), H, 2 * H),
        Err(Error::InvalidCutRange { min_time: 0, .. })
    ));
    assert!(head.cut_block(blocks.path(), -2 * H, 0).unwrap().is_none());
    assert_eq!(read_all(&head), model, "nothing cut, nothing dropped");
    assert_eq!(head.min_valid_time(), i64::MIN);
    let path = head.cut_block(blocks.path(), 0, 2 * H).unwrap().unwrap();
    let block = LocalBlock::open(&path).await.unwrap();
    assert_eq!((block.meta.min_time, block.meta.max_time), (0, 2 * H));
    let got: Model = block
        .read_all()
        .await
        .unwrap()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect();
    let (old, new): (Model, Model) = {
        let split = |keep: &dyn Fn(i64) -> bool| -> Model {
            model
                .iter()
                .map(|(l, s)| {
                    (
                        l.clone(),
                        s.iter()
                            .copied()
                            .filter(|&(t, _)| keep(t))
                            .collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, s)| !s.is_empty())
                .collect()
        };
        (split(&|t| t < 2 * H), split(&|t| t >= 2 * H))
    };
    assert_eq!(got, old);
    assert_eq!(read_all(&head), new);
    assert_eq!(
        head.num_series(),
        2,
        "the series with only old samples is gone"
    );
    assert_eq!(head.min_time(), Some(2 * H));
    assert!(matches!(
        head.append(&[(lbl("c", 9), vec![(2 * H - 1, 1.0)])]),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(
        segments(dir.path()).len() <= 1,
        "old segments were checkpointed away"
    );
    head.append(&[(lbl("c", 2), vec![(3 * H, 1.0)])]).unwrap();
    let mut new = new;
    new.get_mut(&lbl("c", 2))
        .unwrap()
        .push((3 * H, 1f64.to_bits()));
    drop(head);
    let head = Head::open(dir.path(), opts()).unwrap();
    assert_eq!(
        read_all(&head),
        new,
        "cut samples stay gone after a restart"
    );
    assert_eq!(head.min_valid_time(), 2 * H);
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(usize, Vec<(i64, f64)>)>),
    Truncate(i64),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let sample = (
        0i64..40,
        prop_oneof![Just(0.5f64), Just(f64::NAN), -5.0f64..5.0],
    );
    let entry = (0usize..5, prop::collection::vec(sample, 0..6)).prop_map(|(s, mut v)| {
        // Mostly ordered timestamps, sometimes not, so both outcomes occur.
        if s % 2 == 0 {
            v.sort_by_key(|x| x.0);
        }
        (s, v)
    });
    prop_oneof![
        8 => prop::collection::vec(entry, 1..4).prop_map(Op::Append),
        1 => (0i64..40).prop_map(Op::Truncate),
        1 => Just(Op::Reopen),
    ]
}

/// The model's verdict on a batch: Some(new model) if accepted.
fn model_append(
    model: &Model,
    min_valid: i64,
    batch: &[(Labels, Vec<(i64, f64)>)],
) -> Option<Model> {
    let mut m = model.clone();
    for (l, ss) in batch {
        for &(t, v) in ss {
            let e = m.entry(l.clone()).or_default();
            if t < min_valid {
                return None;
            }
            match e.last() {
                Some(&(lt, lv)) if t == lt && v.to_bits() == lv => {}
                Some(&(lt, _)) if t <= lt => return None,
                _ => e.push((t, v.to_bits())),
            }
        }
    }
    m.retain(|_, v| !v.is_empty());
    Some(m)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn head_matches_a_model(ops in prop::collection::vec(op(), 1..25), per_chunk in 1usize..5) {
        let dir = tempfile::tempdir().unwrap();
        let o = HeadOptions { samples_per_chunk: per_chunk, segment_size: 256, ..opts() };
        let mut head = Head::open(dir.path(), o).unwrap();
        let mut model = Model::new();
        let mut min_valid = i64::MIN;
        let mut t_offset = 0;
        for op in ops {
            match op {
                Op::Append(entries) => {
                    let batch: Batch = entries
                        .into_iter()
                        .map(|(s, v)| (lbl("p", s), v.into_iter().map(|(t, v)| (t + t_offset, v)).collect()))
                        .collect();
                    let want = model_append(&model, min_valid, &batch);
                    let got = head.append(&batch);
                    prop_assert_eq!(got.is_ok(), want.is_some(), "{:?}", got);
                    if let Some(m) = want {
                        model = m;
                    }
                    t_offset += 10;
                }
                Op::Truncate(t) => {
                    let t = t + t_offset - 20;
                    head.truncate(t).unwrap();
                    min_valid = min_valid.max(t);
                    for v in model.values_mut() {
                        v.retain(|&(st, _)| st >= t);
                    }
                    model.retain(|_, v| !v.is_empty());
                }
                Op::Reopen => {
                    drop(head);
                    head = Head::open(dir.path(), o).unwrap();
                }
            }
            prop_assert_eq!(&read_all(&head), &model);
        }
        drop(head);
        prop_assert_eq!(&read_all(&Head::open(dir.path(), o).unwrap()), &model);
    }
}
