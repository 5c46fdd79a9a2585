//! Step 3: sort the listed objects into referenced, kept, too young, not owned and orphans.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use super::listing::Listed;
use super::references::References;
use super::scope::Scope;
use crate::error::S3Error;
use crate::kept;
use crate::settings::Runtime;
use crate::upload::OWNER_METADATA;

/// Ownership checks (HEAD requests) running at once.
const OWNER_CHECKS_IN_FLIGHT: usize = 16;

/// What the listed objects turned out to be.
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
    /// Old unreferenced objects of this model, sorted by bucket and key.
    pub orphans: Vec<Listed>,
}

/// Classifies the listed objects: by reference and age first, then by owner (one HEAD per
/// old unreferenced object, [`OWNER_CHECKS_IN_FLIGHT`] at once).
pub(super) async fn classify(
    runtime: &Runtime,
    scope: &Scope,
    listed: Vec<Listed>,
    references: &References,
) -> Result<Classified, S3Error> {
    let mut classified = Classified::default();
    let mut candidates = Vec::new();
    // Kept objects: those with a mark beside them (see `kept`); a mark is kept with its
    // object, and swept like any orphan once the object is gone.
    let present: HashSet<(&str, &str)> = listed
        .iter()
        .map(|l| (l.object.bucket.as_str(), l.object.key.as_str()))
        .collect();
    let kept: HashSet<(String, String)> = listed
        .iter()
        .filter_map(|l| {
            let target = kept::kept_by(&l.object.key)?;
            present
                .contains(&(l.object.bucket.as_str(), target))
                .then(|| (l.object.bucket.clone(), target.to_owned()))
        })
        .collect();
    let is_kept = |bucket: &str, key: &str| {
        let target = kept::kept_by(key).unwrap_or(key);
        kept.contains(&(bucket.to_owned(), target.to_owned()))
    };
    for listed in listed {
        if references.contains(&listed.object.bucket, &listed.object.key) {
            classified.referenced += 1;
        } else if is_kept(&listed.object.bucket, &listed.object.key) {
            classified.kept += 1;
        } else if scope.too_young(listed.object.last_modified) {
            classified.too_young += 1;
        } else {
            candidates.push(listed);
        }
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
    while let Some((candidate, verdict)) = checks.next().await {
        match verdict? {
            Verdict::Orphan => classified.orphans.push(candidate),
            Verdict::NotOwned => classified.not_owned += 1,
            Verdict::TooYoung => classified.too_young += 1,
        }
    }
    classified
        .orphans
        .sort_by(|a, b| (&a.object.bucket, &a.object.key).cmp(&(&b.object.bucket, &b.object.key)));
    Ok(classified)
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
