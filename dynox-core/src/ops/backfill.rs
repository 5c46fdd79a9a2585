//! `backfill`: a typed change applied to every item of a model, by a parallel scan that
//! resumes where it stopped.
//!
//! Each segment of the scan reads a page, decodes its items into the model, hands each to
//! the change, and saves the items the change returned (at most `concurrency` saves in flight
//! per segment), each through the ordinary save: hooks, validation, the version check and the
//! two-store protocol for file fields, exactly as any save. A save is conditional on the item
//! still existing, so a backfill never brings back an item deleted meanwhile; with a version
//! field, on the version read as well. An item that changed or went away since it was read is
//! a conflict, counted and left alone; an item the change or the save failed on is a failure,
//! reported with its key; neither stops the run.
//!
//! After every page, once all its items are done, the checkpoint file (if given) records
//! where each segment is and the counts so far (written to a temporary file, then renamed),
//! so a run stopped at any point (killed, failed, or at `max_items`) resumes after the last
//! finished page: the items of a page it was in the middle of are read again and handed to
//! the change again, which must therefore see that it has nothing left to do (at-least-once).
//! Reads are strongly consistent (a GSI cannot be scanned here). The client's rate limit, if
//! it has one ([`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit)), paces every
//! read and write of the run.

use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::lock::Mutex;
use futures::stream::{self, StreamExt};

use crate::error::{BoxError, Error, Result};
use crate::expr::{Condition, Placeholders};
use crate::item::Item;
use crate::model::Model;
use crate::page::PageToken;
use crate::Client;

use super::read::ReadOptions;
use super::Traced;

/// What a backfill's change does with one item.
#[derive(Debug)]
pub enum BackfillChange<M> {
    /// Save the item as changed (conditional on it still existing, and on its version if it
    /// has one).
    Save(M),
    /// Nothing to do for this item (already changed, or not concerned).
    Unchanged,
}

/// The most failures a report lists one by one (all are counted).
pub const MAX_REPORTED_FAILURES: usize = 100;

/// An item a backfill could not change: its key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillFailure {
    /// The item's key, as [`Key`](crate::Key) displays it (empty if the item's key did not
    /// decode).
    pub key: String,
    /// The error, as text.
    pub error: String,
}

/// What a backfill did, over every run of it that shares the checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillReport {
    /// Items read.
    pub scanned: u64,
    /// Items saved (in a dry run: items the change would have saved).
    pub changed: u64,
    /// Items the change left as they were.
    pub unchanged: u64,
    /// Items that changed or went away between the read and the save (the save's condition
    /// failed): left alone.
    pub conflicts: u64,
    /// Items that did not decode, or that the change or the save failed on.
    pub failed: u64,
    /// The first [`MAX_REPORTED_FAILURES`] failures.
    pub failures: Vec<BackfillFailure>,
    /// Nothing was written.
    pub dry_run: bool,
    /// This run continued from a checkpoint.
    pub resumed: bool,
    /// Every segment was read to its end (false when stopped by `max_items`).
    pub complete: bool,
    /// This run's duration.
    pub elapsed: Duration,
}

/// A backfill of model `M`: [`Client::backfill`]. Set options, then [`run`](Self::run) it
/// with the change.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// use dynox_core::BackfillChange;
///
/// #[derive(DynamoModel)]
/// #[dynamo(table = "customers")]
/// struct Customer {
///     #[dynamo(hash_key)] id: String,
///     email: String,
///     email_lower: Option<String>,
/// }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let report = client
///     .backfill::<Customer>()
///     .segments(4)
///     .checkpoint("customers-email.checkpoint")
///     .run(|mut customer: Customer| async move {
///         let lower = customer.email.to_lowercase();
///         if customer.email_lower.as_deref() == Some(lower.as_str()) {
///             return Ok(BackfillChange::Unchanged); // done by an earlier run
///         }
///         customer.email_lower = Some(lower);
///         Ok(BackfillChange::Save(customer))
///     })
///     .await?;
/// println!("{} changed, {} failed", report.changed, report.failed);
/// # Ok(()) }
/// ```
#[must_use = "a backfill does nothing until run and awaited"]
pub struct Backfill<M: Model> {
    client: Client,
    segments: u32,
    concurrency: usize,
    page_size: Option<u32>,
    filter: Option<Condition<M>>,
    checkpoint: Option<PathBuf>,
    dry_run: bool,
    max_items: Option<u64>,
    delete_cleared: bool,
}

