//! The orphan sweep: finds objects under a model's file prefixes that no item references and
//! deletes those older than a grace period; aborts stale incomplete multipart uploads.
//!
//! dynox deletes every object it created before a failing call returns. Only a crash (the
//! process dies between two requests) or a cleanup that failed twice can leave an object no
//! item references; so can clearing an optional file field (which keeps the object, marked
//! kept). The sweep removes the orphans and leaves the kept files. A file another tool
//! cleared to `NULL` without a mark (pydynox) is kept too: an orphan candidate that names its
//! item (`dynox-key` metadata) is first checked against that item, and kept (and marked) if
//! the item exists with the field `NULL`. (dynox removes a cleared attribute, marking the file
//! first when it is to stay: a removed attribute without a mark is a delete that did not
//! happen.) The steps:
//!
//! 1. `listing`: list the objects under each field's keys' fixed leading part (`scope`: its
//!    prefix, or its key template's text before the first per-item placeholder), each bucket's
//!    prefixes listed once, a prefix inside another through the shorter one, so each object
//!    is listed once;
//! 2. `references`: read every item's file references (core's Scan of the key and file
//!    attributes only, consistent, in parallel segments);
//! 3. `classify`: a merge join of the two, both sorted (`spill`: sorted runs written to
//!    temporary files once the memory budget is full, merged back in order), so memory stays
//!    within the budget (64 MiB by default, [`Sweep::memory_budget`]) whatever the bucket and
//!    table hold; objects not referenced, not kept, last modified before now − grace and owned
//!    by this model are orphans, checked in batches of 1,000; a kept mark older than the
//!    grace period on an object an item references is stale (a crash between a save's mark
//!    and its write leaves one), and goes the same way (the object stays);
//! 4. `delete`: delete each batch's orphans and stale marks in DeleteObjects requests (unless
//!    a dry run);
//! 5. `uploads`: abort the stale multipart uploads under the prefixes (unless a dry run);
//! 6. `report`: say what was found and done (the first 10,000 orphans by name, all by count).
//!
//! It lists before it scans, and the grace period (24 hours by default) must exceed the
//! longest save: an object uploaded by a save still in progress is younger than the grace
//! period, so it is never taken for an orphan. Times are compared as absolute instants (S3's
//! UTC timestamps against the system clock), never as local times. Nothing outside the
//! model's prefixes is listed (a field whose keys have no fixed leading part has its whole
//! bucket listed, and the report's [`whole_buckets`](SweepReport::whole_buckets) and a
//! warning say so), and an unreferenced object is deleted only if its `dynox-owner` metadata
//! names this model's table (with the client's prefix) and one of its file fields whose
//! prefix the key starts with (one HEAD per candidate): another model, environment or
//! application sharing the bucket or prefix is never touched. Stale multipart uploads are
//! aborted only under non-empty prefixes. An item whose file attribute cannot be read stops
//! the sweep. A kept mark younger than the grace period stays, whatever its object: a save
//! clearing the field may be in flight.
//!
//! Dry run by default: the report says what would be deleted.

mod classify;
mod delete;
mod listing;
mod references;
mod report;
mod scope;
mod spill;
mod uploads;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use dynox_core::{Client, Model};

pub use report::{Orphan, StaleUpload, SweepReport, SweepSteps};

use crate::error::S3Error;
use crate::models::FileModels;
use crate::settings::Runtime;
use scope::Scope;

/// A sweep of the file prefixes of model `M` (or of the models of a tuple): [`sweep`].
#[must_use = "a sweep does nothing until awaited"]
pub struct Sweep<'a, M> {
    client: &'a Client,
    grace: Duration,
    dry_run: bool,
    segments: u32,
    now: Option<SystemTime>,
    memory: usize,
    model: std::marker::PhantomData<fn() -> M>,
}

/// Starts describing a sweep of model `M`'s file prefixes (or of the models of a tuple that
/// share a table, `sweep::<(Invoice, Return)>`: one scan of the table for all of them, see
/// [`FileModels`]): dry run, 24-hour grace period, 4 scan segments.
///
/// ```no_run
/// # #[derive(dynox_core::DynamoModel)]
/// # #[dynamo(table = "documents")]
/// # struct Document {
/// #     #[dynamo(hash_key)] pk: String,
/// #     #[s3(bucket = "company-docs", prefix = "documents/")] content: Option<dynox_s3::S3Object>,
/// # }
/// # async fn demo(client: &dynox_core::Client) -> dynox_core::Result<()> {
/// let report = dynox_s3::sweep::<Document>(client).await?;   // what would go
/// println!("{report}");
/// let report = dynox_s3::sweep::<Document>(client).delete().await?; // delete it
/// # Ok(()) }
/// ```
///
/// The sweep's future is `Send`: a sweep can be `tokio::spawn`ed.
pub fn sweep<M: FileModels>(client: &Client) -> Sweep<'_, M> {
    Sweep {
        client,
        grace: Duration::from_secs(24 * 3600),
        dry_run: true,
        segments: 4,
        now: None,
        memory: spill::RUN_BYTES,
        model: std::marker::PhantomData,
    }
}

