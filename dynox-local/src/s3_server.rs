//! The embedded S3 server: s3s over s3s-fs, served with hyper on a loopback listener.

use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

use crate::{LocalError, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

pub(crate) fn spawn(
    listener: TcpListener,
    root: &Path,
    mut stop: tokio::sync::watch::Receiver<()>,
) -> Result<(), LocalError> {
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| LocalError::Server {
        server: "s3",
        message: format!("{e:?}"),
    })?;
    let service = {
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        builder.build()
    };
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(error) => {
                        tracing::warn!(%error, "embedded S3 server: accept failed");
                        continue;
                    }
                },
                _ = stop.changed() => break,
            };
            // Without TCP_NODELAY small responses wait for the peer's delayed ACK (~40 ms).
            let _ = socket.set_nodelay(true);
            let conn = http.serve_connection(TokioIo::new(socket), service.clone());
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        graceful.shutdown().await;
    });
    Ok(())
}
