//! The orphan sweep: finds objects under a model's file prefixes that no item references and
//! deletes those older than a grace period; aborts stale incomplete multipart uploads.
//!
//! dynox deletes every object it created before a failing call returns. Only a crash (the
//! process dies between two requests) or a cleanup that failed twice can leave an object no
//! item references; so can clearing an optional file field (which keeps the object). The sweep
//! removes those:
//!
//! 1. list the objects under each (bucket, prefix) of the model's file fields;
//! 2. read every item's file references (a Scan of the file attributes only, in parallel
//!    segments);
//! 3. objects not referenced and last modified before now − grace are orphans.
//!
//! It lists before it scans, and the grace period (24 hours by default) must exceed the
//! longest save: an object uploaded by a save still in progress is younger than the grace
//! period, so it is never taken for an orphan. Times are compared as absolute instants (S3's
//! UTC timestamps against the system clock), never as local times. Nothing outside the
//! model's prefixes is listed, and an unreferenced object is deleted only if its
//! `dynox-owner` metadata names this model's table (with the client's prefix) and one of its
//! file fields (one HEAD per candidate): another model, environment or application sharing
//! the bucket or prefix is never touched. Stale multipart uploads are aborted only under
//! non-empty prefixes. An item whose file attribute cannot be read stops the sweep.
//!
//! Dry run by default: the report says what would be deleted.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use dynox_core::files::FileStore;
use dynox_core::Client;
use futures::future::try_join_all;
use futures::StreamExt;

/// Ownership checks (HEAD requests) running at once.
const OWNER_CHECKS_IN_FLIGHT: usize = 16;

use crate::error::S3Error;
use crate::settings::Runtime;
use crate::store::{S3Files, S3Model};
use crate::upload::OWNER_METADATA;

/// An object no item references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last modified.
    pub last_modified: SystemTime,
}

/// An incomplete multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleUpload {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When it was started.
    pub initiated: SystemTime,
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// Items read from the table.
    pub items_scanned: u64,
    /// Objects listed under the model's prefixes.
    pub objects_listed: u64,
    /// Objects an item references.
    pub referenced: u64,
    /// Unreferenced objects older than the grace period: deleted, or to delete on a dry run.
    pub orphans: Vec<Orphan>,
    /// Unreferenced objects inside the grace period, left alone.
    pub too_young: u64,
    /// Unreferenced objects another model, environment or application owns, left alone.
    pub not_owned: u64,
    /// Orphans deleted.
    pub deleted: u64,
    /// Orphans that could not be deleted: the key and why.
    pub failed: Vec<(String, String)>,
    /// Incomplete multipart uploads older than the grace period: aborted, or to abort.
    pub stale_uploads: Vec<StaleUpload>,
    /// Stale uploads aborted.
    pub aborted: u64,
    /// Buckets whose server cannot list multipart uploads.
    pub multipart_listing_unsupported: Vec<String>,
    /// How long the sweep took.
    pub duration: Duration,
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} items scanned, {} objects listed, {} referenced, {} orphans{}, {} too young, {} not owned, {} failed; {} stale multipart uploads{} ({:.2?})",
            self.items_scanned,
            self.objects_listed,
            self.referenced,
            self.orphans.len(),
            if self.dry_run { " (dry run: none deleted)".to_owned() } else { format!(" ({} deleted)", self.deleted) },
            self.too_young,
            self.not_owned,
            self.failed.len(),
            self.stale_uploads.len(),
            if self.dry_run { String::new() } else { format!(" ({} aborted)", self.aborted) },
            self.duration,
        )?;
        for orphan in &self.orphans {
            writeln!(
                f,
                "  {} s3://{}/{} ({} bytes)",
                if self.dry_run {
                    "would delete"
                } else {
                    "orphan"
                },
                orphan.bucket,
                orphan.key,
                orphan.size
            )?;
        }
        for (key, error) in &self.failed {
            writeln!(f, "  failed {key}: {error}")?;
        }
        Ok(())
    }
}

