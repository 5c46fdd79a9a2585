//! The documents web app in a browser: uploads go from the page straight to S3 (a presigned
//! POST form whose policy S3 enforces), downloads come straight from S3 (presigned GET
//! links), and the app only signs, checks and writes items.
//!
//! ```text
//! cargo run -p dynox-examples --bin web            # http://127.0.0.1:8080
//! cargo run -p dynox-examples --bin web -- 3000    # another port
//! ```
//!
//! Runs on the embedded local servers by default (their S3 answers browsers on loopback
//! origins the way a bucket CORS rule would); `DYNOX_ENDPOINT=http://127.0.0.1:5000` uses
//! moto or LocalStack, with a CORS rule put on the bucket for the app's origin.

use dynox_core::Client;
use dynox_examples::documents_web::{router, Document};
use dynox_s3::S3Settings;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse().map_err(|_| format!("not a port: {port}"))?,
        None => 8080,
    };
    let backend = dynox_local::Backend::from_env().await?;
    if matches!(backend.kind(), dynox_local::BackendKind::Aws) {
        return Err("this example runs on local servers only".into());
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let origin = format!("http://{}", listener.local_addr()?);

    let s3 = backend.s3_client();
    let bucket = format!("dynox-web-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await?;
    // What a real bucket needs for a page on another origin to POST to it and read it.
    let cors = aws_sdk_s3::types::CorsConfiguration::builder()
        .cors_rules(
            aws_sdk_s3::types::CorsRule::builder()
                .allowed_origins(&origin)
                .allowed_methods("POST")
                .allowed_methods("GET")
                .allowed_headers("*")
                .expose_headers("ETag")
                .max_age_seconds(600)
                .build()?,
        )
        .build()?;
    if let Err(error) = s3
        .put_bucket_cors()
        .bucket(&bucket)
        .cors_configuration(cors)
        .send()
        .await
    {
        // s3s-fs stores no CORS rules; the embedded server allows loopback origins itself.
        use aws_sdk_s3::error::ProvideErrorMetadata;
        println!(
            "note: the S3 server keeps no CORS rule ({}); the embedded one allows loopback origins",
            error.code().unwrap_or("no error code")
        );
    }
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("example-{}-", std::process::id()))
        .extension(S3Settings::default().bucket("web-documents", bucket))
        .build();
    client.create_table::<Document>().await?;

    println!("documents: {origin}  (Ctrl-C to stop)");
    axum::serve(listener, router(client))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