impl<M: Model> Backfill<M> {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            segments: 1,
            concurrency: 8,
            page_size: None,
            filter: None,
            checkpoint: None,
            dry_run: false,
            max_items: None,
            delete_cleared: false,
        }
    }

    /// Saves delete the files of the fields the change cleared, after the write commits
    /// ([`Save::delete_cleared_files`](crate::Save::delete_cleared_files)); without it a
    /// cleared file is kept, as in any save.
    pub fn delete_cleared_files(mut self) -> Self {
        self.delete_cleared = true;
        self
    }

    /// Scan in `n` parallel segments (1 to 1,000,000; default 1). A checkpoint is only
    /// resumed with the same number of segments.
    pub fn segments(mut self, n: u32) -> Self {
        self.segments = n.clamp(1, 1_000_000);
        self
    }

    /// Items changed at once in each segment (at least 1; default 8).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Items read per Scan request (DynamoDB's `Limit`), at least 1; also how often the
    /// checkpoint is written.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.max(1));
        self
    }

    /// Only items matching `condition` are handed to the change (DynamoDB filters them).
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Record progress in the file at `path` after every page, and resume from it if it
    /// exists: a run that stopped continues after its last finished page. The file is left
    /// in place when the run completes (its report says `complete`); delete it to start over.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Run the change on every item but save nothing: the report counts what would change.
    /// A dry run reads the checkpoint but never writes it.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Stop, at the end of a page, once at least `n` items were read in this run (its report
    /// is not `complete`); the checkpoint resumes it.
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = Some(n);
        self
    }

    /// Applies `change` to every item and returns the report. A failed Scan (or checkpoint
    /// write) ends the run with the error; the checkpoint still resumes it.
    pub fn run<F, Fut>(self, change: F) -> BackfillRun<M>
    where
        F: Fn(M) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<BackfillChange<M>, BoxError>> + Send + 'static,
    {
        BackfillRun {
            future: Box::pin(run(self, Arc::new(change))),
            marker: std::marker::PhantomData,
        }
    }
}

/// A running backfill: await it for the report.
#[must_use = "a backfill does nothing until awaited"]
pub struct BackfillRun<M> {
    future: Pin<Box<dyn Future<Output = Result<BackfillReport>> + Send>>,
    marker: std::marker::PhantomData<fn() -> M>,
}

impl<M> IntoFuture for BackfillRun<M> {
    type Output = Result<BackfillReport>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<BackfillReport>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        self.future
    }
}

/// Where a segment of the scan is.
#[derive(Debug, Clone, PartialEq)]
enum Position {
    /// Not started.
    Start,
    /// Resume after the page that ended here.
    After(PageToken),
    /// Read to its end.
    Done,
}

/// The checkpoint: the table, each segment's position and the counts so far.
#[derive(Debug, Clone)]
struct Checkpoint {
    table: String,
    positions: Vec<Position>,
    report: BackfillReport,
}

const CHECKPOINT_HEADER: &str = "dynox-backfill 1";

impl Checkpoint {
    fn to_text(&self) -> String {
        let r = &self.report;
        let mut out = format!(
            "{CHECKPOINT_HEADER}\ntable {}\nsegments {}\ncounts {} {} {} {} {}\n",
            self.table,
            self.positions.len(),
            r.scanned,
            r.changed,
            r.unchanged,
            r.conflicts,
            r.failed
        );
        for (i, position) in self.positions.iter().enumerate() {
            match position {
                Position::Start => {}
                Position::After(token) => out.push_str(&format!("segment {i} after {token}\n")),
                Position::Done => out.push_str(&format!("segment {i} done\n")),
            }
        }
        out
    }

