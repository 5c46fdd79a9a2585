//! Step 3: sort the listed objects into referenced, kept, too young, not owned and orphans,
//! by a merge join of the sorted listing with the sorted references and kept marks; old
//! unreferenced objects go to the owner check (and, unless a dry run, to step 4's deletes) in
//! batches, so nothing grows with the bucket but the counts.
//!
//! A retention mark whose deadline is still ahead counts as a kept mark (its object is
//! retained, not kept); one whose deadline has passed keeps nothing, so it and its object
//! are old unreferenced objects like any others.
//!
//! A kept mark is judged by the object it keeps: present and unreferenced, the mark is kept
//! with it; gone, the mark is an orphan like any other; present and referenced by an item (a
//! crash between a save's mark and its write leaves that), the mark is stale once older than
//! the grace period, and goes through the same owner check and conditional delete as an
//! orphan (the object, referenced, stays). A younger one may be a save's in flight: too young.

use futures::StreamExt;

use super::delete;
use super::listing::{decode, lookup, Listed, Listing, Record};
use super::references::References;
use super::report::Orphan;
use super::scope::Scope;
use super::spill::Spill;
use super::SweepError;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::kept;
use crate::keys::{decode_item_key, ITEM_KEY_METADATA};
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
    /// Unreferenced objects whose retention has not passed, and their marks.
    pub retained: u64,
    /// Unreferenced objects inside the grace period (kept marks on referenced objects
    /// included).
    pub too_young: u64,
    /// Old unreferenced objects this model's saves did not create.
    pub not_owned: u64,
    /// The first [`REPORTED_ORPHANS`] orphans, sorted by bucket and key.
    pub orphans: Vec<Orphan>,
    /// Every orphan found.
    pub orphans_found: u64,
    /// Orphans deleted (none on a dry run).
    pub deleted: u64,
    /// Kept marks older than the grace period on objects an item references.
    pub stale_marks: u64,
    /// Stale marks removed (none on a dry run).
    pub stale_marks_removed: u64,
    /// Orphans and stale marks not deleted: the key and why.
    pub failed: Vec<(String, String)>,
    /// Old unreferenced objects whose item still exists with the field cleared by a writer
    /// that marks no kept files: kept (and marked kept, unless a dry run).
    pub cleared: u64,
    /// Time spent in the owner checks.
    pub owner_checks: std::time::Duration,
    /// Time spent deleting.
    pub deletes: std::time::Duration,
}

/// What a batch of candidates is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Unreferenced, unkept objects.
    Orphans,
    /// Kept marks on referenced objects.
    StaleMarks,
}

/// Candidates waiting for their owner check, by kind.
struct Batches {
    orphans: Vec<Listed>,
    stale_marks: Vec<Listed>,
}

/// Classifies the listing against the references (see the module docs); deletes the orphans
/// and stale marks unless `dry_run`.
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
        mut retained,
        ..
    } = listing;
    let mut references = references.objects;
    let mut classified = Classified::default();
    let mut batches = Batches {
        orphans: Vec::new(),
        stale_marks: Vec::new(),
    };
    // Marks wait until every object is seen: a mark is kept with its unreferenced object,
    // stale on a referenced one, and swept like any orphan once the object is gone. All go
    // through sorted spills.
    let mut marks = Spill::new(memory / 8);
    let mut marked_unreferenced = Spill::new(memory / 8);
    let mut marked_referenced = Spill::new(memory / 8);
    let mut previous: Option<Vec<u8>> = None;
    while let Some(raw) = objects.next_record()? {
        let Some(record) = decode(&raw) else { continue };
        let look = record.lookup();
        // Listed twice (one bucket through two clients or regions): once is enough.
        if previous.as_deref() == Some(look.as_slice()) {
            continue;
        }
        previous = Some(look.clone());
        let is_kept = marked.advance_to(&look)?;
        let is_retained = retained.advance_to(&look)?;
        let has_mark = is_kept || is_retained;
        if references.advance_to(&look)? {
            classified.referenced += 1;
            if has_mark {
                marked_referenced.push(look)?;
            }
            continue;
        }
        if has_mark {
            marked_unreferenced.push(look.clone())?;
        }
        if let Some(target) = kept::kept_by(&record.key) {
            let mut deferred = lookup(&record.bucket, target);
            deferred.push(0);
            deferred.extend_from_slice(&raw);
            marks.push(deferred)?;
        } else if is_kept {
            classified.kept += 1;
        } else if is_retained {
            classified.retained += 1;
        } else {
            candidate(
                runtime,
                scope,
                record,
                &mut batches.orphans,
                Kind::Orphans,
                &mut classified,
                dry_run,
            )
            .await?;
        }
    }
    let mut marked_unreferenced = marked_unreferenced.into_sorted()?;
    let mut marked_referenced = marked_referenced.into_sorted()?;
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
        let target = &deferred[..split];
        // Both asked in ascending order, every time (a merge join each).
        let keeps = marked_unreferenced.advance_to(target)?;
        let stale = marked_referenced.advance_to(target)?;
        let Some(record) = decode(&deferred[split + 1..]) else {
            continue;
        };
        if keeps {
            match kept::mark_of(&record.key) {
                Some(kept::Mark::Retained(..)) => classified.retained += 1,
                _ => classified.kept += 1,
            }
            continue;
        }
        let (kind, batch) = if stale {
            (Kind::StaleMarks, &mut batches.stale_marks)
        } else {
            (Kind::Orphans, &mut batches.orphans)
        };
        candidate(
            runtime,
            scope,
            record,
            batch,
            kind,
            &mut classified,
            dry_run,
        )
        .await?;
    }
    for (kind, batch) in [
        (Kind::Orphans, batches.orphans),
        (Kind::StaleMarks, batches.stale_marks),
    ] {
        check_batch(runtime, scope, batch, kind, &mut classified, dry_run).await?;
    }
    Ok(classified)
}

