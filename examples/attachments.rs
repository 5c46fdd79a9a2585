//! Email attachments stored once: a `#[s3(shared)]` field keys each file by its content's
//! SHA-256, so the same PDF attached to a hundred messages is one object in S3. Deleting a
//! message never deletes an attachment another message may hold; the orphan sweep collects
//! the ones no message references any more. Archived originals go through their own S3
//! client (`#[s3(client = "archive")]`), as they would with another account's credentials.
//!
//! ```text
//! cargo run -p dynox-examples --bin attachments
//! ```
//!
//! Runs on the embedded local servers by default; `AWS_ENDPOINT_URL=http://127.0.0.1:5000`
//! uses moto or LocalStack there.

use std::time::{Duration, SystemTime};

use dynox::s3::{S3Object, S3Settings};
use dynox::{Client, DynamoModel};

/// A message with a deduplicated attachment and an archived original.
#[derive(Debug, DynamoModel)]
#[dynamo(table = "messages")]
struct Message {
    #[dynamo(hash_key)]
    id: String,
    subject: String,
    /// Content-addressed: identical attachments are one object.
    #[s3(bucket = "mail", prefix = "attachments/", shared)]
    attachment: Option<S3Object>,
    /// Kept behind the "archive" client.
    #[s3(bucket = "mail", prefix = "originals/", client = "archive")]
    original: Option<S3Object>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = dynox::testing::Backend::from_env().await?;
    if matches!(backend.kind(), dynox::testing::BackendKind::Aws) {
        return Err("this example runs on local servers only".into());
    }
    let s3 = backend.s3_client();
    let bucket = format!("dynox-mail-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await?;
    let settings = S3Settings::default()
        .bucket("mail", bucket.clone())
        // Another account's client in real life; the same server here.
        .named_client("archive", backend.s3_client());
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("example-{}-", std::process::id()))
        .s3(settings)
        .build();
    client.create_table::<Message>().await?;

    let brochure = b"%PDF-1.7 the spring brochure".repeat(1000);
    for i in 0..3 {
        let mut message = Message {
            id: format!("msg-{i}"),
            subject: format!("Spring offer #{i}"),
            attachment: Some(S3Object::from_bytes(brochure.clone(), "brochure.pdf")),
            original: Some(S3Object::from_bytes(format!("raw message {i}"), "msg.eml")),
        };
        client.save(&mut message).await?;
        let file = message.attachment.as_ref().expect("saved");
        println!(
            "{}: attachment {} ({} bytes)",
            message.id,
            file.key().unwrap_or("-"),
            file.size().unwrap_or(0)
        );
    }
    let count = |prefix: &'static str| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let listed = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send()
                .await?;
            Ok::<_, dynox::aws_sdk_s3::Error>(listed.key_count().unwrap_or(0))
        }
    };
    println!(
        "3 messages, {} attachment object(s), {} originals",
        count("attachments/").await?,
        count("originals/").await?
    );
    assert_eq!(count("attachments/").await?, 1);

    // Deleting every message leaves the shared attachment for the sweep.
    for i in 0..3 {
        Message::delete(&client, format!("msg-{i}")).await?;
    }
    println!(
        "after the deletes: {} attachment object(s) (collected by the sweep)",
        count("attachments/").await?
    );
    let report = dynox::s3::sweep::<Message>(&client)
        .as_of(SystemTime::now() + Duration::from_secs(48 * 3600)) // as if run two days later
        .delete()
        .await?;
    println!("{report}");
    assert_eq!(count("attachments/").await?, 0);

    client.delete_table::<Message>().await?;
    s3.delete_bucket().bucket(&bucket).send().await?;
    Ok(())
}
