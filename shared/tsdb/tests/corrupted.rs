//! Corrupted inputs give errors, never panics: every decoder runs over systematic mutations of
//! a real block written by strata (truncation at every length, each byte flipped, bad magic,
//! references past the end) and over the committed corpus in `tests/corpus/`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use bytes::Bytes;
use strata_tsdb::aggr::AggrChunk;
use strata_tsdb::block::BlockWriter;
use strata_tsdb::chunkenc::decode_xor;
use strata_tsdb::chunks::ChunkReader;
use strata_tsdb::index::{IndexReader, verify_index};
use strata_tsdb::labels::Labels;

/// A small block: index and one chunk segment, as bytes.
async fn small_block() -> (Bytes, Bytes, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::create(dir.path(), 0, 7_200_000).unwrap();
    for i in 0..6 {
        let labels = Labels::from_pairs([
            ("__name__", "m".to_string()),
            ("i", i.to_string()),
            ("job", if i % 2 == 0 { "a" } else { "b" }.to_string()),
        ]);
        let samples: Vec<(i64, f64)> = (0..150).map(|j| (j * 15_000 + i, j as f64 * 0.5)).collect();
        w.add_series(labels, &samples).unwrap();
    }
    let meta = w.finish(None).unwrap();
    let b = dir.path().join(meta.ulid.to_string());
    let index = Bytes::from(std::fs::read(b.join("index")).unwrap());
    let chunks = Bytes::from(std::fs::read(b.join("chunks/000001")).unwrap());
    let r = IndexReader::open(index.clone()).await.unwrap();
    let mut refs = Vec::new();
    for s in r.all_postings().await.unwrap() {
        refs.extend(
            r.series(s)
                .await
                .unwrap()
                .chunks
                .iter()
                .map(|c| c.chunk_ref),
        );
    }
    (index, chunks, refs)
}

/// Open an index, walk it, and read every chunk it points at from `chunks`; decode them.
async fn exercise(index: Bytes, chunks: Bytes) -> Result<usize, strata_tsdb::Error> {
    verify_index(index.clone()).await?;
    let r = IndexReader::open(index).await?;
    let c = ChunkReader::new(vec![chunks]).await?;
    let mut samples = 0;
    for s in r.all_postings().await? {
        for m in r.series(s).await?.chunks {
            samples += decode_xor(&c.chunk(m.chunk_ref).await?.data)?.len();
        }
    }
    Ok(samples)
}

fn mutations(good: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    for n in 0..good.len() {
        out.push(good.slice(..n));
    }
    for i in 0..good.len() {
        let mut b = good.to_vec();
        b[i] ^= 0x5a;
        out.push(Bytes::from(b));
    }
    let mut b = good.to_vec();
    b[0] = 0;
    out.push(Bytes::from(b));
    out
}

#[tokio::test]
async fn mutated_indexes_and_segments_error_cleanly() {
    let (index, chunks, refs) = small_block().await;
    let total = exercise(index.clone(), chunks.clone()).await.unwrap();
    assert_eq!(total, 6 * 150);

    let mut index_errors = 0;
    for bad in mutations(&index) {
        if exercise(bad, chunks.clone()).await.is_err() {
            index_errors += 1;
        }
    }
    // Every truncation and almost every flip must be detected (CRCs cover all but padding).
    assert!(
        index_errors >= index.len() * 2 - 64,
        "{index_errors} of {}",
        index.len() * 2
    );

    let mut chunk_errors = 0;
    for bad in mutations(&chunks) {
        if exercise(index.clone(), bad).await.is_err() {
            chunk_errors += 1;
        }
    }
    assert!(
        chunk_errors >= chunks.len() * 2 - 8,
        "{chunk_errors} of {}",
        chunks.len() * 2
    );

    // Chunk references past the end of a segment.
    let c = ChunkReader::new(vec![chunks.clone()]).await.unwrap();
    for r in [chunks.len() as u64, u64::from(u32::MAX), (1u64 << 32) | 8] {
        assert!(c.chunk(r).await.is_err(), "ref {r:#x}");
    }
    assert!(refs.iter().all(|r| *r < chunks.len() as u64));

    // A series ref past the end of the index.
    let r = IndexReader::open(index.clone()).await.unwrap();
    assert!(r.series(u32::MAX).await.is_err());
    assert!(r.series((index.len() / 16) as u32 + 1).await.is_err());
}

fn corpus(target: &str) -> Vec<(String, Bytes)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v.into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.display().to_string(),
                Bytes::from(std::fs::read(&p).unwrap()),
            )
        })
        .collect()
}

#[tokio::test]
async fn committed_corpus_never_panics() {
    let (good_index, good_chunks, _) = small_block().await;
    let mut n = 0;
    for (name, data) in corpus("xor") {
        let _ = decode_xor(&data);
        let _ = AggrChunk::parse(&data);
        n += 1;
        eprintln!("xor corpus: {name}");
    }
    for (name, data) in corpus("index") {
        let _ = exercise(data, good_chunks.clone()).await;
        n += 1;
        eprintln!("index corpus: {name}");
    }
    for (name, data) in corpus("chunks") {
        let _ = exercise(good_index.clone(), data.clone()).await;
        // As the chunk_segment fuzz target does: read a chunk at every small offset.
        if let Ok(r) = ChunkReader::new(vec![data.clone()]).await {
            for off in 0..data.len().min(64) as u64 {
                if let Ok(c) = r.chunk(off).await {
                    let _ = decode_xor(&c.data);
                }
            }
        }
        n += 1;
        eprintln!("chunks corpus: {name}");
    }
    eprintln!("{n} corpus files decoded without a panic");
}