/// An unreferenced, unkept object or a mark on a referenced one: too young, or a candidate
/// for the owner check (checked once its batch is full).
async fn candidate(
    runtime: &Runtime,
    scope: &Scope,
    record: Record,
    batch: &mut Vec<Listed>,
    kind: Kind,
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
        owners: scope.owners_of(&record.bucket, &record.key),
        checked_last_modified: None,
        object: Orphan {
            bucket: record.bucket,
            key: record.key,
            size: record.size,
            last_modified: record.modified,
        },
    });
    if batch.len() >= CANDIDATE_BATCH {
        check_batch(
            runtime,
            scope,
            std::mem::take(batch),
            kind,
            classified,
            dry_run,
        )
        .await?;
    }
    Ok(())
}

/// The owner check of a batch of candidates (one HEAD each, [`OWNER_CHECKS_IN_FLIGHT`] at
/// once), then the deletes of those it confirms unless `dry_run`.
async fn check_batch(
    runtime: &Runtime,
    scope: &Scope,
    candidates: Vec<Listed>,
    kind: Kind,
    classified: &mut Classified,
    dry_run: bool,
) -> Result<(), SweepError> {
    if candidates.is_empty() {
        return Ok(());
    }
    // The futures own what they use, so the sweep's future stays `Send`.
    let cutoff = scope.cutoff;
    let checks = candidates
        .into_iter()
        .map(|candidate| {
            let s3 = runtime.client_named(candidate.client, candidate.region)?;
            let client = scope.client.clone().filter(|_| kind == Kind::Orphans);
            Ok(check(s3, client, candidate, cutoff, dry_run))
        })
        .collect::<Result<Vec<_>, S3Error>>()?;
    let step = std::time::Instant::now();
    let mut checks = futures::stream::iter(checks).buffer_unordered(OWNER_CHECKS_IN_FLIGHT);
    let mut confirmed = Vec::new();
    while let Some((candidate, verdict)) = checks.next().await {
        match verdict? {
            Verdict::Orphan => confirmed.push(candidate),
            Verdict::NotOwned => classified.not_owned += 1,
            Verdict::TooYoung => classified.too_young += 1,
            Verdict::Cleared => classified.cleared += 1,
        }
    }
    classified.owner_checks += step.elapsed();
    confirmed
        .sort_by(|a, b| (&a.object.bucket, &a.object.key).cmp(&(&b.object.bucket, &b.object.key)));
    match kind {
        Kind::Orphans => {
            classified.orphans_found += confirmed.len() as u64;
            let room = REPORTED_ORPHANS.saturating_sub(classified.orphans.len());
            classified
                .orphans
                .extend(confirmed.iter().take(room).map(|o| o.object.clone()));
        }
        Kind::StaleMarks => classified.stale_marks += confirmed.len() as u64,
    }
    if !dry_run {
        let step = std::time::Instant::now();
        let deleted = delete::orphans(runtime, &confirmed).await;
        classified.deletes += step.elapsed();
        match kind {
            Kind::Orphans => classified.deleted += deleted.deleted,
            Kind::StaleMarks => classified.stale_marks_removed += deleted.deleted,
        }
        classified.failed.extend(deleted.failed);
    }
    Ok(())
}

