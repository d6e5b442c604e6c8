//! A conformance suite any `ObjectStore` can be run through (in the spirit of object_store's
//! `integration` module): the operations strata relies on, then the Thanos block helpers
//! (`pkg/block/block.go`) end to end. Every check panics with a message naming what failed, so call
//! it from a test: `strata_objstore::conformance::conformance(store).await`.
//!
//! Objects are written under a unique `conformance-<ulid>/` prefix and removed afterwards; the
//! block checks use fresh ULIDs at the top level and only assert about their own blocks, so a
//! non-empty bucket is fine.

use std::fmt::Debug;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    WriteMultipart,
};
use strata_tsdb::meta::{BlockMeta, DeletionMark, NoCompactMark, ThanosMeta};
use strata_tsdb::range::RangeSource;
use ulid::Ulid;

use crate::{InstrumentedStore, ObjectRange, block};

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what}: {e:?}"),
    }
}

fn is_not_found<T: Debug>(r: object_store::Result<T>) -> bool {
    matches!(r, Err(object_store::Error::NotFound { .. }))
}

/// Deterministic test bytes: `n` bytes of a counting pattern.
fn pattern(n: usize) -> Bytes {
    (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

async fn get_bytes(store: &dyn ObjectStore, p: &Path) -> Bytes {
    let r = ok(store.get(p).await, &format!("get {p}"));
    ok(r.bytes().await, &format!("read body of {p}"))
}

/// Run every check against `store`.
pub async fn conformance(store: Arc<dyn ObjectStore>) {
    let root = Path::from(format!("conformance-{}", Ulid::generate()));
    let s = &store;
    put_get_head_delete(s, &root).await;
    ranged_gets(s, &root).await;
    listing(s, &root).await;
    overwrite_and_not_found(s, &root).await;
    conditional_create(s, &root).await;
    multipart(s, &root).await;
    cleanup(s, &root).await;
    blocks(Arc::clone(&store)).await;
}

/// PUT, GET, HEAD, DELETE of one object.
pub async fn put_get_head_delete(s: &Arc<dyn ObjectStore>, root: &Path) {
    let p = root.clone().join("basic.txt");
    ok(s.put(&p, PutPayload::from_static(b"hello")).await, "put");
    assert_eq!(
        &get_bytes(s, &p).await[..],
        b"hello",
        "get returns what was put"
    );
    let meta = ok(s.head(&p).await, "head");
    assert_eq!(meta.size, 5, "head size");
    assert_eq!(meta.location, p, "head location");
    ok(s.delete(&p).await, "delete");
    assert!(
        is_not_found(s.head(&p).await),
        "head after delete is NotFound"
    );
}

/// Ranged GETs, incl. ranges at the end, suffix and offset ranges, and `get_ranges`.
pub async fn ranged_gets(s: &Arc<dyn ObjectStore>, root: &Path) {
    let p = root.clone().join("ranged.bin");
    let data = pattern(1000);
    ok(
        s.put(&p, PutPayload::from(data.clone())).await,
        "put ranged",
    );
    let got = ok(s.get_range(&p, 10..20).await, "get_range 10..20");
    assert_eq!(got, data.slice(10..20), "range in the middle");
    let got = ok(s.get_range(&p, 990..1000).await, "get_range at end");
    assert_eq!(got, data.slice(990..1000), "range at the end");
    let got = ok(s.get_range(&p, 0..1).await, "get_range first byte");
    assert_eq!(got, data.slice(0..1), "first byte");
    let suffix = GetOptions::new().with_range(Some(GetRange::Suffix(4)));
    let r = ok(s.get_opts(&p, suffix).await, "suffix range");
    assert_eq!(r.range, 996..1000, "suffix range bounds");
    assert_eq!(ok(r.bytes().await, "suffix body"), data.slice(996..1000));
    let offset = GetOptions::new().with_range(Some(GetRange::Offset(995)));
    let r = ok(s.get_opts(&p, offset).await, "offset range");
    assert_eq!(ok(r.bytes().await, "offset body"), data.slice(995..1000));
    let ranges = [0..10, 500..510, 990..1000, 5..15];
    let got = ok(s.get_ranges(&p, &ranges).await, "get_ranges");
    assert_eq!(got.len(), ranges.len(), "one result per range");
    for (r, b) in ranges.iter().zip(&got) {
        assert_eq!(
            *b,
            data.slice(r.start as usize..r.end as usize),
            "get_ranges {r:?}"
        );
    }
    // The tsdb readers' view: ObjectRange over an instrumented store counts its GETs.
    let inst = InstrumentedStore::new(Arc::clone(s));
    let stats = Arc::clone(inst.stats());
    let src = ObjectRange::new(Arc::new(inst), p.clone(), 1000);
    assert_eq!(
        ok(src.read(100..200).await, "ObjectRange read"),
        data.slice(100..200)
    );
    assert!(
        src.read(900..1001).await.is_err(),
        "ObjectRange rejects out of bounds"
    );
    let snap = stats.snapshot();
    assert_eq!(
        (snap.get_range, snap.bytes_read),
        (1, 100),
        "ObjectRange GET accounting"
    );
    let src = ok(
        ObjectRange::open(Arc::clone(s), p.clone()).await,
        "ObjectRange::open",
    );
    assert_eq!(src.size(), 1000, "ObjectRange size from HEAD");
}

/// `list` with a prefix and `list_with_delimiter`.
pub async fn listing(s: &Arc<dyn ObjectStore>, root: &Path) {
    let dir = root.clone().join("list");
    for name in ["a/1", "a/2", "a/b/3", "ab/4"] {
        let p = Path::from(format!("{dir}/{name}"));
        ok(
            s.put(&p, PutPayload::from_static(b"x")).await,
            "put for listing",
        );
    }
    let a = dir.clone().join("a");
    let mut all: Vec<String> = ok(s.list(Some(&a)).try_collect::<Vec<_>>().await, "list")
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    all.sort();
    let want: Vec<String> = ["a/1", "a/2", "a/b/3"]
        .iter()
        .map(|n| format!("{dir}/{n}"))
        .collect();
    assert_eq!(all, want, "list(prefix) is recursive and segment-aligned");
    let l = ok(s.list_with_delimiter(Some(&a)).await, "list_with_delimiter");
    let mut objects: Vec<String> = l.objects.iter().map(|m| m.location.to_string()).collect();
    objects.sort();
    assert_eq!(
        objects,
        vec![format!("{dir}/a/1"), format!("{dir}/a/2")],
        "delimiter objects"
    );
    let prefixes: Vec<String> = l.common_prefixes.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        prefixes,
        vec![format!("{dir}/a/b")],
        "delimiter common prefixes"
    );
    let top = ok(
        s.list_with_delimiter(Some(&dir)).await,
        "list_with_delimiter top",
    );
    let mut prefixes: Vec<String> = top.common_prefixes.iter().map(|p| p.to_string()).collect();
    prefixes.sort();
    assert_eq!(
        prefixes,
        vec![format!("{dir}/a"), format!("{dir}/ab")],
        "top-level directories"
    );
    let none = ok(
        s.list(Some(&dir.clone().join("nothing-here")))
            .try_collect::<Vec<_>>()
            .await,
        "list empty prefix",
    );
    assert!(
        none.is_empty(),
        "listing a missing prefix is empty, not an error"
    );
}

/// Overwrites win; missing objects give NotFound on every read path.
pub async fn overwrite_and_not_found(s: &Arc<dyn ObjectStore>, root: &Path) {
    let p = root.clone().join("overwrite");
    ok(
        s.put(&p, PutPayload::from_static(b"first")).await,
        "put first",
    );
    ok(
        s.put(&p, PutPayload::from_static(b"second!")).await,
        "put second",
    );
    assert_eq!(&get_bytes(s, &p).await[..], b"second!", "overwrite wins");
    assert_eq!(ok(s.head(&p).await, "head overwritten").size, 7);
    let missing = root.clone().join("missing");
    assert!(
        is_not_found(s.get(&missing).await),
        "get missing is NotFound"
    );
    assert!(
        is_not_found(s.head(&missing).await),
        "head missing is NotFound"
    );
    assert!(
        is_not_found(s.get_range(&missing, 0..4).await),
        "get_range missing is NotFound"
    );
}

/// `PutMode::Create` succeeds once, then fails with AlreadyExists.
pub async fn conditional_create(s: &Arc<dyn ObjectStore>, root: &Path) {
    let p = root.clone().join("create-once");
    let create = || PutOptions::from(PutMode::Create);
    ok(
        s.put_opts(&p, PutPayload::from_static(b"one"), create())
            .await,
        "conditional create on a new object",
    );
    match s
        .put_opts(&p, PutPayload::from_static(b"two"), create())
        .await
    {
        Err(object_store::Error::AlreadyExists { .. }) => {}
        other => {
            panic!("conformance: create on an existing object: want AlreadyExists, got {other:?}")
        }
    }
    assert_eq!(
        &get_bytes(s, &p).await[..],
        b"one",
        "failed create leaves the object"
    );
}

/// A multipart upload of more than 5 MiB (two parts, the second short).
pub async fn multipart(s: &Arc<dyn ObjectStore>, root: &Path) {
    const PART: usize = 5 * 1024 * 1024;
    let p = root.clone().join("multipart.bin");
    let data = pattern(PART + 100);
    let upload = ok(s.put_multipart(&p).await, "start multipart");
    let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
    for chunk in data.chunks(1 << 20) {
        ok(w.wait_for_capacity(2).await, "multipart capacity");
        w.write(chunk);
    }
    ok(w.finish().await, "finish multipart");
    assert_eq!(
        ok(s.head(&p).await, "head multipart").size,
        data.len() as u64
    );
    let edge = (PART - 10) as u64..(PART + 10) as u64;
    let got = ok(
        s.get_range(&p, edge.clone()).await,
        "range across the part boundary",
    );
    assert_eq!(got, data.slice(edge.start as usize..edge.end as usize));
    assert_eq!(get_bytes(s, &p).await, data, "whole multipart object");
}

async fn cleanup(s: &Arc<dyn ObjectStore>, root: &Path) {
    let all: Vec<Path> = ok(
        s.list(Some(root))
            .map_ok(|m| m.location)
            .try_collect()
            .await,
        "list for cleanup",
    );
    for p in all {
        ok(s.delete(&p).await, "cleanup delete");
    }
    let left = ok(
        s.list(Some(root)).try_collect::<Vec<_>>().await,
        "list after cleanup",
    );
    assert!(left.is_empty(), "cleanup leaves nothing under {root}");
}

fn write_fake_block(parent: &FsPath, id: Ulid, labels: &[(&str, &str)]) -> PathBuf {
    let dir = parent.join(id.to_string());
    ok(std::fs::create_dir_all(dir.join("chunks")), "mkdir block");
    ok(
        std::fs::write(dir.join("chunks/000001"), pattern(3000)),
        "write chunk 1",
    );
    ok(
        std::fs::write(dir.join("chunks/000002"), pattern(1234)),
        "write chunk 2",
    );
    ok(
        std::fs::write(dir.join("index"), pattern(777)),
        "write index",
    );
    ok(
        std::fs::write(
            dir.join("tombstones"),
            [0x01, 0x30, 0xBA, 0x4C, 1, 0, 0, 0, 0],
        ),
        "write tombstones",
    );
    let mut meta = BlockMeta::new_level1(id, 1_000, 7_201_000);
    if !labels.is_empty() {
        meta.thanos = Some(ThanosMeta {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: "test".into(),
            ..Default::default()
        });
    }
    ok(meta.write_to_dir(&dir), "write meta.json");
    dir
}

/// The Thanos block helpers end to end: upload, list (good / partial / corrupted / ignored),
/// ranged reads of the uploaded index, download, markers, delete.
pub async fn blocks(store: Arc<dyn ObjectStore>) {
    let s: &dyn ObjectStore = store.as_ref();
    let tmp = std::env::temp_dir().join(format!("strata-conformance-{}", Ulid::generate()));
    let good = Ulid::generate();
    let dir = write_fake_block(&tmp, good, &[("cluster", "eu1"), ("replica", "a")]);

    // Upload: files listed with sizes, meta.json last and without a size.
    let meta = ok(block::upload_block(s, &dir).await, "upload_block");
    let files = &meta
        .thanos
        .as_ref()
        .map(|t| t.files.clone())
        .unwrap_or_default();
    let listed: Vec<(&str, Option<u64>)> = files
        .iter()
        .map(|f| (f.rel_path.as_str(), f.size_bytes))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("chunks/000001", Some(3000)),
            ("chunks/000002", Some(1234)),
            ("index", Some(777)),
            ("meta.json", None),
            ("tombstones", Some(9)),
        ],
        "thanos.files"
    );
    let remote = ok(
        BlockMeta::from_json(&get_bytes(s, &block::block_path(good, "meta.json")).await),
        "uploaded meta.json parses",
    );
    assert_eq!(remote, meta, "uploaded meta.json is the returned meta");

    // Upload refuses blocks without external labels.
    let unlabeled = Ulid::generate();
    let udir = write_fake_block(&tmp, unlabeled, &[]);
    let e = block::upload_block(s, &udir)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("external labels are required")),
        "upload without thanos labels fails clearly: {e:?}"
    );
    assert!(
        ok(block::list_block_ids(s).await, "list ids")
            .binary_search(&unlabeled)
            .is_err(),
        "a refused block leaves nothing behind"
    );

    // A partial upload, a corrupted meta and a non-block directory.
    let partial = Ulid::generate();
    let corrupted = Ulid::generate();
    ok(
        s.put(
            &block::block_path(partial, "index"),
            PutPayload::from_static(b"idx"),
        )
        .await,
        "put partial",
    );
    ok(
        s.put(
            &block::block_path(corrupted, "meta.json"),
            PutPayload::from_static(b"{"),
        )
        .await,
        "put corrupted",
    );
    ok(
        s.put(
            &Path::from("debug/not-a-block/file"),
            PutPayload::from_static(b"x"),
        )
        .await,
        "put non-block",
    );
    let metas = ok(block::list_block_metas(s).await, "list_block_metas");
    assert_eq!(
        metas.metas.get(&good),
        Some(&meta),
        "good block listed with its meta"
    );
    assert!(metas.partial.contains(&partial), "partial upload detected");
    assert!(
        !metas.metas.contains_key(&partial),
        "partial block has no meta"
    );
    assert!(
        metas
            .corrupted
            .iter()
            .any(|(id, e)| *id == corrupted && e.to_string().contains("meta.json")),
        "corrupted meta detected: {:?}",
        metas.corrupted
    );

    // The tsdb readers' path: ranged reads of the uploaded index.
    let index = ObjectRange::new(Arc::clone(&store), block::block_path(good, "index"), 777);
    assert_eq!(
        ok(index.read(700..777).await, "read index tail"),
        pattern(777).slice(700..777)
    );

    // Download reproduces the directory.
    let down = tmp.join("download").join(good.to_string());
    let got = ok(
        block::download_block(s, good, &down).await,
        "download_block",
    );
    assert_eq!(got, meta, "downloaded meta");
    for rel in ["chunks/000001", "chunks/000002", "index", "tombstones"] {
        let a = ok(std::fs::read(dir.join(rel)), "read original");
        let b = ok(std::fs::read(down.join(rel)), "read downloaded");
        assert_eq!(a, b, "downloaded {rel}");
    }
    assert!(down.join("meta.json").exists(), "meta.json downloaded");

    // Markers.
    let none = ok(
        block::read_marker::<DeletionMark>(s, good).await,
        "read absent marker",
    );
    assert!(none.is_none(), "no deletion mark yet");
    let nc = NoCompactMark {
        id: good,
        version: 1,
        details: "conformance".into(),
        no_compact_time: 1_700_000_000,
        reason: "manual".into(),
    };
    ok(
        block::write_marker(s, good, &nc).await,
        "write no-compact mark",
    );
    let back = ok(
        block::read_marker::<NoCompactMark>(s, good).await,
        "read no-compact mark",
    );
    assert_eq!(back.as_ref(), Some(&nc), "no-compact mark round trip");
    let first = ok(
        block::mark_for_deletion(s, good, "first").await,
        "mark_for_deletion",
    );
    assert_eq!(
        (first.id, first.version, first.details.as_str()),
        (good, 1, "first")
    );
    assert!(
        first.deletion_time > 1_600_000_000,
        "deletion_time is unix seconds"
    );
    let again = ok(
        block::mark_for_deletion(s, good, "second").await,
        "mark again",
    );
    assert_eq!(again, first, "marking twice keeps the first mark");
    let stored = ok(
        block::read_marker::<DeletionMark>(s, good).await,
        "read deletion mark",
    );
    assert_eq!(stored.as_ref(), Some(&first), "deletion mark stored");
    // Download skips markers.
    let down2 = tmp.join("download2").join(good.to_string());
    ok(
        block::download_block(s, good, &down2).await,
        "download marked block",
    );
    assert!(
        !down2.join("deletion-mark.json").exists(),
        "markers are not downloaded"
    );

    // Delete: everything of the block is gone, other blocks are untouched.
    for id in [good, partial, corrupted] {
        ok(block::delete_block(s, id).await, "delete_block");
    }
    ok(
        block::delete_block(s, good).await,
        "delete_block twice is fine",
    );
    let left = ok(
        s.list(Some(&block::block_prefix(good)))
            .try_collect::<Vec<_>>()
            .await,
        "list deleted block",
    );
    assert!(left.is_empty(), "deleted block leaves no objects: {left:?}");
    let metas = ok(block::list_block_metas(s).await, "list after delete");
    for id in [good, partial, corrupted] {
        assert!(
            !metas.metas.contains_key(&id) && !metas.partial.contains(&id),
            "block {id} gone after delete"
        );
    }
    ok(
        s.delete(&Path::from("debug/not-a-block/file")).await,
        "cleanup non-block",
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