    /// Reads a checkpoint written for `table` in `segments` segments.
    fn parse(text: &str, path: &Path, table: &str, segments: u32) -> Result<Checkpoint> {
        let invalid = |reason: String| Error::InvalidRequest {
            kind: crate::error::InvalidRequestKind::Checkpoint,
            reason: format!("backfill checkpoint `{}`: {reason}", path.display()),
        };
        let mut lines = text.lines();
        if lines.next() != Some(CHECKPOINT_HEADER) {
            return Err(invalid("not a dynox backfill checkpoint".into()));
        }
        let mut checkpoint = Checkpoint {
            table: String::new(),
            positions: vec![Position::Start; segments as usize],
            report: BackfillReport::default(),
        };
        let mut declared = None;
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["table", name] if *name != table => {
                    return Err(invalid(format!("it is for table `{name}`, not `{table}`")))
                }
                ["table", name] => checkpoint.table = (*name).to_owned(),
                ["segments", n] => {
                    declared = n.parse::<u32>().ok();
                    if declared != Some(segments) {
                        return Err(invalid(format!(
                            "it was written with {n} segments, not {segments}: resume with the same number"
                        )));
                    }
                }
                ["counts", counts @ ..] if counts.len() == 5 => {
                    let n: Vec<u64> = counts.iter().filter_map(|c| c.parse().ok()).collect();
                    if n.len() != 5 {
                        return Err(invalid(format!("bad counts `{line}`")));
                    }
                    let r = &mut checkpoint.report;
                    (r.scanned, r.changed, r.unchanged, r.conflicts, r.failed) =
                        (n[0], n[1], n[2], n[3], n[4]);
                }
                ["segment", i, rest @ ..] => {
                    let i: usize = i
                        .parse()
                        .ok()
                        .filter(|i| *i < segments as usize)
                        .ok_or_else(|| invalid(format!("bad segment in `{line}`")))?;
                    checkpoint.positions[i] = match rest {
                        ["done"] => Position::Done,
                        ["after", token] => Position::After(
                            token
                                .parse()
                                .map_err(|_| invalid(format!("bad position in `{line}`")))?,
                        ),
                        _ => return Err(invalid(format!("bad line `{line}`"))),
                    };
                }
                _ => return Err(invalid(format!("bad line `{line}`"))),
            }
        }
        if checkpoint.table != table || declared.is_none() {
            return Err(invalid("it names no table or no number of segments".into()));
        }
        Ok(checkpoint)
    }
}

/// Writes `text` to `path` through a temporary file renamed into place.
async fn write_checkpoint(path: &Path, text: String) -> Result<()> {
    let path = path.to_owned();
    let written = tokio::task::spawn_blocking(move || {
        let temp = path.with_extension("dynox-tmp");
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, &path)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    written.map_err(|e| Error::InvalidRequest {
        kind: crate::error::InvalidRequestKind::Checkpoint,
        reason: format!("could not write the backfill checkpoint: {e}"),
    })
}

/// The Scan's expressions: the filter and its placeholders' names and values.
type Expressions = (
    Option<String>,
    Option<std::collections::HashMap<String, String>>,
    Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
);

/// What one segment shares with the others.
struct Shared<M: Model, F> {
    table: String,
    expressions: Expressions,
    change: Arc<F>,
    options: Backfill<M>,
    state: Mutex<Checkpoint>,
    /// Items read in this run, for `max_items`.
    read: std::sync::atomic::AtomicU64,
}

async fn run<M, F, Fut>(mut options: Backfill<M>, change: Arc<F>) -> Result<BackfillReport>
where
    M: Model,
    F: Fn(M) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<BackfillChange<M>, BoxError>> + Send + 'static,
{
    let started = Instant::now();
    let table = options.client.table_name::<M>();
    // The filter (the caller's, and the entity type's in a shared table), rendered once.
    let mut read_options = ReadOptions::<M>::new(None);
    read_options.filter = options.filter.take();
    let mut p = Placeholders::default();
    let (filter, _) = read_options.expressions::<M>(&mut p, &table, false)?;
    let (names, values) = p.into_maps();
    let segments = options.segments;
    let mut checkpoint = Checkpoint {
        table: table.clone(),
        positions: vec![Position::Start; segments as usize],
        report: BackfillReport::default(),
    };
    let mut resumed = false;
    if let Some(path) = &options.checkpoint {
        match tokio_read(path).await {
            Ok(text) => {
                checkpoint = Checkpoint::parse(&text, path, &table, segments)?;
                resumed = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::InvalidRequest {
                    kind: crate::error::InvalidRequestKind::Checkpoint,
                    reason: format!(
                        "could not read the backfill checkpoint `{}`: {e}",
                        path.display()
                    ),
                })
            }
        }
    }
    let shared = Arc::new(Shared {
        table,
        expressions: (filter, names, values),
        change,
        state: Mutex::new(checkpoint),
        read: std::sync::atomic::AtomicU64::new(0),
        options,
    });
    let results =
        futures::future::join_all((0..segments).map(|s| segment(shared.clone(), s as usize))).await;
    let state = shared.state.lock().await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let mut report = state.report.clone();
    report.dry_run = shared.options.dry_run;
    report.resumed = resumed;
    report.complete = state.positions.iter().all(|p| *p == Position::Done);
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn tokio_read(path: &Path) -> std::io::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .map_err(std::io::Error::other)?
}

