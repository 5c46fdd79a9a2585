//! The orphan sweep: only old orphans of the model are deleted (a dry run first, then within
//! a small memory budget), stale multipart uploads under the model's prefixes are aborted,
//! and objects it could not delete are reported (and deleted by the next sweep).

use std::time::{Duration, SystemTime};

use dynox_local::faults::FaultKind;
use dynox_s3::S3Settings;
use dynox_tests::{faulty_file_env, file_env};
use futures::StreamExt;

use super::{raw_references, record, Record};

#[tokio::test]
async fn the_sweep_removes_old_orphans_only() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let mut kept = record("live", 3);
    env.client.save(&mut kept).await.unwrap();

    // Orphans under the model's prefixes (more than one DeleteObjects batch), and an object
    // outside them that must never be touched.
    const ORPHANS: usize = 1_050;
    let started = std::time::Instant::now();
    futures::stream::iter(0..ORPHANS)
        .map(|i| {
            let s3 = env.s3.clone();
            let bucket = bucket.clone();
            let table = env.client.table_name::<Record>();
            async move {
                // As a crashed save leaves them: under the prefixes, owned by this model.
                let (prefix, field) = if i % 2 == 0 {
                    ("content", "content")
                } else {
                    ("thumbs", "thumb")
                };
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}/orphan/{i}/x.bin"))
                    .metadata(dynox_s3::OWNER_METADATA, format!("{table}/{field}"))
                    .body(vec![1u8; 16].into())
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    env.s3
        .put_object()
        .bucket(&bucket)
        .key("elsewhere/keep.bin")
        .body(vec![1u8].into())
        .send()
        .await
        .unwrap();
    // Under the prefix but not this model's: no owner, and another environment's table.
    for (key, owner) in [
        ("content/foreign/a.bin", None),
        ("content/foreign/b.bin", Some("prod-records/content")),
    ] {
        env.s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .set_metadata(
                owner.map(|o| [(dynox_s3::OWNER_METADATA.to_owned(), o.to_owned())].into()),
            )
            .body(vec![1u8].into())
            .send()
            .await
            .unwrap();
    }
    let seeded_in = started.elapsed();

    // Just made: inside the grace period, so nothing is an orphan yet.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 0, "{report}");
    assert_eq!(report.too_young, ORPHANS as u64 + 2);
    // Five: the plain, compressed and shared files, the typed value and the moved overflow
    // value.
    assert_eq!(report.referenced, 5);

    // A day and a half later, as a dry run: found, not deleted.
    let later = SystemTime::now() + Duration::from_secs(36 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.orphans.len(), ORPHANS);
    assert_eq!(
        report.not_owned, 2,
        "objects of no or another owner are left alone"
    );
    assert_eq!(report.deleted, 0);
    assert_eq!(env.keys("records").await.len(), ORPHANS + 8);

    // A 4 KiB memory budget: the listing and the references go through many sorted runs on
    // disk, with the same result.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .segments(3)
        .memory_budget(4 * 1024)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, ORPHANS as u64, "{report}");
    assert_eq!(report.orphans_found, ORPHANS as u64, "{report}");
    assert!(report.failed.is_empty(), "{report}");
    println!(
        "sweep: seeded {ORPHANS} orphans in {seeded_in:.2?}; found {}, deleted {} in {:.2?} ({} items scanned, {} objects listed)",
        report.orphans.len(),
        report.deleted,
        report.duration,
        report.items_scanned,
        report.objects_listed
    );
    let mut left = env.keys("records").await;
    left.sort();
    let mut expected = vec![
        "content/foreign/a.bin".to_owned(),
        "content/foreign/b.bin".to_owned(),
        "elsewhere/keep.bin".to_owned(),
        kept.content.as_ref().unwrap().stored().unwrap().key.clone(),
        kept.thumb.stored().unwrap().key.clone(),
        kept.blob.as_ref().unwrap().stored().unwrap().key.clone(),
        kept.summary
            .as_ref()
            .unwrap()
            .object()
            .key()
            .unwrap()
            .to_owned(),
    ];
    expected.extend(
        raw_references(&env, "live")
            .await
            .into_iter()
            .filter(|k| k.starts_with("notes/")),
    );
    expected.sort();
    assert_eq!(left, expected);
    // The live item is intact.
    let live = Record::get(&env.client, "live").await.unwrap().unwrap();
    live.content.unwrap().get_bytes(&env.client).await.unwrap();
}

#[tokio::test]
async fn the_sweep_aborts_stale_multipart_uploads_under_the_prefixes() {
    let env = file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    let started = env
        .s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("content/crashed/upload/big.bin")
        .send()
        .await
        .unwrap();
    let outside = env
        .s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("elsewhere/big.bin")
        .send()
        .await
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    if !report.multipart_listing_unsupported.is_empty() {
        dynox_tests::capability_note(
            &env.backend,
            "the_sweep_aborts_stale_multipart_uploads_under_the_prefixes",
            "this server cannot list multipart uploads; checked on moto",
        );
        return;
    }
    assert_eq!(report.aborted, 1, "{report:?}");
    assert_eq!(
        report.stale_uploads[0].upload_id,
        started.upload_id.clone().unwrap()
    );
    let left = env
        .s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = left
        .uploads
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| u.upload_id)
        .collect();
    assert_eq!(
        ids,
        vec![outside.upload_id.unwrap()],
        "only the upload outside the prefixes is left"
    );
}

#[tokio::test]
async fn the_sweep_reports_objects_it_could_not_delete() {
    let (env, faults) = faulty_file_env::<Record>(&["records"], S3Settings::default()).await;
    let bucket = env.bucket("records").to_owned();
    for i in 0..5 {
        env.s3
            .put_object()
            .bucket(&bucket)
            .key(format!("content/o/{i}/x.bin"))
            .metadata(
                dynox_s3::OWNER_METADATA,
                format!("{}/content", env.client.table_name::<Record>()),
            )
            .body(vec![1u8].into())
            .send()
            .await
            .unwrap();
    }
    faults.reset();
    faults.fail_nth(1, Some("DeleteObjects"), FaultKind::ServerError);
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.orphans.len(), 5);
    assert_eq!(report.deleted, 0);
    assert_eq!(report.failed.len(), 5, "{report}");
    assert!(
        report
            .failed
            .iter()
            .all(|(key, error)| key.starts_with("content/o/") && error.contains("InternalError")),
        "{report}"
    );
    // The next sweep gets them.
    let report = dynox_s3::sweep::<Record>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 5, "{report}");
}
