//! Reads of a versioned bucket pin the version the item recorded: an overwrite of the key
//! is invisible to downloads and presigned URLs.

use std::time::Duration;

use dynox_s3::S3Settings;
use dynox_tests::file_env;

use super::{record, Record};

#[tokio::test]
async fn reads_of_a_versioned_bucket_pin_the_recorded_version() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let versioning = env
        .s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await;
    if versioning.is_err() {
        dynox_tests::capability_note(
            &env.backend,
            "reads_of_a_versioned_bucket_pin_the_recorded_version",
            "this server has no bucket versioning; checked on moto",
        );
        return;
    }
    let mut r = record("versioned", 5);
    env.client.save(&mut r).await.unwrap();
    let stored = r.content.as_ref().unwrap().stored().unwrap().clone();
    let version = stored
        .version_id
        .clone()
        .expect("a versioned bucket returns a version id");
    // Someone overwrites the key: a new version with other bytes.
    env.s3
        .put_object()
        .bucket(&bucket)
        .key(&stored.key)
        .body(vec![0u8; 10].into())
        .send()
        .await
        .unwrap();
    let loaded = Record::get(&env.client, "versioned")
        .await
        .unwrap()
        .unwrap();
    let file = loaded.content.as_ref().unwrap();
    assert_eq!(
        file.stored().unwrap().version_id.as_deref(),
        Some(version.as_str())
    );
    assert_eq!(
        file.get_bytes(&env.client).await.unwrap().as_ref(),
        vec![5u8; 3000].as_slice()
    );
    let url = file
        .presigned_url(&env.client, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(url.contains("versionId="), "{url}");
}