/// Why a sweep could not run (it becomes a [`dynox_core::Error`] when the sweep is awaited).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SweepError {
    /// Listing objects, checking their owner or listing multipart uploads failed (the S3
    /// error is the source).
    #[error("sweep stopped: an S3 request failed")]
    S3(#[from] S3Error),
    /// Reading the table's file references failed: core's error, as for any Scan
    /// (`Throttled`, `TableNotFound`, `Transport`, ...), or `InvalidField` for an item whose
    /// file attribute cannot be read (its object cannot be told apart from an orphan). The
    /// error is the source.
    #[error("sweep stopped: reading the table's file references failed")]
    Table(#[from] dynox_core::Error),
    /// Writing or reading the sweep's temporary files (sorted runs of the listing and the
    /// references, in the system's temporary directory) failed.
    #[error("sweep stopped: its temporary files failed")]
    Spill(#[from] std::io::Error),
}

impl<'a, M: FileModels> IntoFuture for Sweep<'a, M> {
    type Output = dynox_core::Result<SweepReport>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    /// Fails with [`Error::S3`](dynox_core::Error::S3) when listing objects, checking their
    /// owner or listing multipart uploads failed; with core's error, as for any Scan
    /// (`Throttled`, `TableNotFound`, `Transport`, ...), when reading the table's file
    /// references failed, or `InvalidField` for an item whose file attribute cannot be read
    /// (its object cannot be told apart from an orphan); with [`S3Error::Io`] when the
    /// sweep's temporary files (sorted runs, in the system's temporary directory) failed.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.run().await.map_err(|e| match e {
                SweepError::S3(e) => dynox_core::Error::S3(e),
                SweepError::Table(e) => e,
                SweepError::Spill(source) => dynox_core::Error::S3(S3Error::Io {
                    action: "writing or reading the sweep's temporary files in",
                    path: std::env::temp_dir(),
                    source,
                }),
            })
        })
    }
}

impl<M: FileModels> Sweep<'_, M> {
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

    /// The bytes of object keys each of the sweep's sorted sets (the listing, the references)
    /// holds in memory before it writes a sorted run to a temporary file (default 64 MiB).
    /// Memory stays about this size whatever the bucket and table hold; disk use grows with
    /// them instead.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory = bytes.max(1);
        self
    }

    /// Measure ages from this instant instead of the system clock (for tests and replays).
    pub fn as_of(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Runs the sweep (what awaiting it does): the steps of the [module docs](self), in that
    /// order.
    async fn run(self) -> Result<SweepReport, SweepError> {
        let started = Instant::now();
        crate::models::check::<M>().map_err(|reason| {
            SweepError::Table(dynox_core::Error::InvalidRequest {
                kind: dynox_core::InvalidRequestKind::TableDefinition,
                reason: format!("sweep of table `{}`: {reason}", M::Table::TABLE),
            })
        })?;
        let runtime = Runtime::of(self.client);
        let now = self.now.unwrap_or_else(SystemTime::now);
        let scope = Scope::of::<M>(self.client, &runtime, now, self.grace);

        // List before reading the references (see the module docs for why).
        let step = Instant::now();
        let listing = listing::objects(&runtime, &scope, self.memory).await?;
        let objects_listed = listing.count;
        let listing_took = step.elapsed();
        let step = Instant::now();
        let references = references::collect::<M>(self.client, self.segments, self.memory).await?;
        let items_scanned = references.items;
        let references_took = step.elapsed();
        let step = Instant::now();
        let classified = classify::classify(
            &runtime,
            &scope,
            listing,
            references,
            self.dry_run,
            self.memory,
        )
        .await?;
        let classify_took = step.elapsed();
        let step = Instant::now();
        let uploads = uploads::stale(&runtime, &scope, self.dry_run).await?;
        let uploads_took = step.elapsed();
        let steps = SweepSteps {
            listing: listing_took,
            references: references_took,
            classify: classify_took
                .saturating_sub(classified.owner_checks)
                .saturating_sub(classified.deletes),
            owner_checks: classified.owner_checks,
            deletes: classified.deletes,
            uploads: uploads_took,
        };

        let mut failed = classified.failed;
        failed.extend(uploads.failed);
        if dynox_core::metrics::ENABLED {
            let table = self.client.table_name::<M::Table>();
            let labels = [("table", table.as_str())];
            let count = dynox_core::metrics::count;
            count(
                "dynox_sweep_orphans_total",
                &labels,
                classified.orphans_found,
            );
            count("dynox_sweep_deleted_total", &labels, classified.deleted);
            count("dynox_sweep_failures_total", &labels, failed.len() as u64);
        }
        Ok(SweepReport {
            dry_run: self.dry_run,
            items_scanned,
            objects_listed,
            referenced: classified.referenced,
            kept: classified.kept,
            retained: classified.retained,
            orphans: classified.orphans,
            orphans_found: classified.orphans_found,
            too_young: classified.too_young,
            not_owned: classified.not_owned,
            deleted: classified.deleted,
            stale_marks: classified.stale_marks,
            stale_marks_removed: classified.stale_marks_removed,
            cleared: classified.cleared,
            whole_buckets: scope.whole_buckets,
            failed,
            stale_uploads: uploads.stale,
            aborted: uploads.aborted,
            multipart_listing_unsupported: uploads.listing_unsupported,
            duration: started.elapsed(),
            steps,
        })
    }
}
