//! What a sweep found and did, and how it prints.

use std::fmt;
use std::time::{Duration, SystemTime};

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
///
/// ```no_run
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     #[s3(bucket = "company-docs", prefix = "documents/")] content: Option<dynox_s3::S3Object>,
/// # }
/// # async fn demo(client: &dynox_core::Client) -> dynox_core::Result<()> {
/// let report = dynox_s3::sweep::<Document>(client).delete().await?;
/// println!(
///     "{} orphans deleted, {} stale kept marks removed",
///     report.deleted, report.stale_marks_removed
/// );
/// for (field, bucket) in &report.whole_buckets {
///     eprintln!("`{field}` has no fixed key prefix: the sweep listed all of s3://{bucket}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// Items read from the table.
    pub items_scanned: u64,
    /// Objects listed under the model's prefixes (each once, however the fields' prefixes
    /// overlap).
    pub objects_listed: u64,
    /// Objects an item references.
    pub referenced: u64,
    /// Unreferenced objects the user chose to keep (files of cleared fields), with their
    /// marks: never deleted.
    pub kept: u64,
    /// Unreferenced objects a write replaced or deleted whose field's retention has not
    /// passed yet (`#[s3(retain = "...")]`, [`S3Settings::retain`](crate::S3Settings::retain)),
    /// with their retention marks: left readable; a sweep after the deadline deletes them.
    pub retained: u64,
    /// Unreferenced objects older than the grace period: deleted, or to delete on a dry run;
    /// the first 10,000, sorted by bucket and key ([`orphans_found`](Self::orphans_found)
    /// counts them all).
    pub orphans: Vec<Orphan>,
    /// Every orphan found (the report lists the first 10,000 in [`orphans`](Self::orphans)).
    pub orphans_found: u64,
    /// Unreferenced objects inside the grace period, left alone (kept marks on referenced
    /// objects included: a save clearing the field may be in flight).
    pub too_young: u64,
    /// Unreferenced objects another model, environment or application owns, left alone.
    pub not_owned: u64,
    /// Orphans deleted.
    pub deleted: u64,
    /// Kept marks older than the grace period on objects an item references: removed, or to
    /// remove on a dry run. A crash between a save's mark and its write leaves one; the object
    /// stays (it is referenced) and only its mark goes, so that the file is not kept for good
    /// once the item stops referencing it.
    pub stale_marks: u64,
    /// Stale kept marks removed.
    pub stale_marks_removed: u64,
    /// Unreferenced objects whose item still exists with the field `NULL`, cleared by a writer
    /// that marks no kept files (pydynox): a cleared file is kept whoever clears it,
    /// so these stay, and are marked kept (unless a dry run), so later sweeps count them in
    /// [`kept`](Self::kept). An object uploaded before dynox recorded its item
    /// (`dynox-key` metadata) cannot be told apart and is treated as an orphan.
    pub cleared: u64,
    /// `(field, bucket)` of each field whose keys have no fixed leading part (no prefix, and a
    /// key template starting with a per-item placeholder): the sweep listed that whole bucket
    /// (and logged a warning). Give the field a `prefix`, or start its `key` with fixed text,
    /// to scope it.
    pub whole_buckets: Vec<(&'static str, String)>,
    /// Orphans and stale kept marks that could not be deleted: the key and why.
    pub failed: Vec<(String, String)>,
    /// Incomplete multipart uploads older than the grace period: aborted, or to abort.
    pub stale_uploads: Vec<StaleUpload>,
    /// Stale uploads aborted.
    pub aborted: u64,
    /// Buckets whose server cannot list multipart uploads.
    pub multipart_listing_unsupported: Vec<String>,
    /// How long the sweep took.
    pub duration: Duration,
    /// How long each of its steps took (they add up to about [`duration`](Self::duration)).
    pub steps: SweepSteps,
}

/// How long each step of a sweep took (the steps of the [sweep module docs](mod@crate::sweep)):
/// where a slow sweep spends its time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepSteps {
    /// Listing the objects under the prefixes (ListObjectsV2 pages) and sorting them.
    pub listing: Duration,
    /// Reading the table's file references (the Scan) and sorting them.
    pub references: Duration,
    /// The merge join of the listing with the references and kept marks (the sweep's own
    /// work, its temporary files included), without the owner checks and deletes.
    pub classify: Duration,
    /// The owner checks of the candidates (HeadObject, and GetItem where an object names its
    /// item).
    pub owner_checks: Duration,
    /// Deleting the orphans and stale marks (DeleteObjects; nothing on a dry run).
    pub deletes: Duration,
    /// Listing (and aborting) stale multipart uploads.
    pub uploads: Duration,
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deleted = if self.dry_run {
            " (dry run: none deleted)".to_owned()
        } else {
            format!(" ({} deleted)", self.deleted)
        };
        let removed = if self.dry_run {
            String::new()
        } else {
            format!(" ({} removed)", self.stale_marks_removed)
        };
        let aborted = if self.dry_run {
            String::new()
        } else {
            format!(" ({} aborted)", self.aborted)
        };
        writeln!(
            f,
            "{} items scanned, {} objects listed, {} referenced, {} kept, {} retained, {} cleared elsewhere, {} orphans{deleted}, {} stale kept marks{removed}, {} too young, {} not owned, {} failed; {} stale multipart uploads{aborted} ({:.2?})",
            self.items_scanned,
            self.objects_listed,
            self.referenced,
            self.kept,
            self.retained,
            self.cleared,
            self.orphans_found,
            self.stale_marks,
            self.too_young,
            self.not_owned,
            self.failed.len(),
            self.stale_uploads.len(),
            self.duration,
        )?;
        for (field, bucket) in &self.whole_buckets {
            writeln!(
                f,
                "  listed all of s3://{bucket}: field `{field}` has no fixed key prefix"
            )?;
        }
        let verb = if self.dry_run {
            "would delete"
        } else {
            "orphan"
        };
        for orphan in &self.orphans {
            writeln!(
                f,
                "  {verb} s3://{}/{} ({} bytes)",
                orphan.bucket, orphan.key, orphan.size
            )?;
        }
        for (key, error) in &self.failed {
            writeln!(f, "  failed {key}: {error}")?;
        }
        Ok(())
    }
}
