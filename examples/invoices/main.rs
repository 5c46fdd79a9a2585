//! An invoice archive, built the way a new user builds an app from the README: one dependency
//! on `dynox` (plus tokio). Invoices are keyed by customer and number, listed by status through
//! a secondary index, versioned, and carry a required PDF, an optional thumbnail, a
//! zstd-compressed audit log and their line items as a typed value in S3.
//!
//! `cargo run -p dynox-example-invoices` runs it on embedded DynamoDB and S3 servers;
//! `AWS_ENDPOINT_URL=http://127.0.0.1:5000` on another server (moto, LocalStack), and with AWS
//! credentials and `DYNOX_BUCKET=<an existing bucket>` on AWS.

use std::collections::BTreeMap;
use std::time::Duration;

use dynox::testing::{Backend, BackendKind};
use dynox::{Client, DynamoModel, Error, S3Object, S3Settings, S3Value};

/// Line items: description to amount in cents.
type Lines = BTreeMap<String, i64>;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(
    table = "invoices",
    global_index(name = "by_status", hash_key = status, range_key = number)
)]
struct Invoice {
    #[dynamo(hash_key)]
    customer: String,
    #[dynamo(range_key)]
    number: u64,
    status: String,
    total_cents: i64,
    #[dynamo(version)]
    version: u64,
    #[s3(bucket = "invoices", prefix = "pdf/")]
    pdf: S3Object,
    #[s3(bucket = "invoices", prefix = "thumbnails/")]
    thumbnail: Option<S3Object>,
    #[s3(bucket = "invoices", prefix = "audit/", compress = "zstd")]
    audit_log: Option<S3Object>,
    #[s3(bucket = "invoices", prefix = "lines/")]
    lines: Option<S3Value<Lines>>,
}

/// A stand-in for a rendered PDF.
fn pdf_bytes(number: u64) -> Vec<u8> {
    format!("%PDF-1.7 invoice {number}\n{}", "x".repeat(4000)).into_bytes()
}

