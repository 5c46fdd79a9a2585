//! The file cascade: a file's lifetime is its item's, whoever ends it.
//!
//! dynox's own writes delete the objects they replace. Items also leave by roads dynox never
//! sees: time to live expires them, an operator deletes them in the console, another service
//! deletes or overwrites them with the raw SDK. Each DynamoDB Streams record of the model's
//! table shows such a change; [`cascade`] deletes the objects the old image referenced and
//! the new image does not (or, for a field with a retention, marks them to stay readable
//! until it has passed, as dynox's own writes do), and reports per record what it deleted,
//! retained, skipped and could not delete. `dynox-streams` feeds it from the Streams API or
//! a Lambda event.
//!
//! It is idempotent (records arrive at least once; dynox's own writes already deleted what
//! they replaced, which reads as already gone), and it never deletes:
//! - a shared (content-addressed) object: another item may hold it; the sweep collects it;
//! - an object the user chose to keep (a cleared file, marked kept), nor one whose field
//!   another writer cleared to `NULL` (pydynox's clear, which marks nothing): a cleared file
//!   is kept whoever clears it, so the cascade marks it kept for the sweep;
//! - an object this model's field did not store (its `dynox-owner` metadata differs), the
//!   check the sweep makes.

use std::fmt;

use futures::future::BoxFuture;

use dynox_core::spi::{FileRef, FileStore};
use dynox_core::stream::{ChangeKind, ChangeRecord};
use dynox_core::{Client, ObjectRef};

use crate::error::FromSdk;
use crate::error::S3Error;
use crate::kept;
use crate::models::{FileModels, Visit};
use crate::settings::Runtime;
use crate::store::{field_client, owner, S3Files, S3Model};
use crate::upload::OWNER_METADATA;

/// What the cascade did for one stream record.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RecordReport {
    /// The record's sequence number.
    pub sequence_number: String,
    /// Whether time to live removed the item.
    pub ttl_expired: bool,
    /// The objects deleted.
    pub deleted: Vec<FileRef>,
    /// The objects of fields with a retention, marked to stay readable until it has passed
    /// (the sweep deletes them then) instead of deleted now.
    pub retained: Vec<FileRef>,
    /// The objects left in place, and why.
    pub skipped: Vec<(FileRef, Skipped)>,
    /// The objects that could not be deleted (or checked), with the reason: the record
    /// should be retried.
    pub failed: Vec<(FileRef, S3Error)>,
}

impl RecordReport {
    /// Whether every object the record unreferenced was dealt with (deleted or rightly
    /// skipped); `false` means the record must be retried.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Display for RecordReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {}{}: {} deleted, {} retained, {} skipped, {} failed",
            self.sequence_number,
            if self.ttl_expired { " (ttl)" } else { "" },
            self.deleted.len(),
            self.retained.len(),
            self.skipped.len(),
            self.failed.len()
        )
    }
}

/// Why the cascade left an object the old image referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skipped {
    /// A shared (content-addressed) object: other items may reference it; the sweep collects
    /// it once none does.
    Shared,
    /// The user cleared the file and kept it (its kept mark exists).
    Kept,
    /// Another writer cleared the field to `NULL` (pydynox does), marking nothing: a cleared
    /// file is kept, whoever clears it, so the cascade marked it kept (the sweep leaves it
    /// too).
    Cleared,
    /// Not stored by this model's field (`dynox-owner` names another, or none).
    NotOwned,
    /// Already deleted (by the write itself, or an earlier delivery of this record).
    AlreadyGone,
}

