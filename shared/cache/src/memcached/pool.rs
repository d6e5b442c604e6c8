//! A small pool of async-memcached connections to one server.
//!
//! A connection is taken for one operation and put back when the operation completed cleanly
//! (async-memcached closes a connection whose reply was not fully read, e.g. on timeout, and
//! such a connection is dropped). When a reused connection fails with an I/O error the server
//! probably restarted: every idle connection is dropped and the operation is retried once on
//! a fresh connection, so the first request after a restart already succeeds.

use std::sync::Mutex;

use async_memcached::{AsciiProtocol, Client, Status, Value};
use bytes::Bytes;

/// One operation against one server.
pub(crate) enum Request<'a> {
    /// `get k1 k2 ...` (keys already memcached-safe).
    Get(&'a [String]),
    /// Pipelined `set` of every item with this exptime (seconds).
    Set(&'a [(String, Bytes)], i64),
}

/// What an operation returned.
pub(crate) enum Reply {
    Values(Vec<Value>),
    /// Number of items the server refused (e.g. `SERVER_ERROR object too large`).
    Stored {
        refused: Vec<String>,
    },
}

pub(crate) struct ServerPool {
    addr: String,
    /// `tcp://host:port`: async-memcached parses the address as a URL.
    dsn: String,
    idle: Mutex<Vec<Client>>,
    max_idle: usize,
}

impl std::fmt::Debug for ServerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerPool")
            .field("addr", &self.addr)
            .field("idle", &self.idle_count())
            .field("max_idle", &self.max_idle)
            .finish()
    }
}

impl ServerPool {
    pub(crate) fn new(addr: String, max_idle: usize) -> Self {
        Self {
            dsn: format!("tcp://{addr}"),
            addr,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    fn idle_count(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }

    fn take_idle(&self) -> Option<Client> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(client) = idle.pop() {
            if !client.is_closed() {
                return Some(client);
            }
        }
        None
    }

    fn put_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(client);
        }
    }

    fn drop_idle(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    async fn connect(&self) -> Result<Client, async_memcached::Error> {
        Client::new(&self.dsn).await
    }

    /// Run `request`, on a pooled connection when one is idle. The caller bounds the time.
    pub(crate) async fn execute(
        &self,
        request: &Request<'_>,
    ) -> Result<Reply, async_memcached::Error> {
        if let Some(mut client) = self.take_idle() {
            match run(&mut client, request).await {
                Ok(reply) => {
                    self.put_back(client);
                    return Ok(reply);
                }
                Err(e) if is_connection_error(&e) => {
                    tracing::debug!(
                        server = %self.addr,
                        error = %e,
                        "pooled memcached connection failed; reconnecting"
                    );
                    self.drop_idle();
                }
                Err(e) => {
                    self.put_back(client);
                    return Err(e);
                }
            }
        }
        let mut client = self.connect().await?;
        let reply = run(&mut client, request).await?;
        self.put_back(client);
        Ok(reply)
    }
}

fn is_connection_error(e: &async_memcached::Error) -> bool {
    matches!(
        e,
        async_memcached::Error::Io(_) | async_memcached::Error::ConnectionClosed
    )
}

async fn run(client: &mut Client, request: &Request<'_>) -> Result<Reply, async_memcached::Error> {
    match request {
        Request::Get(keys) => match client.get_multi(keys.iter()).await {
            Ok(values) => Ok(Reply::Values(values)),
            // A reply of only `END` (no key found) surfaces as NotFound.
            Err(async_memcached::Error::Protocol(Status::NotFound)) => {
                Ok(Reply::Values(Vec::new()))
            }
            Err(e) => Err(e),
        },
        Request::Set(items, exptime) => {
            let kv: Vec<(&str, &[u8])> = items
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_ref()))
                .collect();
            let results = client.set_multi(&kv, Some(*exptime), None).await?;
            let refused = results
                .into_iter()
                .filter(|(_, r)| r.is_err())
                .map(|(k, _)| (*k).to_string())
                .collect();
            Ok(Reply::Stored { refused })
        }
    }
}
