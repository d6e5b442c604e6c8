//! Upload order is what makes a half-finished upload harmless: chunks, then index, then meta.json
//! last (Thanos' `block.Upload`). Failing each step with `FaultyStore` shows what a crash at that
//! point leaves behind; a healed store then uploads, lists and downloads the block intact.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use strata_objstore::fault::Op;
use strata_objstore::{FaultyStore, download_block, list_block_metas, upload_block};
use strata_tsdb::block::{BlockWriter, LocalBlock};
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::ThanosMeta;
use ulid::Ulid;

fn write_block(dir: &std::path::Path) -> Ulid {
    let mut w = BlockWriter::create(dir, 0, 7_200_000).unwrap();
    for i in 0..20 {
        let samples: Vec<(i64, f64)> = (0..300).map(|j| (j * 15_000 + 1, (i * j) as f64)).collect();
        let labels = Labels::from_pairs([("__name__", "up".to_string()), ("i", format!("{i:02}"))]);
        w.add_series(labels, &samples).unwrap();
    }
    let thanos = ThanosMeta {
        labels: BTreeMap::from([("cluster".to_string(), "test".to_string())]),
        source: "test".to_string(),
        ..Default::default()
    };
    w.finish(Some(thanos)).unwrap().ulid
}

async fn objects(store: &dyn ObjectStore, id: Ulid) -> Vec<String> {
    let prefix = object_store::path::Path::from(id.to_string());
    let mut v: Vec<String> = store
        .list(Some(&prefix))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    v.sort();
    v
}

#[tokio::test]
async fn a_failed_step_never_leaves_a_visible_block() {
    let tmp = tempfile::tempdir().unwrap();
    let id = write_block(tmp.path());
    let dir = tmp.path().join(id.to_string());
    let faulty = FaultyStore::new(Arc::new(InMemory::new()));
    let store: Arc<dyn ObjectStore> = Arc::new(faulty.clone());

    // Crash before anything lands: nothing visible.
    faulty.fail_when(|op, p| op == Op::Put && p.as_ref().contains("/chunks/"));
    assert!(upload_block(store.as_ref(), &dir).await.is_err());
    assert!(objects(store.as_ref(), id).await.is_empty());

    // Crash at the index: chunks are there, no index, no meta -> a partial block.
    faulty.fail_when(|op, p| op == Op::Put && p.filename() == Some("index"));
    assert!(upload_block(store.as_ref(), &dir).await.is_err());
    assert_eq!(
        objects(store.as_ref(), id).await,
        vec![format!("{id}/chunks/000001")]
    );

    // Crash at meta.json: everything but meta.json -> still only a partial block.
    faulty.fail_when(|op, p| op == Op::Put && p.filename() == Some("meta.json"));
    assert!(upload_block(store.as_ref(), &dir).await.is_err());
    assert_eq!(
        objects(store.as_ref(), id).await,
        vec![format!("{id}/chunks/000001"), format!("{id}/index")]
    );
    let listed = list_block_metas(store.as_ref()).await.unwrap();
    assert!(listed.metas.is_empty());
    assert_eq!(listed.partial, vec![id]);

    // Healed: the retry completes the block, which lists and downloads intact.
    faulty.heal();
    let meta = upload_block(store.as_ref(), &dir).await.unwrap();
    let files: Vec<&str> = meta
        .thanos
        .as_ref()
        .unwrap()
        .files
        .iter()
        .map(|f| f.rel_path.as_str())
        .collect();
    assert_eq!(files, ["chunks/000001", "index", "meta.json"]);
    let listed = list_block_metas(store.as_ref()).await.unwrap();
    assert!(listed.partial.is_empty());
    assert_eq!(listed.metas[&id].stats.num_series, 20);

    let dl = tempfile::tempdir().unwrap();
    download_block(store.as_ref(), id, &dl.path().join(id.to_string()))
        .await
        .unwrap();
    let original = LocalBlock::open(&dir)
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    let copy = LocalBlock::open(dl.path().join(id.to_string()))
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    assert_eq!(copy, original);
    assert_eq!(copy.len(), 20);
}

#[tokio::test]
async fn a_partial_block_is_cleaned_and_uploaded_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let id = write_block(tmp.path());
    let dir = tmp.path().join(id.to_string());
    let store = strata_objstore::config::from_yaml(&format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\n",
        tmp.path().join("bucket").display()
    ))
    .unwrap();
    // What an interrupted upload of the block left: a truncated chunk file and an object the
    // block does not have, but no meta.json.
    for (rel, data) in [("chunks/000001", "trunc"), ("chunks/000002", "stale")] {
        let p = object_store::path::Path::from(format!("{id}/{rel}"));
        store.put(&p, data.into()).await.unwrap();
    }
    assert_eq!(
        list_block_metas(store.as_ref()).await.unwrap().partial,
        vec![id]
    );

    upload_block(store.as_ref(), &dir).await.unwrap();
    assert_eq!(
        objects(store.as_ref(), id).await,
        vec![
            format!("{id}/chunks/000001"),
            format!("{id}/index"),
            format!("{id}/meta.json")
        ],
        "exactly the block's files"
    );
    let dl = tempfile::tempdir().unwrap();
    download_block(store.as_ref(), id, &dl.path().join(id.to_string()))
        .await
        .unwrap();
    let copy = LocalBlock::open(dl.path().join(id.to_string()))
        .await
        .unwrap()
        .read_all()
        .await
        .unwrap();
    assert_eq!(copy.len(), 20);

    // A complete block is not deleted by another upload of it.
    upload_block(store.as_ref(), &dir).await.unwrap();
    assert_eq!(objects(store.as_ref(), id).await.len(), 3);
}