/// Deletes the objects of model `M` that `record`'s old image referenced and its new image
/// does not. Inserts change nothing.
///
/// `M` may be a tuple of the models that share a table (`cascade::<(Invoice, Return)>`, see
/// [`FileModels`]): each record goes to the model whose entity type its item records. A
/// record of an entity type none of them declares (or, for one model that declares an entity
/// type, of another type) is none of their business: an empty report.
///
/// A `REMOVE` or `MODIFY` without an old image means the table's stream does not carry old
/// images: that is [`S3Error::StreamWithoutOldImages`], never a silent skip (enable the stream
/// with `StreamView::NewAndOldImages`). A `MODIFY` without a new image (an `OLD_IMAGE` view)
/// compares with the item as it is now (a consistent read).
pub async fn cascade<M: FileModels>(
    client: &Client,
    record: &ChangeRecord,
) -> dynox_core::Result<RecordReport> {
    crate::models::check::<M>().map_err(|reason| dynox_core::Error::InvalidRequest {
        kind: dynox_core::InvalidRequestKind::TableDefinition,
        reason: format!(
            "cascade of table `{}`: {reason}",
            <M::Table as dynox_core::Model>::TABLE
        ),
    })?;
    /// The cascade of the first model that owns the record's item.
    struct Pick<'a> {
        client: &'a Client,
        record: &'a ChangeRecord,
        cascade: Option<BoxFuture<'a, Result<RecordReport, S3Error>>>,
    }
    impl<'a> Visit for Pick<'a> {
        fn model<M: S3Model>(&mut self) {
            if self.cascade.is_some() {
                return;
            }
            let record = self.record;
            let image = record.old_image.as_ref().or(record.new_image.as_ref());
            let owns = match (M::ENTITY, image) {
                (None, _) => true,
                (Some(entity), Some(image)) => entity.check(image).is_ok(),
                // No image to tell the type by: the model's cascade reports the missing images.
                (Some(_), None) => true,
            };
            if owns {
                self.cascade = Some(Box::pin(cascade_record::<M>(self.client, record)));
            }
        }
    }
    let mut pick = Pick {
        client,
        record,
        cascade: None,
    };
    M::visit(&mut pick);
    let report = match pick.cascade {
        Some(cascade) => cascade.await?,
        None => RecordReport {
            sequence_number: record.sequence_number.clone(),
            ttl_expired: record.ttl_expired,
            ..RecordReport::default()
        },
    };
    if !dynox_core::metrics::ENABLED {
        return Ok(report);
    }
    let table = client.table_name::<M::Table>();
    let outcome = if report.is_complete() {
        "complete"
    } else {
        "incomplete"
    };
    dynox_core::metrics::count(
        "dynox_cascade_records_total",
        &[("table", &table), ("outcome", outcome)],
        1,
    );
    dynox_core::metrics::count(
        "dynox_cascade_deleted_total",
        &[("table", &table)],
        report.deleted.len() as u64,
    );
    dynox_core::metrics::count(
        "dynox_cascade_retained_total",
        &[("table", &table)],
        report.retained.len() as u64,
    );
    Ok(report)
}