/// A sweep of model `M`'s file prefixes: [`sweep`].
#[must_use = "a sweep does nothing until run"]
pub struct Sweep<'a, M> {
    client: &'a Client,
    grace: Duration,
    dry_run: bool,
    segments: u32,
    now: Option<SystemTime>,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Starts describing a sweep of model `M`'s file prefixes: dry run, 24-hour grace period,
/// 4 scan segments.
///
/// ```no_run
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     #[s3(bucket = "company-docs", prefix = "documents/")] content: Option<dynox_s3::S3Object>,
/// # }
/// # async fn demo(client: &dynox_core::Client) -> Result<(), dynox_s3::SweepError> {
/// let report = dynox_s3::sweep::<Document>(client).run().await?;   // what would go
/// println!("{report}");
/// let report = dynox_s3::sweep::<Document>(client).delete().run().await?; // delete it
/// # Ok(()) }
/// ```
pub fn sweep<M: S3Model>(client: &Client) -> Sweep<'_, M> {
    Sweep {
        client,
        grace: Duration::from_secs(24 * 3600),
        dry_run: true,
        segments: 4,
        now: None,
        model: std::marker::PhantomData,
    }
}

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// Listing or deleting objects failed.
    #[error("sweep: {0}")]
    S3(#[from] S3Error),
    /// Scanning the table failed.
    #[error("sweep: {0}")]
    Table(#[from] dynox_core::Error),
}

impl<M: S3Model> Sweep<'_, M> {
    /// Only objects last modified more than `grace` ago are orphans (default 24 hours; keep it
    /// well above your longest upload).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Really delete (the default is a dry run).
    pub fn delete(mut self) -> Self {
        self.dry_run = false;
        self
    }

    /// Parallel segments of the table scan (default 4).
    pub fn segments(mut self, segments: u32) -> Self {
        self.segments = segments.clamp(1, 1_000_000);
        self
    }

    /// Measure ages from this instant instead of the system clock (for tests and replays).
    pub fn as_of(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Runs the sweep.
    pub async fn run(self) -> Result<SweepReport, SweepError> {
        let started = Instant::now();
        let runtime = Runtime::of(self.client);
        let now = self.now.unwrap_or_else(SystemTime::now);
        let cutoff = now
            .checked_sub(self.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = SweepReport {
            dry_run: self.dry_run,
            ..SweepReport::default()
        };

        // The (bucket, prefix, region) places to sweep, without duplicates.
        let mut places: Vec<(String, &'static str, Option<&'static str>)> = Vec::new();
        for field in M::S3_FIELDS {
            let place = (
                runtime.bucket(field.bucket).to_owned(),
                field.prefix,
                field.region,
            );
            if !places.contains(&place) {
                places.push(place);
            }
        }
        // The owners whose objects this sweep may delete.
        let table = self.client.table_name::<M>();
        let owners: Vec<String> = M::S3_FIELDS
            .iter()
            .map(|f| format!("{table}/{}", f.name))
            .collect();

        // 1. List first (see the module docs for why the order matters).
        let mut listed = Vec::new();
        for (bucket, prefix, region) in &places {
            let s3 = runtime.client(*region);
            let mut pages = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(*prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| S3Error::from_sdk(e, "ListObjectsV2", bucket, prefix))?;
                for object in page.contents.unwrap_or_default() {
                    let Some(key) = object.key else { continue };
                    let modified = object
                        .last_modified
                        .and_then(|d| SystemTime::try_from(d).ok())
                        .unwrap_or(now);
                    listed.push((
                        bucket.clone(),
                        *region,
                        key,
                        object.size.unwrap_or(0).max(0) as u64,
                        modified,
                    ));
                }
            }
        }
        report.objects_listed = listed.len() as u64;

        // 2. Every reference in the table.
        let (referenced, items) = self.references().await?;
        report.items_scanned = items;

        // 3. Orphans: unreferenced, old enough, and owned by this model (HEADs in parallel).
        let mut candidates = Vec::new();
        for (bucket, region, key, size, modified) in listed {
            if referenced.contains(&(bucket.clone(), key.clone())) {
                report.referenced += 1;
            } else if modified > cutoff {
                report.too_young += 1;
            } else {
                candidates.push((
                    region,
                    Orphan {
                        bucket,
                        key,
                        size,
                        last_modified: modified,
                    },
                ));
            }
        }
        let checked: Vec<_> = futures::stream::iter(candidates)
            .map(|(region, orphan)| {
                let s3 = runtime.client(region);
                let owners = &owners;
                async move {
                    let owned = owned(&s3, &orphan.bucket, &orphan.key, owners).await;
                    (region, orphan, owned)
                }
            })
            .buffer_unordered(OWNER_CHECKS_IN_FLIGHT)
            .collect()
            .await;
        let mut orphans: Vec<(Option<&'static str>, Orphan)> = Vec::new();
        for (region, orphan, owned) in checked {
            if owned? {
                orphans.push((region, orphan));
            } else {
                report.not_owned += 1; // not an object this model's saves created
            }
        }
        orphans.sort_by(|a, b| (&a.1.bucket, &a.1.key).cmp(&(&b.1.bucket, &b.1.key)));
        report.orphans = orphans.iter().map(|(_, o)| o.clone()).collect();

        if !self.dry_run {
            for ((bucket, region), group) in group_by_bucket(&orphans) {
                let s3 = runtime.client(region);
                for batch in group.chunks(1000) {
                    let objects = batch
                        .iter()
                        .map(|k| ObjectIdentifier::builder().key(k.as_str()).build())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| S3Error::InvalidReference {
                            reason: e.to_string(),
                        })?;
                    let delete = Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(|e| S3Error::InvalidReference {
                            reason: e.to_string(),
                        })?;
                    match s3
                        .delete_objects()
                        .bucket(&bucket)
                        .delete(delete)
                        .send()
                        .await
                    {
                        Ok(output) => {
                            let errors = output.errors.unwrap_or_default();
                            report.deleted += (batch.len() - errors.len()) as u64;
                            for e in errors {
                                report.failed.push((
                                    e.key.unwrap_or_default(),
                                    format!(
                                        "{}: {}",
                                        e.code.unwrap_or_default(),
                                        e.message.unwrap_or_default()
                                    ),
                                ));
                            }
                        }
                        Err(e) => {
                            let error = S3Error::from_sdk(e, "DeleteObjects", &bucket, "");
                            for key in batch {
                                report.failed.push((key.clone(), error.to_string()));
                            }
                        }
                    }
                }
            }
        }

        // Stale multipart uploads under the same prefixes.
        for (bucket, prefix, region) in &places {
            if prefix.is_empty() {
                continue; // uploads carry no owner: abort only under a prefix of ours
            }
            let s3 = runtime.client(*region);
            let listed = s3
                .list_multipart_uploads()
                .bucket(bucket)
                .prefix(*prefix)
                .send()
                .await;
            let uploads = match listed {
                Ok(output) => output.uploads.unwrap_or_default(),
                Err(e) => match S3Error::from_sdk(e, "ListMultipartUploads", bucket, prefix) {
                    S3Error::Service { .. } => {
                        report.multipart_listing_unsupported.push(bucket.clone());
                        continue;
                    }
                    other => return Err(other.into()),
                },
            };
            for upload in uploads {
                let initiated = upload
                    .initiated
                    .and_then(|d| SystemTime::try_from(d).ok())
                    .unwrap_or(now);
                let (Some(key), Some(upload_id)) = (upload.key, upload.upload_id) else {
                    continue;
                };
                if initiated > cutoff {
                    continue;
                }
                if !self.dry_run {
                    let aborted = s3
                        .abort_multipart_upload()
                        .bucket(bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .send()
                        .await;
                    match aborted {
                        Ok(_) => report.aborted += 1,
                        Err(e) => report.failed.push((
                            key.clone(),
                            S3Error::from_sdk(e, "AbortMultipartUpload", bucket, &key).to_string(),
                        )),
                    }
                }
                report.stale_uploads.push(StaleUpload {
                    bucket: bucket.clone(),
                    key,
                    upload_id,
                    initiated,
                });
            }
        }

        report.duration = started.elapsed();
        Ok(report)
    }

    /// Every (bucket, key) the table references, and the number of items read.
    async fn references(&self) -> Result<(HashSet<(String, String)>, u64), SweepError> {
        let table = self.client.table_name::<M>();
        let names = <S3Files<M> as FileStore<M>>::attribute_names();
        let projection: Vec<String> = (0..names.len()).map(|i| format!("#f{i}")).collect();
        let segments = self.segments;
        let scans = (0..segments).map(|segment| {
            let table = table.clone();
            let names = names.clone();
            let projection = projection.join(", ");
            async move {
                let mut request = self
                    .client
                    .dynamodb()
                    .scan()
                    .table_name(&table)
                    .segment(segment as i32)
                    .total_segments(segments as i32)
                    .consistent_read(true)
                    .projection_expression(projection);
                for (i, name) in names.iter().enumerate() {
                    request = request.expression_attribute_names(format!("#f{i}"), *name);
                }
                let mut pages = request.into_paginator().send();
                let mut refs = Vec::new();
                let mut items = 0u64;
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| dynox_core::Error::Service {
                        operation: "Scan",
                        table: table.clone(),
                        code: "ScanFailed".into(),
                        message: e.to_string(),
                        source: Box::new(e),
                    })?;
                    for item in page.items.unwrap_or_default() {
                        items += 1;
                        for name in &names {
                            let Some(value) = item.get(*name) else { continue };
                            match bucket_and_key(value) {
                                Some(r) => refs.push(r),
                                None => {
                                    return Err(dynox_core::Error::InvalidRequest {
                                        kind: dynox_core::InvalidRequestKind::UnreadableFileReference,
                                        reason: format!(
                                            "sweep stopped: file attribute `{name}` of an item in table `{table}` has no bucket and key, so its object cannot be told apart from orphans"
                                        ),
                                    })
                                }
                            }
                        }
                    }
                }
                Ok::<_, dynox_core::Error>((refs, items))
            }
        });
        let results = try_join_all(scans).await?;
        let mut all = HashSet::new();
        let mut items = 0;
        for (refs, n) in results {
            items += n;
            all.extend(refs);
        }
        Ok((all, items))
    }
}

