//! Step 3: sort the listed objects into referenced, kept, too young, not owned and orphans,
//! by a merge join of the sorted listing with the sorted references and kept marks; old
//! unreferenced objects go to the owner check (and, unless a dry run, to step 4's deletes) in
//! batches, so nothing grows with the bucket but the counts.

use std::sync::Arc;

use futures::StreamExt;

use super::delete;
use super::listing::{decode, lookup, Listed, Listing, Record};
use super::references::References;
use super::report::Orphan;
use super::scope::Scope;
use super::spill::Spill;
use super::SweepError;
use crate::error::S3Error;
use crate::kept;
use crate::settings::Runtime;
use crate::upload::OWNER_METADATA;

/// Ownership checks (HEAD requests) running at once.
const OWNER_CHECKS_IN_FLIGHT: usize = 16;

/// Candidates checked (and deleted) together.
const CANDIDATE_BATCH: usize = 1000;

/// Orphans the report lists one by one; beyond, it counts them.
pub(super) const REPORTED_ORPHANS: usize = 10_000;

/// What the listed objects turned out to be, and what deleting the orphans did.
#[derive(Default)]
pub(super) struct Classified {
    /// Objects an item references.
    pub referenced: u64,
    /// Unreferenced objects the user kept (a cleared field's file), and their marks.
    pub kept: u64,
    /// Unreferenced objects inside the grace period.
    pub too_young: u64,
    /// Old unreferenced objects this model's saves did not create.
    pub not_owned: u64,
    /// The first [`REPORTED_ORPHANS`] orphans, sorted by bucket and key.
    pub orphans: Vec<Orphan>,
    /// Every orphan found.
    pub orphans_found: u64,
    /// Orphans deleted (none on a dry run).
    pub deleted: u64,
    /// Orphans not deleted: the key and why.
    pub failed: Vec<(String, String)>,
}

/// Classifies the listing against the references (see the module docs); deletes the orphans
/// unless `dry_run`.
pub(super) async fn classify(
    runtime: &Runtime,
    scope: &Scope,
    listing: Listing,
    references: References,
    dry_run: bool,
    memory: usize,
) -> Result<Classified, SweepError> {
    let Listing {
        mut objects,
        mut marked,
        ..
    } = listing;
    let mut references = references.objects;
    let mut classified = Classified::default();
    let mut batch = Vec::new();
    // Marks wait until every object is seen: a mark is kept with its object, and swept like
    // any orphan once the object is gone. Both go through sorted spills.
    let mut marks = Spill::new(memory / 8);
    let mut marked_present = Spill::new(memory / 8);
    let mut previous: Option<Vec<u8>> = None;
    while let Some(raw) = objects.next_record()? {
        let Some(record) = decode(&raw) else { continue };
        let look = record.lookup();
        // Listed twice (overlapping prefixes): once is enough.
        if previous.as_deref() == Some(look.as_slice()) {
            continue;
        }
        previous = Some(look.clone());
        let has_mark = marked.advance_to(&look)?;
        if has_mark {
            marked_present.push(look.clone())?;
        }
        if references.advance_to(&look)? {
            classified.referenced += 1;
        } else if let Some(target) = kept::kept_by(&record.key) {
            let mut deferred = lookup(&record.bucket, target);
            deferred.push(0);
            deferred.extend_from_slice(&raw);
            marks.push(deferred)?;
        } else if has_mark {
            classified.kept += 1;
        } else {
            candidate(runtime, scope, record, &mut batch, &mut classified, dry_run).await?;
        }
    }
    let mut marked_present = marked_present.into_sorted()?;
    let mut marks = marks.into_sorted()?;
    while let Some(deferred) = marks.next_record()? {
        // `bucket\0target\0` then the mark's own listing record.
        let Some(first) = deferred.iter().position(|b| *b == 0) else {
            continue;
        };
        let Some(second) = deferred[first + 1..].iter().position(|b| *b == 0) else {
            continue;
        };
        let split = first + 1 + second;
        if marked_present.advance_to(&deferred[..split])? {
            classified.kept += 1;
        } else if let Some(record) = decode(&deferred[split + 1..]) {
            candidate(runtime, scope, record, &mut batch, &mut classified, dry_run).await?;
        }
    }
    check_batch(
        runtime,
        scope,
        std::mem::take(&mut batch),
        &mut classified,
        dry_run,
    )
    .await?;
    Ok(classified)
}