/// What the owner check found.
enum Verdict {
    /// This model's, unreferenced (or a stale mark) and old: delete it.
    Orphan,
    /// Not this model's object (or gone meanwhile).
    NotOwned,
    /// Modified since the listing, inside the grace period: a save touched it (a shared object
    /// about to be referenced again), rewrote it, or marked its file again.
    TooYoung,
    /// Its item exists with the field `NULL`, cleared by a writer that marks no kept files
    /// (pydynox): a cleared file is kept, whoever clears it. Marked kept (unless a dry run).
    Cleared,
}

/// Whether the object's `dynox-owner` metadata names one of the candidate's owners, and
/// whether it is still older than `cutoff` now that the table has been read (an object
/// deleted meanwhile is not owned). With `client` (orphan candidates), an object that names
/// the item it was uploaded for ([`ITEM_KEY_METADATA`](crate::keys::ITEM_KEY_METADATA)) is
/// no orphan if that item exists with the field `NULL`: another tool cleared it.
async fn check(
    s3: aws_sdk_s3::Client,
    client: Option<dynox_core::Client>,
    mut candidate: Listed,
    cutoff: std::time::SystemTime,
    dry_run: bool,
) -> (Listed, Result<Verdict, S3Error>) {
    let (bucket, key) = (&candidate.object.bucket, &candidate.object.key);
    let head = match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => head,
        Err(e) => {
            let verdict = match S3Error::from_sdk(e, "HeadObject", bucket, key) {
                S3Error::NoSuchKey { .. } => Ok(Verdict::NotOwned),
                other => Err(other),
            };
            return (candidate, verdict);
        }
    };
    let metadata = head.metadata.unwrap_or_default();
    let Some((owner, field)) = metadata.get(OWNER_METADATA).and_then(|owner| {
        candidate
            .owners
            .iter()
            .find(|(candidate, _)| candidate == owner)
            .cloned()
    }) else {
        return (candidate, Ok(Verdict::NotOwned));
    };
    let modified = head
        .last_modified
        .and_then(|t| std::time::SystemTime::try_from(t).ok());
    if modified.is_some_and(|m| m > cutoff) {
        return (candidate, Ok(Verdict::TooYoung));
    }
    candidate.checked_last_modified = head.last_modified;
    let item_key = metadata
        .get(ITEM_KEY_METADATA)
        .and_then(|text| decode_item_key(text));
    let (Some(client), Some(item_key)) = (client, item_key) else {
        return (candidate, Ok(Verdict::Orphan));
    };
    let table = owner.split_once('/').map_or("", |(table, _)| table);
    let verdict = match cleared_by_another_writer(&client, table, field, item_key).await {
        Ok(false) => Ok(Verdict::Orphan),
        Ok(true) if dry_run => Ok(Verdict::Cleared),
        Ok(true) => kept::mark_one(&s3, bucket, key, owner)
            .await
            .map(|()| Verdict::Cleared),
        Err(e) => Err(e),
    };
    (candidate, verdict)
}

/// Whether the item with `key` in `table` (the owner's: table names hold no `/`) exists with
/// `field` `NULL`, another writer's clear (dynox removes a cleared attribute instead, and
/// marks the file first when it is to stay): a consistent read of the key and that field.
async fn cleared_by_another_writer(
    client: &dynox_core::Client,
    table: &str,
    field: &str,
    key: dynox_core::item::Item,
) -> Result<bool, S3Error> {
    if table.is_empty() {
        return Ok(false);
    }
    let mut names = std::collections::HashMap::from([("#f".to_owned(), field.to_owned())]);
    let mut projection = vec!["#f".to_owned()];
    for (index, name) in key.keys().enumerate() {
        names.insert(format!("#k{index}"), name.clone());
        projection.push(format!("#k{index}"));
    }
    let read = client
        .dynamodb()
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .projection_expression(projection.join(", "))
        .set_expression_attribute_names(Some(names))
        .send()
        .await
        .map_err(|e| S3Error::ItemRead {
            table: table.to_owned(),
            source: Box::new(e),
        })?;
    Ok(read
        .item
        .is_some_and(|item| kept::cleared_elsewhere(item.get(field))))
}