/// One segment, page by page, from where the checkpoint left it.
async fn segment<M, F, Fut>(shared: Arc<Shared<M, F>>, index: usize) -> Result<()>
where
    M: Model,
    F: Fn(M) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<BackfillChange<M>, BoxError>> + Send + 'static,
{
    use std::sync::atomic::Ordering;
    let options = &shared.options;
    let (filter, names, values) = &shared.expressions;
    loop {
        let start = match shared.state.lock().await.positions[index].clone() {
            Position::Done => return Ok(()),
            Position::Start => None,
            Position::After(token) => Some(token.into_item()),
        };
        if let Some(max) = options.max_items {
            if shared.read.load(Ordering::SeqCst) >= max {
                return Ok(());
            }
        }
        let mut request = shared
            .options
            .client
            .dynamodb()
            .scan()
            .table_name(&shared.table)
            .set_filter_expression(filter.clone())
            .set_expression_attribute_names(names.clone())
            .set_expression_attribute_values(values.clone())
            .consistent_read(true)
            .set_limit(options.page_size.map(|s| s.min(i32::MAX as u32) as i32))
            .set_exclusive_start_key(start);
        if options.segments > 1 {
            request = request
                .segment(index as i32)
                .total_segments(options.segments as i32);
        }
        let output = request
            .set_return_consumed_capacity(shared.options.client.capacity())
            .send()
            .traced(super::span("Scan", &shared.table), &shared.options.client)
            .await
            .map_err(|e| super::sdk_error(e, "Scan", &shared.table, String::new))?;
        let items = output.items.unwrap_or_default();
        shared.read.fetch_add(items.len() as u64, Ordering::SeqCst);
        let page = page(&shared, items).await?;
        let next = output
            .last_evaluated_key
            .and_then(PageToken::from_item)
            .map_or(Position::Done, Position::After);
        let mut state = shared.state.lock().await;
        state.positions[index] = next;
        page.add_to(&mut state.report);
        if let (Some(path), false) = (&options.checkpoint, options.dry_run) {
            write_checkpoint(path, state.to_text()).await?;
        }
    }
}

/// The counts of one page.
#[derive(Default)]
struct PageCounts {
    scanned: u64,
    changed: u64,
    unchanged: u64,
    conflicts: u64,
    failures: Vec<BackfillFailure>,
}

impl PageCounts {
    fn add_to(self, report: &mut BackfillReport) {
        report.scanned += self.scanned;
        report.changed += self.changed;
        report.unchanged += self.unchanged;
        report.conflicts += self.conflicts;
        report.failed += self.failures.len() as u64;
        let room = MAX_REPORTED_FAILURES.saturating_sub(report.failures.len());
        report.failures.extend(self.failures.into_iter().take(room));
    }
}

/// What happened to one item.
enum Outcome {
    Changed,
    Unchanged,
    Conflict,
    Failed(BackfillFailure),
}

