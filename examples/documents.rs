//! Document management with files in S3: the reason dynox exists.
//!
//! Uploads a few documents (one large enough for a streaming multipart upload), lists them
//! without touching S3, downloads one to disk, prints a presigned link, then deletes
//! everything and shows that both DynamoDB and S3 are clean.
//!
//! ```text
//! cargo run -p dynox-examples --bin documents
//! ```
//!
//! Runs on the embedded local servers by default. `AWS_ENDPOINT_URL=http://127.0.0.1:5000`
//! uses moto or LocalStack there; `DYNOX_SERVERS=aws` uses your standard AWS configuration,
//! with the bucket named by `DYNOX_BUCKET` (which must exist).

use std::time::{Duration, Instant};

mod document;

use document::Document;
use dynox::s3::{S3Object, S3Settings};
use dynox::Client;
use tokio::io::AsyncRead;

/// `size` bytes of made-up content, generated as it is read (nothing held in memory).
fn generated(size: u64) -> impl AsyncRead + Send + Unpin + 'static {
    use tokio::io::AsyncReadExt;
    tokio::io::repeat(b'x').take(size)
}

/// A time as RFC 3339 (UTC), or `-`.
fn rfc3339(time: Option<std::time::SystemTime>) -> String {
    use dynox::aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    time.and_then(|t| DateTime::from(t).fmt(DateTimeFormat::DateTime).ok())
        .unwrap_or_else(|| "-".to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = dynox::testing::Backend::from_env().await?;
    let on_aws = matches!(backend.kind(), dynox::testing::BackendKind::Aws);
    let bucket = match std::env::var("DYNOX_BUCKET") {
        Ok(b) => b,
        Err(_) if on_aws => return Err("set DYNOX_BUCKET to an existing bucket".into()),
        Err(_) => format!("dynox-example-{}", std::process::id()),
    };
    let s3 = backend.s3_client();
    if !on_aws {
        s3.create_bucket().bucket(&bucket).send().await?;
    }
    println!("backend: {}, bucket: {bucket}", backend.name());

    // The declared bucket "company-docs" is this environment's bucket.
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("example-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("company-docs", bucket.clone()))
        .build();
    client.create_table::<Document>().await?;

    let result = run(&client, &s3, &bucket).await;
    client.delete_table::<Document>().await?;
    if !on_aws {
        s3.delete_bucket().bucket(&bucket).send().await?;
    }
    result
}

async fn run(
    client: &Client,
    s3: &dynox::aws_sdk_s3::Client,
    bucket: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let pdf = dir.path().join("invoice-2024-001.pdf");
    tokio::fs::write(&pdf, b"%PDF-1.7 an invoice").await?;

    let large = 48 * 1024 * 1024;
    let mut documents = vec![
        Document {
            pk: "DOC#invoice-2024-001".into(),
            sk: "v1".into(),
            name: "Invoice January 2024".into(),
            content: Some(S3Object::from_path(&pdf).with_metadata("department", "finance")),
        },
        Document {
            pk: "DOC#notes".into(),
            sk: "v1".into(),
            name: "Meeting notes".into(),
            content: Some(S3Object::from_bytes(
                "We agreed to ship on Friday.",
                "notes.txt",
            )),
        },
        Document {
            pk: "DOC#dataset".into(),
            sk: "v1".into(),
            name: "Training data".into(),
            content: Some(S3Object::from_reader(
                generated(large),
                "dataset.csv",
                Some(large),
            )),
        },
        Document {
            pk: "DOC#draft".into(),
            sk: "v1".into(),
            name: "Draft without a file yet".into(),
            content: None,
        },
    ];
    for doc in &mut documents {
        let started = Instant::now();
        client.save(doc).await?;
        match &doc.content {
            Some(file) => println!(
                "saved {:<24} {:>10} bytes -> {} ({:.0?})",
                doc.pk,
                file.size().unwrap_or(0),
                file.stored().map(|s| s.uri()).unwrap_or_default(),
                started.elapsed()
            ),
            None => println!("saved {:<24} (no file)", doc.pk),
        }
    }

    // Listing reads only metadata from DynamoDB: no S3 request, however large the files.
    println!("\ndocuments (metadata only, no S3 request):");
    for pk in [
        "DOC#invoice-2024-001",
        "DOC#notes",
        "DOC#dataset",
        "DOC#draft",
    ] {
        for doc in Document::query(client, pk).all().await? {
            match &doc.content {
                Some(file) => println!(
                    "  {:<26} {:>10} bytes  {:<16} etag {}  stored {} (S3's clock)  metadata {:?}",
                    doc.name,
                    file.size().unwrap_or(0),
                    file.content_type().unwrap_or("-"),
                    file.etag().unwrap_or("-"),
                    rfc3339(file.last_modified()),
                    file.metadata(),
                ),
                None => println!("  {:<26} (no file)", doc.name),
            }
        }
    }

    // Download one to disk (streamed into a temporary file, verified, then renamed).
    let invoice = Document::get(client, "DOC#invoice-2024-001", "v1")
        .await?
        .ok_or("invoice missing")?;
    let file = invoice.content.as_ref().ok_or("invoice has no file")?;
    let target = dir.path().join("downloaded.pdf");
    let bytes = file.save_to(client, &target).await?;
    println!("\ndownloaded {bytes} bytes to {}", target.display());
    let dataset = Document::get(client, "DOC#dataset", "v1")
        .await?
        .ok_or("dataset missing")?;
    let started = Instant::now();
    let size = dataset
        .content
        .as_ref()
        .ok_or("dataset has no file")?
        .save_to(client, dir.path().join("dataset.csv"))
        .await?;
    println!(
        "downloaded {size} bytes of the dataset in {:.0?} (checksum verified)",
        started.elapsed()
    );

    // A link anyone can use for an hour, without credentials.
    let url = file
        .presigned_url(client, Duration::from_secs(3600))
        .await?;
    println!("presigned link (1 hour): {url}");

    // Delete the items: their files go too.
    for doc in &documents {
        Document::delete(client, doc.pk.clone(), doc.sk.clone()).await?;
    }
    let left_objects = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("documents/")
        .send()
        .await?
        .key_count
        .unwrap_or(0);
    let left_items = client
        .dynamodb()
        .scan()
        .table_name(client.table_name::<Document>())
        .send()
        .await?
        .count;
    println!(
        "\nafter delete: {left_items} items in the table, {left_objects} objects under documents/"
    );
    if left_objects != 0 || left_items != 0 {
        return Err("both stores should be empty".into());
    }
    Ok(())
}
