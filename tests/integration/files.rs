//! S3 file fields against real servers (direct uploads: `direct_uploads.rs`), one module per
//! concern:
//!
//! - `metadata`: what the item records of a file (a map of metadata only), every accessor,
//!   S3's own metadata and dates; get and query read it without S3 requests;
//! - `upload`: every upload source, and multipart uploads of large files;
//! - `download`: `get_bytes`, `save_to`, `stream`, `reader` and `range`, checksum checks,
//!   and downloading a file not uploaded yet;
//! - `presign`: presigned download URLs and their expiry, path-style URLs of a custom client;
//! - `lifecycle`: what happens to objects as items change: replacing, clearing (kept, marked,
//!   never swept) or deleting, and an object of another item;
//! - `cleanup`: what a failed write removes (its uploads, aborted multipart uploads) and what
//!   is reported when a delete leaves objects behind;
//! - `errors`: typed S3 errors of saves and reads (missing bucket, refused credentials,
//!   unreachable endpoint, a required file missing from the item);
//! - `keys`: the object keys dynox lays out, safe for hostile key values and file names, and
//!   custom key templates.

mod cleanup;
mod download;
mod errors;
mod keys;
mod lifecycle;
mod metadata;
mod presign;
mod upload;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::DynamoModel;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{file_env, FileEnv};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(range_key)]
    sk: String,
    name: String,
    #[s3(bucket = "company-docs", prefix = "documents/")]
    content: Option<S3Object>,
    #[s3(bucket = "company-docs", prefix = "thumbs/", region = "eu-west-1")]
    thumbnail: S3Object,
}

fn doc(pk: &str, content: Option<S3Object>) -> Document {
    Document {
        pk: pk.into(),
        sk: "v1".into(),
        name: "Contract".into(),
        content,
        thumbnail: S3Object::from_bytes(vec![0x89, b'P', b'N', b'G'], "thumb.png"),
    }
}

/// A [`FileEnv`] for [`Document`], with its one bucket.
async fn env() -> FileEnv {
    file_env::<Document>(&["company-docs"], S3Settings::default()).await
}

async fn object_exists(env: &FileEnv, bucket: &str, key: &str) -> bool {
    match env.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => false,
        Err(e) => panic!("HEAD {key}: {e:?}"),
    }
}

/// Item (`pk`, `v1`) as DynamoDB stores it.
async fn raw_item(client: &dynox_core::Client, pk: &str) -> HashMap<String, AttributeValue> {
    client
        .dynamodb()
        .get_item()
        .table_name(client.table_name::<Document>())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S("v1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

/// The `content` attribute of item (`pk`, `v1`) as DynamoDB stores it.
async fn raw_content(client: &dynox_core::Client, pk: &str) -> HashMap<String, AttributeValue> {
    let item = raw_item(client, pk).await;
    match item.get("content") {
        Some(AttributeValue::M(map)) => map.clone(),
        other => panic!("content is not a map: {other:?}"),
    }
}