/// An unreferenced, unkept object: too young, or a candidate for the owner check (checked
/// once a batch is full).
async fn candidate(
    runtime: &Runtime,
    scope: &Scope,
    record: Record,
    batch: &mut Vec<Listed>,
    classified: &mut Classified,
    dry_run: bool,
) -> Result<(), SweepError> {
    if scope.too_young(record.modified) {
        classified.too_young += 1;
        return Ok(());
    }
    let Some(place) = scope.places.get(record.place) else {
        return Ok(());
    };
    batch.push(Listed {
        region: place.region,
        client: place.client,
        checked_last_modified: None,
        object: Orphan {
            bucket: record.bucket,
            key: record.key,
            size: record.size,
            last_modified: record.modified,
        },
    });
    if batch.len() >= CANDIDATE_BATCH {
        check_batch(runtime, scope, std::mem::take(batch), classified, dry_run).await?;
    }
    Ok(())
}

/// The owner check of a batch of candidates (one HEAD each, [`OWNER_CHECKS_IN_FLIGHT`] at
/// once), then the deletes of its orphans unless `dry_run`.
async fn check_batch(
    runtime: &Runtime,
    scope: &Scope,
    candidates: Vec<Listed>,
    classified: &mut Classified,
    dry_run: bool,
) -> Result<(), SweepError> {
    if candidates.is_empty() {
        return Ok(());
    }
    // The futures own what they use, so the sweep's future stays `Send`.
    let owners: Arc<[String]> = scope.owners.clone().into();
    let cutoff = scope.cutoff;
    let checks = candidates
        .into_iter()
        .map(|candidate| {
            let s3 = runtime.client_named(candidate.client, candidate.region)?;
            Ok(check(s3, candidate, owners.clone(), cutoff))
        })
        .collect::<Result<Vec<_>, S3Error>>()?;
    let mut checks = futures::stream::iter(checks).buffer_unordered(OWNER_CHECKS_IN_FLIGHT);
    let mut orphans = Vec::new();
    while let Some((candidate, verdict)) = checks.next().await {
        match verdict? {
            Verdict::Orphan => orphans.push(candidate),
            Verdict::NotOwned => classified.not_owned += 1,
            Verdict::TooYoung => classified.too_young += 1,
        }
    }
    orphans
        .sort_by(|a, b| (&a.object.bucket, &a.object.key).cmp(&(&b.object.bucket, &b.object.key)));
    classified.orphans_found += orphans.len() as u64;
    let room = REPORTED_ORPHANS.saturating_sub(classified.orphans.len());
    classified
        .orphans
        .extend(orphans.iter().take(room).map(|o| o.object.clone()));
    if !dry_run {
        let deleted = delete::orphans(runtime, &orphans).await;
        classified.deleted += deleted.deleted;
        classified.failed.extend(deleted.failed);
    }
    Ok(())
}

/// What the owner check found.
enum Verdict {
    /// This model's, unreferenced and old: delete it.
    Orphan,
    /// Not this model's object (or gone meanwhile).
    NotOwned,
    /// Modified since the listing, inside the grace period: a save touched it (a shared object
    /// about to be referenced again) or rewrote it.
    TooYoung,
}

/// Whether the object's `dynox-owner` metadata names one of `owners`, and whether it is still
/// older than `cutoff` now that the table has been read (an object deleted meanwhile is not
/// owned).
async fn check(
    s3: aws_sdk_s3::Client,
    mut candidate: Listed,
    owners: Arc<[String]>,
    cutoff: std::time::SystemTime,
) -> (Listed, Result<Verdict, S3Error>) {
    let (bucket, key) = (&candidate.object.bucket, &candidate.object.key);
    let verdict = match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => {
            let owned = head
                .metadata
                .and_then(|m| m.get(OWNER_METADATA).cloned())
                .is_some_and(|owner| owners.contains(&owner));
            let modified = head
                .last_modified
                .and_then(|t| std::time::SystemTime::try_from(t).ok());
            if !owned {
                Ok(Verdict::NotOwned)
            } else if modified.is_some_and(|m| m > cutoff) {
                Ok(Verdict::TooYoung)
            } else {
                candidate.checked_last_modified = head.last_modified;
                Ok(Verdict::Orphan)
            }
        }
        Err(e) => match S3Error::from_sdk(e, "HeadObject", bucket, key) {
            S3Error::NoSuchKey { .. } => Ok(Verdict::NotOwned),
            other => Err(other),
        },
    };
    (candidate, verdict)
}