fn invoice(customer: &str, number: u64) -> Invoice {
    let lines = Lines::from([
        ("consulting".to_owned(), 90_000),
        (format!("travel #{number}"), 10_000 + number as i64),
    ]);
    let status = if number.is_multiple_of(3) {
        "paid"
    } else {
        "open"
    };
    let pdf = S3Object::from_bytes(pdf_bytes(number), format!("invoice-{number}.pdf"));
    // The derived `new` takes the fields that must be given; version 0 and the optional
    // files start empty.
    let mut invoice = Invoice::new(customer, number, status, lines.values().sum(), pdf);
    invoice.thumbnail = number
        .is_multiple_of(2)
        .then(|| S3Object::from_bytes(vec![0x89, b'P', b'N', b'G'], "thumb.png"));
    invoice.audit_log = (number == 1).then(|| {
        let log = "2026-12-01T10:00:00Z created\n".repeat(2000);
        S3Object::from_bytes(log.into_bytes(), "audit.log")
    });
    invoice.lines = Some(S3Value::new(lines));
    invoice
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = Backend::from_env().await?;
    let on_aws = matches!(backend.kind(), BackendKind::Aws);
    let bucket = match std::env::var("DYNOX_BUCKET") {
        Ok(bucket) => bucket,
        Err(_) if on_aws => return Err("set DYNOX_BUCKET to an existing bucket".into()),
        Err(_) => format!("dynox-invoices-{}", std::process::id()),
    };
    let s3 = backend.s3_client();
    if !on_aws {
        s3.create_bucket().bucket(&bucket).send().await?;
    }
    println!("backend: {}, bucket: {bucket}", backend.name());

    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("invoices-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("invoices", bucket.clone()))
        .build();
    client.create_table::<Invoice>().await?;

    let result = run(&client).await;
    client.delete_table::<Invoice>().await?;
    if !on_aws {
        let left = s3
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await?
            .key_count();
        s3.delete_bucket().bucket(&bucket).send().await?;
        // Every delete took its files along.
        assert_eq!(left, Some(0), "objects left in the bucket");
    }
    result
}

async fn run(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    // Save 25 invoices: each PDF, thumbnail, audit log and line-item value goes to S3 first.
    for number in 1..=25 {
        client.save(&mut invoice("acme", number)).await?;
    }

    // Page through the customer's invoices, 10 at a time, resuming from each page's token.
    let mut pages = 0;
    let mut seen = 0;
    let mut next = None;
    loop {
        let mut query = Invoice::query(client, "acme").page_size(10);
        if let Some(token) = next.take() {
            query = query.start_from(token);
        }
        let page = query.page().await?;
        pages += 1;
        seen += page.items.len();
        match page.next {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    println!("listed {seen} invoices in {pages} pages");
    assert_eq!(seen, 25);

    // The open ones, through the index.
    let open = Invoice::indexes()
        .by_status
        .query(client, "open")
        .all()
        .await?;
    println!("{} open invoices", open.len());
    assert_eq!(open.len(), 17);

    // A few by key in one request; the files stay in S3 until asked for.
    let keys = [1, 2, 3].map(|n| Invoice::key_of("acme", n));
    let batch = client.batch_get(keys).await?;
    assert_eq!(batch.items.len(), 3);

    // Read one back: its PDF, compressed audit log and line items come on demand, verified.
    let mut first = Invoice::get(client, "acme", 1).await?.ok_or("invoice 1")?;
    assert_eq!(first.pdf.get_bytes(client).await?, pdf_bytes(1));
    let audit = first.audit_log.as_ref().ok_or("audit log")?;
    let log = audit.get_bytes(client).await?;
    assert_eq!(Some(log.len() as u64), audit.size());
    println!(
        "audit log: {} bytes, kept zstd-compressed at {}",
        log.len(),
        audit.key().unwrap_or("?")
    );
    let lines = first.lines.as_ref().ok_or("lines")?.load(client).await?;
    assert_eq!(lines.values().sum::<i64>(), first.total_cents);
    let link = first
        .pdf
        .presigned_url(client, Duration::from_secs(600))
        .await?;
    println!(
        "PDF link for the customer: {}...",
        &link[..link.len().min(60)]
    );

    // Pay invoice 1 and issue a credit note, in one transaction.
    let stale = first.clone();
    first.status = "paid".into();
    let mut credit = invoice("acme", 100);
    credit.total_cents = -10_000;
    client
        .transact_write()
        .save(&mut first)
        .create(&mut credit)
        .await?;

    // Errors name what went wrong: a stale copy loses to the version, a second create of a key
    // exists already.
    match client.save(&mut stale.clone()).await {
        Err(Error::VersionConflict { key, .. }) => println!("stale save refused: {key}"),
        other => return Err(format!("expected a version conflict, got {other:?}").into()),
    }
    match client.create(&mut invoice("acme", 100)).await {
        Err(e @ Error::AlreadyExists { .. }) => println!("second create refused: {e}"),
        other => return Err(format!("expected AlreadyExists, got {other:?}").into()),
    }

    // Delete everything: each item, then its objects. Invoices are versioned, so a delete by
    // key must say which version it expects; clearing out the archive, any version goes.
    for number in (1..=25).chain([100]) {
        Invoice::delete(client, "acme", number)
            .any_version()
            .await?;
    }
    println!("deleted 26 invoices and their files");
    Ok(())
}

/// How an app built on dynox tests itself: a test environment per test (its own table and
/// bucket on the embedded servers, or wherever `AWS_ENDPOINT_URL` points), the requests the
/// code made, and injected faults.
#[cfg(test)]
mod tests {
    use super::*;
    use dynox::testing::{FaultKind, TestEnv};

    #[tokio::test]
    async fn the_archive_runs_and_takes_every_file_along() {
        let env = TestEnv::builder().model::<Invoice>().start().await.unwrap();
        run(env.client()).await.unwrap();
        assert!(env.objects("invoices").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn listing_by_status_downloads_nothing() {
        let env = TestEnv::builder().model::<Invoice>().start().await.unwrap();
        for number in 1..=3 {
            env.client()
                .save(&mut invoice("acme", number))
                .await
                .unwrap();
        }
        env.forget_requests();
        let open = Invoice::indexes()
            .by_status
            .query(env.client(), "open")
            .all()
            .await
            .unwrap();
        assert!(!open.is_empty());
        assert_eq!(env.requests().s3().count(), 0, "{:?}", env.requests());
        assert_eq!(env.requests().dynamodb().collect::<Vec<_>>(), ["Query"]);
    }

    #[tokio::test]
    async fn a_failed_item_write_leaves_no_pdf_behind() {
        let env = TestEnv::builder()
            .model::<Invoice>()
            .retries(false)
            .start()
            .await
            .unwrap();
        env.faults()
            .fail_nth(1, Some("PutItem"), FaultKind::ServerError);
        let err = env
            .client()
            .save(&mut invoice("acme", 7))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Service { .. }), "{err:?}");
        assert!(env.objects("invoices").await.unwrap().is_empty());
    }
}
