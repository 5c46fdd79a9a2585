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
//! origins the way a bucket CORS rule would); `AWS_ENDPOINT_URL=http://127.0.0.1:5000` uses
//! moto or LocalStack, with a CORS rule put on the bucket for the app's origin;
//! `DYNOX_SERVERS=aws DYNOX_BUCKET=...` uses your AWS account and that bucket (give it the
//! CORS rule the app prints). On Ctrl-C the documents, their files and the table are removed.

use dynox::s3::S3Settings;
use dynox::Client;
use dynox_examples::documents_web::{cors_for, router, Document, RETENTION};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse().map_err(|_| format!("not a port: {port}"))?,
        None => 8080,
    };
    let backend = dynox::testing::Backend::from_env().await?;
    let on_aws = matches!(backend.kind(), dynox::testing::BackendKind::Aws);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let origin = format!("http://{}", listener.local_addr()?);

    let s3 = backend.s3_client();
    let bucket = match std::env::var("DYNOX_BUCKET") {
        Ok(bucket) => bucket,
        Err(_) if on_aws => return Err("set DYNOX_BUCKET to an existing bucket".into()),
        Err(_) => {
            let bucket = format!("dynox-web-{}", std::process::id());
            s3.create_bucket().bucket(&bucket).send().await?;
            bucket
        }
    };
    if on_aws {
        // Never replace the CORS rules of a bucket of yours: say what it needs.
        println!("the bucket `{bucket}` needs a CORS rule allowing POST and GET from {origin}");
    } else {
        allow_origin(&s3, &bucket, &origin).await;
    }
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("example-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("web-documents", bucket))
        .build();
    client.create_table::<Document>().await?;

    println!("documents: {origin}  (Ctrl-C to stop)");
    axum::serve(listener, router(client.clone()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;

    // Leave nothing behind: each document with its file, then the table.
    let documents = client.scan::<Document>().all().await?;
    for document in &documents {
        client.delete_item(document).await?;
    }
    // Deleted files stay readable for their retention (links already handed out keep
    // working); the app is going away with its links, so sweep as if it had passed (marks
    // name whole seconds, rounded up: a second more).
    dynox::s3::sweep::<Document>(&client)
        .grace(std::time::Duration::ZERO)
        .as_of(std::time::SystemTime::now() + RETENTION + std::time::Duration::from_secs(2))
        .delete()
        .await?;
    client.delete_table::<Document>().await?;
    println!("removed {} document(s) and their files", documents.len());
    Ok(())
}

/// What a bucket needs for a page on another origin to POST to it and read from it.
async fn allow_origin(s3: &dynox::aws_sdk_s3::Client, bucket: &str, origin: &str) {
    let put = s3
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(cors_for(origin))
        .send()
        .await;
    if let Err(error) = put {
        // s3s-fs keeps no CORS rules; the embedded server allows loopback origins itself.
        use dynox::aws_sdk_s3::error::ProvideErrorMetadata;
        println!(
            "note: the S3 server keeps no CORS rule ({}); the embedded one allows loopback origins",
            error.code().unwrap_or("no error code")
        );
    }
}
