//! Runs the conformance suite against MEMORY, FILESYSTEM and an in-process S3 server (s3s-fs),
//! each built through the objstore YAML config path.

use std::sync::Arc;

use object_store::ObjectStore;
use strata_objstore::conformance::conformance;
use strata_objstore::testing::{S3Server, SECRET_KEY};
use strata_objstore::{BucketConfig, InstrumentedStore};

async fn start_s3() -> S3Server {
    S3Server::start().await.expect("start in-process S3 server")
}

#[tokio::test]
async fn memory() {
    let store = strata_objstore::from_yaml("type: MEMORY").unwrap();
    conformance(store).await;
}

#[tokio::test]
async fn filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\n",
        dir.path().join("bucket").display()
    );
    conformance(strata_objstore::from_yaml(&yaml).unwrap()).await;
}

#[tokio::test]
async fn filesystem_with_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\nprefix: tenant/a\n",
        dir.path().display()
    );
    let store = strata_objstore::from_yaml(&yaml).unwrap();
    conformance(Arc::clone(&store)).await;
    let p = object_store::path::Path::from("x");
    store
        .put_opts(
            &p,
            object_store::PutPayload::from_static(b"1"),
            Default::default(),
        )
        .await
        .unwrap();
    assert!(
        dir.path().join("tenant/a/x").is_file(),
        "objects live under the prefix"
    );
}

#[tokio::test]
async fn s3_in_process() {
    let server = start_s3().await;
    let cfg = BucketConfig::from_yaml(&server.objstore_yaml()).unwrap();
    let store = cfg.build().unwrap();
    let inst = InstrumentedStore::new(store);
    let stats = Arc::clone(inst.stats());
    let store: Arc<dyn ObjectStore> = Arc::new(inst);
    conformance(store).await;
    let snap = stats.snapshot();
    assert!(
        snap.gets() > 0 && snap.put > 0 && snap.list > 0 && snap.delete > 0,
        "{snap:?}"
    );
    assert!(snap.bytes_read > 5 * 1024 * 1024, "{snap:?}");
    drop(server);
}

#[tokio::test]
async fn s3_wrong_credentials_fail() {
    let server = start_s3().await;
    let yaml = server.objstore_yaml().replace(SECRET_KEY, "wrong");
    let store = strata_objstore::from_yaml(&yaml).unwrap();
    let e = store
        .get_opts(
            &object_store::path::Path::from("x"),
            object_store::GetOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(!matches!(e, object_store::Error::NotFound { .. }), "{e}");
}