/// The bucket and key of a file attribute, read leniently: only those two must be there.
fn bucket_and_key(value: &dynox_core::item::AttributeValue) -> Option<(String, String)> {
    use dynox_core::item::AttributeValue;
    let AttributeValue::M(map) = value else {
        return match value {
            AttributeValue::Null(_) => Some((String::new(), String::new())),
            _ => None,
        };
    };
    match (map.get("bucket"), map.get("key")) {
        (Some(AttributeValue::S(bucket)), Some(AttributeValue::S(key))) => {
            Some((bucket.clone(), key.clone()))
        }
        _ => None,
    }
}

/// A bucket and its region.
type Place = (String, Option<&'static str>);

fn group_by_bucket(orphans: &[(Option<&'static str>, Orphan)]) -> Vec<(Place, Vec<String>)> {
    let mut groups: Vec<(Place, Vec<String>)> = Vec::new();
    for (region, orphan) in orphans {
        let place = (orphan.bucket.clone(), *region);
        match groups.iter_mut().find(|(p, _)| *p == place) {
            Some((_, keys)) => keys.push(orphan.key.clone()),
            None => groups.push((place, vec![orphan.key.clone()])),
        }
    }
    groups
}

/// Whether the object's `dynox-owner` metadata names one of `owners`.
async fn owned(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    owners: &[String],
) -> Result<bool, S3Error> {
    let head = match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => head,
        Err(e) => match S3Error::from_sdk(e, "HeadObject", bucket, key) {
            S3Error::NoSuchKey { .. } => return Ok(false), // gone meanwhile
            other => return Err(other),
        },
    };
    Ok(head
        .metadata
        .and_then(|m| m.get(OWNER_METADATA).cloned())
        .is_some_and(|owner| owners.contains(&owner)))
}
