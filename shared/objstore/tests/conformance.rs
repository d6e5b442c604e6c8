//! Runs the conformance suite against MEMORY, FILESYSTEM and an in-process S3 server (s3s-fs),
//! each built through the objstore YAML config path.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::ObjectStore;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use strata_objstore::conformance::conformance;
use strata_objstore::{BucketConfig, InstrumentedStore};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

const BUCKET: &str = "strata-test";
const ACCESS_KEY: &str = "AKSTRATATEST";
const SECRET_KEY: &str = "SKSTRATATEST";

/// An s3s-fs server on 127.0.0.1:0; stops when dropped.
struct S3Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn start_s3() -> S3Server {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join(BUCKET)).expect("create bucket dir");
    let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs root");
    let mut b = S3ServiceBuilder::new(fs);
    b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = b.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        let mut conns = JoinSet::new();
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            conns.spawn(async move {
                let _ = conn.await;
            });
            // Reap finished connections so the set does not grow without bound.
            while conns.try_join_next().is_some() {}
        }
    });
    S3Server {
        addr,
        task,
        _root: root,
    }
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

fn s3_yaml(addr: SocketAddr) -> String {
    format!(
        "type: S3
config:
  bucket: {BUCKET}
  endpoint: {addr}
  region: us-east-1
  access_key: {ACCESS_KEY}
  secret_key: {SECRET_KEY}
  insecure: true
  bucket_lookup_type: path
  max_retries: 1
  http_config:
    idle_conn_timeout: 30s
    response_header_timeout: 30s
"
    )
}

#[tokio::test]
async fn s3_in_process() {
    let server = start_s3().await;
    let cfg = BucketConfig::from_yaml(&s3_yaml(server.addr)).unwrap();
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
    let yaml = s3_yaml(server.addr).replace(SECRET_KEY, "wrong");
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
