//! The embedded S3 server: s3s over s3s-fs, served with hyper on a loopback listener.
//!
//! Browsers on a loopback origin (`http://127.0.0.1:*`, `http://localhost:*`) may call it
//! cross-origin, as a real bucket allows with a CORS rule for the application's origin
//! (s3s answers no CORS preflights itself): see [`cors`].

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
            let s3 = service.clone();
            let service = hyper::service::service_fn(move |request| cors(s3.clone(), request));
            let conn = http.serve_connection(TokioIo::new(socket), service);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        graceful.shutdown().await;
    });
    Ok(())
}

/// What a bucket CORS rule allowing every method and header to a loopback origin answers:
/// preflights (`OPTIONS` with `Access-Control-Request-Method`) get the allowance without
/// reaching s3s; other requests get `Access-Control-Allow-Origin` and the ETag exposed.
/// Requests from any other origin are passed on untouched, so browsers refuse them.
async fn cors(
    s3: s3s::service::S3Service,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
    use hyper::service::Service;
    let origin = request
        .headers()
        .get(http::header::ORIGIN)
        .filter(|o| is_loopback_origin(o.as_bytes()))
        .cloned();
    let Some(origin) = origin else {
        return Service::call(&s3, request).await;
    };
    let allow = |response: &mut http::Response<s3s::Body>| {
        let headers = response.headers_mut();
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(http::header::VARY, http::HeaderValue::from_static("Origin"));
    };
    if request.method() == http::Method::OPTIONS
        && request
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = http::Response::new(s3s::Body::empty());
        allow(&mut response);
        let headers = response.headers_mut();
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
            http::HeaderValue::from_static("GET, PUT, POST, HEAD, DELETE"),
        );
        if let Some(asked) = request
            .headers()
            .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
        {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(
            http::header::ACCESS_CONTROL_MAX_AGE,
            http::HeaderValue::from_static("600"),
        );
        return Ok(response);
    }
    let mut response = Service::call(&s3, request).await?;
    allow(&mut response);
    response.headers_mut().insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        http::HeaderValue::from_static("ETag, x-amz-version-id"),
    );
    Ok(response)
}

/// Whether `origin` is `http://127.0.0.1[:port]`, `http://localhost[:port]` or
/// `http://[::1][:port]`.
fn is_loopback_origin(origin: &[u8]) -> bool {
    let Some(host) = origin.strip_prefix(b"http://") else {
        return false;
    };
    let host = match host.iter().rposition(|&b| b == b':') {
        Some(colon)
            if host[colon + 1..].iter().all(u8::is_ascii_digit) && !host.ends_with(b"]") =>
        {
            &host[..colon]
        }
        _ => host,
    };
    matches!(host, b"127.0.0.1" | b"localhost" | b"[::1]")
}

#[cfg(test)]
mod tests {
    use super::is_loopback_origin;

    #[test]
    fn only_loopback_origins_are_allowed() {
        for origin in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:3000",
        ] {
            assert!(is_loopback_origin(origin.as_bytes()), "{origin}");
        }
        for origin in [
            "http://127.0.0.1.example.com",
            "https://127.0.0.1:8080",
            "http://10.0.0.1:80",
            "http://localhost.evil:80",
            "null",
        ] {
            assert!(!is_loopback_origin(origin.as_bytes()), "{origin}");
        }
    }
}