async fn cascade_record<M: S3Model>(
    client: &Client,
    record: &ChangeRecord,
) -> Result<RecordReport, S3Error> {
    let mut report = RecordReport {
        sequence_number: record.sequence_number.clone(),
        ttl_expired: record.ttl_expired,
        ..RecordReport::default()
    };
    if record.kind == ChangeKind::Insert {
        return Ok(report);
    }
    let table = client.table_name::<M>();
    let Some(old) = &record.old_image else {
        return Err(S3Error::StreamWithoutOldImages { table });
    };
    let old_refs = <S3Files<M> as FileStore<M>>::references(old);
    let read;
    let new_item = match (record.kind, &record.new_image) {
        (ChangeKind::Remove, _) => None,
        (_, Some(new)) => Some(new),
        (_, None) => {
            read = current_item::<M>(client, &record.keys).await?;
            read.as_ref()
        }
    };
    let new_refs = new_item
        .map(<S3Files<M> as FileStore<M>>::references)
        .unwrap_or_default();
    let unreferenced: Vec<FileRef> = old_refs
        .into_iter()
        .filter(|o| !new_refs.iter().any(|n| n.object == o.object))
        .collect();

    let runtime = Runtime::of(client);
    let mut to_delete = Vec::new();
    let mut to_mark = Vec::new();
    for file in unreferenced {
        if <S3Files<M> as FileStore<M>>::shared(file.field) {
            report.skipped.push((file, Skipped::Shared));
            continue;
        }
        match check::<M>(&runtime, &table, &file).await {
            Ok(None)
                if new_item.is_some_and(|item| kept::cleared_elsewhere(item.get(file.field))) =>
            {
                to_mark.push(file)
            }
            Ok(None) => to_delete.push(file),
            Ok(Some(reason)) => report.skipped.push((file, reason)),
            Err(e) => report.failed.push((file, e)),
        }
    }
    // Cleared without a kept mark (not by dynox): keep it, and mark it so the sweep does too.
    let not_marked = <S3Files<M> as FileStore<M>>::keep(client, to_mark.clone()).await;
    report.skipped.extend(
        to_mark
            .into_iter()
            .filter(|file| !not_marked.iter().any(|(f, _)| f == file))
            .map(|file| (file, Skipped::Cleared)),
    );
    for (file, source) in not_marked {
        let error = store_error(
            source,
            &file.object.bucket,
            kept::mark_key(&file.object.key),
        );
        report.failed.push((file, error));
    }
    // A field with a retention keeps its object readable until then (a reader of the item
    // before the change, a link already handed out); the sweep deletes it after.
    let retired = crate::store::retire::<M>(client, to_delete.clone()).await;
    report.deleted = to_delete
        .into_iter()
        .filter(|file| {
            !retired.failed.iter().any(|(f, _)| f == file) && !retired.retained.contains(file)
        })
        .collect();
    report.retained = retired.retained;
    for (file, source) in retired.failed {
        let error = store_error(source, &file.object.bucket, file.object.key.clone());
        report.failed.push((file, error));
    }
    Ok(report)
}

/// A file store's error as the S3 error it is (a transport error on `bucket`/`key` if not).
fn store_error(source: dynox_core::BoxError, bucket: &str, key: String) -> S3Error {
    match source.downcast::<S3Error>() {
        Ok(error) => *error,
        Err(other) => S3Error::Transport {
            bucket: bucket.to_owned(),
            key,
            source: other,
        },
    }
}

/// Whether `file` may be deleted (`None`), or why not: it is marked kept, it is gone, or
/// this model's field did not store it.
async fn check<M: S3Model>(
    runtime: &Runtime,
    table: &str,
    file: &FileRef,
) -> Result<Option<Skipped>, S3Error> {
    let ObjectRef {
        bucket,
        key,
        version_id,
        region,
    } = &file.object;
    let s3 = runtime.client_named(field_client::<M>(file.field), region.as_deref())?;
    let mark = kept::mark_key(key);
    // Both HEADs at once: one round trip of latency instead of two.
    let (marked, head) = futures::join!(
        s3.head_object().bucket(bucket).key(&mark).send(),
        s3.head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.clone())
            .send()
    );
    match marked {
        Ok(_) => return Ok(Some(Skipped::Kept)),
        Err(e) => match S3Error::from_sdk(e, "HeadObject", bucket, &mark) {
            S3Error::NoSuchKey { .. } => {}
            other => return Err(other),
        },
    }
    match head {
        Ok(head) => {
            let expected = owner::<M>(table, file.field);
            let owned = head
                .metadata()
                .and_then(|m| m.get(OWNER_METADATA))
                .is_some_and(|o| *o == expected);
            Ok((!owned).then_some(Skipped::NotOwned))
        }
        Err(e) => match S3Error::from_sdk(e, "HeadObject", bucket, key) {
            S3Error::NoSuchKey { .. } => Ok(Some(Skipped::AlreadyGone)),
            other => Err(other),
        },
    }
}

/// The item with `keys` as it is now, if it exists.
async fn current_item<M: S3Model>(
    client: &Client,
    keys: &dynox_core::item::Item,
) -> Result<Option<dynox_core::item::Item>, S3Error> {
    let table = client.table_name::<M>();
    let item = client
        .dynamodb()
        .get_item()
        .table_name(&table)
        .set_key(Some(keys.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| S3Error::ItemRead {
            table: table.clone(),
            source: Box::new(e),
        })?;
    Ok(item.item)
}