/// The items of one page, decoded, changed and saved.
async fn page<M, F, Fut>(shared: &Shared<M, F>, items: Vec<Item>) -> Result<PageCounts>
where
    M: Model,
    F: Fn(M) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<BackfillChange<M>, BoxError>> + Send + 'static,
{
    let keys: Vec<String> = items.iter().map(super::key_text::<M>).collect();
    let mut counts = PageCounts {
        scanned: items.len() as u64,
        ..PageCounts::default()
    };
    // Remembered (not in a dry run): a save of an item just read needs no read of its own.
    let decoded = super::read::load::<M, M>(
        &shared.options.client,
        &shared.table,
        items,
        !shared.options.dry_run,
    )
    .await?;
    let outcomes: Vec<Outcome> = stream::iter(keys.into_iter().zip(decoded))
        .map(|(key, decoded)| async move {
            let model = match decoded {
                Ok(model) => model,
                Err(e) => {
                    let error = super::field_error(&shared.table, key.clone(), e).to_string();
                    return Outcome::Failed(BackfillFailure { key, error });
                }
            };
            item(shared, key, model).await
        })
        .buffer_unordered(shared.options.concurrency)
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            Outcome::Changed => counts.changed += 1,
            Outcome::Unchanged => counts.unchanged += 1,
            Outcome::Conflict => counts.conflicts += 1,
            Outcome::Failed(failure) => counts.failures.push(failure),
        }
    }
    Ok(counts)
}

/// One item through the change and, if it changed, the save.
async fn item<M, F, Fut>(shared: &Shared<M, F>, key: String, model: M) -> Outcome
where
    M: Model,
    F: Fn(M) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<BackfillChange<M>, BoxError>> + Send + 'static,
{
    let failed = |error: String| {
        Outcome::Failed(BackfillFailure {
            key: key.clone(),
            error,
        })
    };
    let mut changed = match (shared.change)(model).await {
        Ok(BackfillChange::Unchanged) => return Outcome::Unchanged,
        Ok(BackfillChange::Save(changed)) => changed,
        Err(e) => return failed(format!("the change failed: {e}")),
    };
    if shared.options.dry_run {
        return Outcome::Changed;
    }
    // Never bring back an item deleted since it was read.
    let exists = crate::Path::<M, ()>::attribute(M::SCHEMA.hash.name).exists();
    let mut save = shared.options.client.save(&mut changed).condition(exists);
    if shared.options.delete_cleared {
        save = save.delete_cleared_files();
    }
    match save.await {
        Ok(()) => Outcome::Changed,
        Err(
            Error::ConditionFailed { .. } | Error::VersionConflict { .. } | Error::StaleFile { .. },
        ) => Outcome::Conflict,
        Err(e) => failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_reads_back_what_it_wrote_and_refuses_another_run() {
        let token: PageToken = {
            let mut item = Item::new();
            item.insert("pk".into(), crate::item::AttributeValue::S("a b#1".into()));
            PageToken::from_item(item).unwrap()
        };
        let checkpoint = Checkpoint {
            table: "t".into(),
            positions: vec![Position::Done, Position::After(token), Position::Start],
            report: BackfillReport {
                scanned: 10,
                changed: 4,
                unchanged: 3,
                conflicts: 1,
                failed: 2,
                ..BackfillReport::default()
            },
        };
        let text = checkpoint.to_text();
        let path = Path::new("c");
        let read = Checkpoint::parse(&text, path, "t", 3).unwrap();
        assert_eq!(read.positions, checkpoint.positions);
        assert_eq!(read.report, checkpoint.report);
        for (text, table, segments) in [
            (text.as_str(), "other", 3),
            (text.as_str(), "t", 4),
            ("something else", "t", 3),
            (
                "dynox-backfill 1\ntable t\nsegments 3\nsegment 9 done",
                "t",
                3,
            ),
        ] {
            let error = Checkpoint::parse(text, path, table, segments).unwrap_err();
            assert!(error.to_string().contains("backfill checkpoint"), "{error}");
        }
    }
}
