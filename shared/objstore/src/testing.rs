//! Test support (feature `testing`): an in-process S3 server (s3s-fs 0.14.1 over a temporary
//! directory) on 127.0.0.1, so any crate's tests can run against a real S3 API without a
//! separate process. It stops when dropped.

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The bucket every test server has.
pub const BUCKET: &str = "strata-test";
/// Access key of the test server.
pub const ACCESS_KEY: &str = "AKSTRATATEST";
/// Secret key of the test server.
pub const SECRET_KEY: &str = "SKSTRATATEST";

/// An s3s-fs server on 127.0.0.1:0; stops when dropped.
#[derive(Debug)]
pub struct S3Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

impl S3Server {
    /// Start a server with an empty bucket [`BUCKET`].
    pub async fn start() -> std::io::Result<Self> {
        let root = tempfile::tempdir()?;
        std::fs::create_dir(root.path().join(BUCKET))?;
        let fs = s3s_fs::FileSystem::new(root.path())
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
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
        Ok(Self { addr, task, root })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory holding the bucket's objects as plain files (`<dir>/<BUCKET>/...`).
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }

    /// Thanos objstore YAML (type S3, path-style, plain HTTP) pointing at this server.
    pub fn objstore_yaml(&self) -> String {
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
",
            addr = self.addr
        )
    }
}
