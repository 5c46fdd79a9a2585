//! `references`: the stored file references of every item of a model's table, read by one
//! Scan of the key and file attributes only (consistent, in parallel segments). Companion
//! crates build on it (dynox-s3's orphan sweep); it is reached through `__private`.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::Traced;
use crate::error::{Error, Result};
use crate::expr::Placeholders;
use crate::files::FileStore;
use crate::item::{AttributeError, AttributeValue, Item};
use crate::model::Model;
use crate::reference::FileRef;
use crate::Client;

/// The file references of every item of `M`'s table, as file store `F` (`M::Files`, or the
/// store a companion crate knows the model has) reads them: one element per item read (an
/// empty list for an item without files), in no particular order.
///
/// The Scan reads with strong consistency, so every item written before the call started is
/// seen, in `segments` parallel segments (clamped to 1..=1,000,000) merged into one stream.
/// Each request runs inside a `Scan` tracing span; errors are core's (`Error::Throttled`,
/// `Error::TableNotFound`, ...). A file attribute that is present (and not NULL) but that the
/// file store cannot read a reference from fails the stream with [`Error::InvalidField`]
/// naming the item and field: such an item's object cannot be told apart from an orphan.
pub fn file_references<M: Model, F: FileStore<M>>(
    client: &Client,
    segments: u32,
) -> BoxStream<'static, Result<Vec<FileRef>>> {
    file_references_of(
        client,
        client.table_name::<M>(),
        vec![ReferenceReader::of::<M, F>()],
        segments,
    )
}

/// How one model's items give their file references: the attributes a scan projects for
/// them, and the references of an item of this model (`None` for an item of another entity
/// type).
#[derive(Clone, Copy)]
pub struct ReferenceReader {
    project: fn(&mut Placeholders, &mut Vec<String>),
    read: fn(&str, &Item) -> Option<Result<Vec<FileRef>>>,
}

impl ReferenceReader {
    /// The reader of model `M`, whose files file store `F` keeps.
    pub fn of<M: Model, F: FileStore<M>>() -> Self {
        Self {
            project: project::<M, F>,
            read: read::<M, F>,
        }
    }
}

/// [`file_references`] of several models sharing `table` (a single-table design): one Scan
/// projecting every model's key and file attributes and its entity attribute; each item's
/// references are read by the first reader whose model owns its entity type (none for an
/// item of a type no reader owns: its objects belong to another model).
pub fn file_references_of(
    client: &Client,
    table: String,
    readers: Vec<ReferenceReader>,
    segments: u32,
) -> BoxStream<'static, Result<Vec<FileRef>>> {
    let segments = segments.clamp(1, 1_000_000);
    let request = ScanRequest::new(client, table, &readers, segments);
    stream::select_all(
        (0..segments).map(|segment| request.clone().pages(segment, readers.clone()).boxed()),
    )
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Adds the attributes a scan of `M`'s references projects: its key, its entity attribute
/// and its file attributes (an overflow field's reference only).
fn project<M: Model, F: FileStore<M>>(p: &mut Placeholders, projection: &mut Vec<String>) {
    let keys = std::iter::once(M::SCHEMA.hash.name).chain(M::SCHEMA.range.map(|r| r.name));
    let entity = M::ENTITY.map(|e| e.attribute);
    for name in keys.chain(entity) {
        let path = p.name(name);
        if !projection.contains(&path) {
            projection.push(path);
        }
    }
    for name in F::attribute_names() {
        let path = crate::files::reference_path::<M, F>(p, name);
        if !projection.contains(&path) {
            projection.push(path);
        }
    }
}

/// The references of `item` as `M`'s, or `None` if it is of another entity type.
fn read<M: Model, F: FileStore<M>>(table: &str, item: &Item) -> Option<Result<Vec<FileRef>>> {
    if let Some(entity) = M::ENTITY {
        entity.check(item).ok()?;
    }
    Some(references::<M, F>(table, item))
}

/// What every request of one [`file_references`] call shares.
#[derive(Clone)]
struct ScanRequest {
    client: Client,
    table: String,
    projection: String,
    names: Option<std::collections::HashMap<String, String>>,
    segments: u32,
}

impl ScanRequest {
    /// The key, entity and file attributes of every reader's model, as a projection.
    fn new(client: &Client, table: String, readers: &[ReferenceReader], segments: u32) -> Self {
        let mut p = Placeholders::default();
        let mut projection = Vec::new();
        for reader in readers {
            (reader.project)(&mut p, &mut projection);
        }
        let (names, _) = p.into_maps();
        Self {
            client: client.clone(),
            table,
            projection: projection.join(", "),
            names,
            segments,
        }
    }

    /// The items of one segment, page by page, as their file references.
    fn pages(
        self,
        segment: u32,
        readers: Vec<ReferenceReader>,
    ) -> impl futures::Stream<Item = Result<Vec<Vec<FileRef>>>> + Send + 'static {
        stream::try_unfold(Some(None::<Item>), move |start| {
            let request = self.clone();
            let readers = readers.clone();
            async move {
                let Some(start) = start else { return Ok(None) };
                let (items, next) = request.page(segment, start).await?;
                let references = items
                    .iter()
                    .map(|item| {
                        readers
                            .iter()
                            .find_map(|reader| (reader.read)(&request.table, item))
                            .unwrap_or_else(|| Ok(Vec::new()))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some((references, next.map(Some))))
            }
        })
    }

    /// One Scan request: its items and where the next page starts (`None` after the last).
    async fn page(&self, segment: u32, start: Option<Item>) -> Result<(Vec<Item>, Option<Item>)> {
        let mut request = self
            .client
            .dynamodb()
            .scan()
            .table_name(&self.table)
            .projection_expression(&self.projection)
            .set_expression_attribute_names(self.names.clone())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .set_return_consumed_capacity(self.client.capacity());
        if self.segments > 1 {
            request = request
                .segment(segment as i32)
                .total_segments(self.segments as i32);
        }
        let output = request
            .send()
            .traced(super::span("Scan", &self.table), &self.client)
            .await
            .map_err(|e| super::sdk_error(e, "Scan", &self.table, String::new))?;
        let next = output.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((output.items.unwrap_or_default(), next))
    }
}

/// The file references of one stored item; an error if a present file attribute yields none.
fn references<M: Model, F: FileStore<M>>(table: &str, item: &Item) -> Result<Vec<FileRef>> {
    let found = F::references(item);
    let unreadable = F::attribute_names().into_iter().find(|name| {
        let present = item
            .get(*name)
            .is_some_and(|v| !matches!(v, AttributeValue::Null(_)));
        present && !found.iter().any(|r| r.field == *name)
    });
    match unreadable {
        None => Ok(found),
        Some(field) => Err(Error::InvalidField {
            table: table.to_owned(),
            key: super::key_text::<M>(item),
            field,
            source: AttributeError::InvalidFileReference {
                reason: format!(
                    "the file store cannot read an object reference from this {} attribute",
                    crate::item::type_name(&item[field])
                ),
            },
        }),
    }
}
