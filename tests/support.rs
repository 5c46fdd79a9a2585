//! Shared set-up of the integration tests: the backend chosen by `DYNOX_ENDPOINT` (the
//! embedded servers by default, see `dynox_local::Backend`) and a client whose table prefix
//! is unique to the test, so tests run in parallel on one server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dynox_core::{Client, Model};
use dynox_local::Backend;

pub use dynox_local::BackendKind;

/// The backend for this test run.
pub async fn backend() -> Backend {
    match Backend::from_env().await {
        Ok(b) => b,
        Err(e) => panic!("cannot start the test backend: {e}"),
    }
}

/// A prefix no other test (in this or another run against the same server) uses.
pub fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("t{}-{nanos:x}-{n}-", std::process::id())
}

/// A client with a unique table prefix.
pub async fn client() -> Client {
    let backend = backend().await;
    Client::builder(backend.sdk_config())
        .table_prefix(unique_prefix())
        .build()
}

/// A client with a unique table prefix and model `M`'s table created.
pub async fn client_with<M: Model>() -> Client {
    let client = client().await;
    client
        .create_table::<M>()
        .await
        .expect("create the test table");
    client
}
