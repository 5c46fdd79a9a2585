//! The [`FileStore`] of models with `#[s3]` fields: the S3 half of the two-store protocol.

use std::marker::PhantomData;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dynox_core::item::{AttributeValue, Item};
use dynox_core::spi::{BoxFuture, FileRef, FileStore, UploadFailure, Uploads};
use dynox_core::{BoxError, Client, Model};
use futures::future::join_all;

use crate::error::FromSdk;
use crate::error::S3Error;
use crate::keys::{self, KeyParts};
use crate::object::{PendingUpload, S3Object, State, StoredObject};
use crate::overflow;
use crate::settings::Runtime;
use crate::shared;
use crate::upload::{self, Target};

/// Waits before each attempt to delete an object, or to put a mark beside one (the first is
/// immediate).
const CLEANUP_RETRY_DELAYS_MS: [u64; 3] = [0, 50, 200];

/// Runs `attempt` until it succeeds, at most [`CLEANUP_RETRY_DELAYS_MS`]`.len()` times: a few
/// quick attempts, since a cleanup that gives up leaves an orphan until the next sweep, which
/// is worth more than the SDK's own retries. Returns the last error if every attempt failed.
pub(crate) async fn retrying_cleanup<F, Fut>(mut attempt: F) -> Result<(), S3Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), S3Error>>,
{
    let mut last = Ok(());
    for delay_ms in CLEANUP_RETRY_DELAYS_MS {
        if delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        last = attempt().await;
        if last.is_ok() {
            break;
        }
    }
    last
}

/// Implemented by `#[derive(DynamoModel)]` for models with `#[s3]` fields: their settings and
/// how to reach them.
pub trait S3Model: Model {
    /// The file fields, in declaration order.
    const S3_FIELDS: &'static [S3Field<Self>];
}

/// One `#[s3(...)]` field, as the derive describes it.
pub struct S3Field<M> {
    /// The attribute name.
    pub name: &'static str,
    /// The declared bucket (see [`S3Settings::bucket`](crate::S3Settings::bucket) to change it
    /// per environment).
    pub bucket: &'static str,
    /// The key prefix.
    pub prefix: &'static str,
    /// The bucket's region, when it differs from the configuration's.
    pub region: Option<&'static str>,
    /// A custom key template (see [`keys`](crate::keys)).
    pub key_template: Option<&'static str>,
    /// The codec the field's objects are compressed with, if any.
    pub compress: Option<crate::Compression>,
    /// The name of the S3 client the field uses (registered with
    /// [`S3Settings::named_client`](crate::S3Settings::named_client)); `None` for the default.
    pub client: Option<&'static str>,
    /// Whether the field's objects are content-addressed and shared between items
    /// (`#[s3(shared)]`).
    pub shared: bool,
    /// Whether the field is an ordinary attribute that moves to S3 only when the item would
    /// not fit DynamoDB's 400 KB (`#[s3(overflow)]`); its `slot` is always `None`.
    pub overflow: bool,
    /// How long a replaced or deleted object of the field stays readable
    /// (`#[s3(retain = "...")]`); `None` takes the client's
    /// [`S3Settings::retain`](crate::S3Settings::retain).
    pub retain: Option<std::time::Duration>,
    /// Whether the item records a SHA-256 of each file as well as its CRC-64/NVME
    /// (`#[s3(sha256)]`): a cryptographic digest for users who want one, checked on every
    /// full download. Shared fields and overflow values record one whatever this says.
    pub sha256: bool,
    /// The field's value (`None` for an empty optional field).
    pub slot: fn(&mut M) -> Option<&mut S3Object>,
}

pub use dynox_core::ObjectRef;

/// The reference to a stored object.
pub(crate) fn object_ref(o: &StoredObject) -> ObjectRef {
    ObjectRef {
        bucket: o.bucket.clone(),
        key: o.key.clone(),
        version_id: o.version_id.clone(),
        region: o.region.clone(),
    }
}

/// Whether some field of `fields` is an overflow field (a `const fn`, for
/// [`FileStore::OVERFLOW`]).
const fn any_overflow<M>(fields: &[S3Field<M>]) -> bool {
    let mut i = 0;
    while i < fields.len() {
        if fields[i].overflow {
            return true;
        }
        i += 1;
    }
    false
}

/// The file store of an [`S3Model`]: the `Model::Files` type the derive picks for models with
/// `#[s3]` fields (so it shows in compiler messages, e.g. where a batch write refuses files).
pub struct S3Files<M>(PhantomData<fn() -> M>);

/// A key attribute as text for object keys: strings and numbers as they are, binary as
/// URL-safe base64.
pub(crate) fn key_text(value: Option<&AttributeValue>) -> String {
    match value {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => s.clone(),
        Some(AttributeValue::B(b)) => URL_SAFE_NO_PAD.encode(b.as_ref()),
        _ => String::new(),
    }
}

impl<M: S3Model> FileStore<M> for S3Files<M> {
    const ENABLED: bool = true;
    const OVERFLOW: bool = any_overflow(M::S3_FIELDS);

    fn overflow(field: &str) -> bool {
        M::S3_FIELDS.iter().any(|f| f.name == field && f.overflow)
    }

    fn spill<'a>(
        client: &'a Client,
        attributes: &'a mut Item,
        key: &'a Item,
        current: Option<&'a Item>,
        limit: usize,
    ) -> BoxFuture<'a, Uploads> {
        Box::pin(spill::<M>(client, attributes, key, current, limit))
    }

    fn inflate<'a>(
        client: &'a Client,
        item: &'a mut Item,
    ) -> BoxFuture<'a, Result<(), UploadFailure>> {
        Box::pin(inflate::<M>(client, item))
    }

    fn upload<'a>(client: &'a Client, item: &'a mut M, key: &'a Item) -> BoxFuture<'a, Uploads> {
        Box::pin(upload_pending(client, item, key))
    }

    fn attribute_names() -> Vec<&'static str> {
        M::S3_FIELDS.iter().map(|f| f.name).collect()
    }

    fn shared(field: &'static str) -> bool {
        M::S3_FIELDS.iter().any(|f| f.name == field && f.shared)
    }

    fn claimed(item: &mut M) -> Vec<FileRef> {
        M::S3_FIELDS
            .iter()
            .filter_map(|field| {
                let object = (field.slot)(item)?;
                match &object.state {
                    State::Attached(stored) => Some(FileRef {
                        field: field.name,
                        object: object_ref(stored),
                    }),
                    _ => None,
                }
            })
            .collect()
    }

    fn settle(item: &mut M, committed: bool) {
        for field in M::S3_FIELDS {
            let Some(object) = (field.slot)(item) else {
                continue;
            };
            object.state.settle(committed);
        }
    }

    fn buckets() -> Vec<&'static str> {
        let mut buckets: Vec<&'static str> = Vec::new();
        for field in M::S3_FIELDS {
            if !buckets.contains(&field.bucket) {
                buckets.push(field.bucket);
            }
        }
        buckets
    }

    fn references(item: &Item) -> Vec<FileRef> {
        M::S3_FIELDS
            .iter()
            .filter_map(|field| {
                let value = item.get(field.name)?;
                let stored = if field.overflow {
                    overflow::parse(value)?.0
                } else {
                    StoredObject::from_attribute_value(value).ok()?
                };
                Some(FileRef {
                    field: field.name,
                    object: object_ref(&stored),
                })
            })
            .collect()
    }

    fn keep<'a>(client: &'a Client, refs: Vec<FileRef>) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Box::pin(async move {
            let runtime = Runtime::of(client);
            let table = client.table_name::<M>();
            let owner_of = |r: &FileRef| owner::<M>(&table, r.field);
            crate::kept::mark(&runtime, owner_of, |r| field_client::<M>(r.field), refs).await
        })
    }

    fn unkeep<'a>(client: &'a Client, refs: Vec<FileRef>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let client_name = |r: &FileRef| field_client::<M>(r.field);
            crate::kept::unmark(&Runtime::of(client), client_name, refs).await
        })
    }

    fn retire<'a>(
        client: &'a Client,
        refs: Vec<FileRef>,
    ) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Box::pin(async move { retire::<M>(client, refs).await.failed })
    }

    fn remove<'a>(
        client: &'a Client,
        refs: Vec<FileRef>,
    ) -> BoxFuture<'a, Vec<(FileRef, BoxError)>> {
        Box::pin(async move {
            let runtime = Runtime::of(client);
            let results = join_all(refs.into_iter().map(|r| {
                let s3 =
                    runtime.client_named(field_client::<M>(r.field), r.object.region.as_deref());
                async move {
                    let s3 = match s3 {
                        Ok(s3) => s3,
                        Err(e) => return Some((r, Box::new(e) as BoxError)),
                    };
                    let deleted = retrying_cleanup(|| async {
                        let deleted = s3
                            .delete_object()
                            .bucket(&r.object.bucket)
                            .key(&r.object.key)
                            .set_version_id(r.object.version_id.clone())
                            .send()
                            .await;
                        match deleted.map_err(|e| {
                            S3Error::from_sdk(e, "DeleteObject", &r.object.bucket, &r.object.key)
                        }) {
                            // Already gone (or never could have been) is what we wanted.
                            Ok(_)
                            | Err(S3Error::NoSuchKey { .. } | S3Error::NoSuchBucket { .. }) => {
                                Ok(())
                            }
                            Err(other) => Err(other),
                        }
                    })
                    .await;
                    deleted.err().map(|e| (r, Box::new(e) as BoxError))
                }
            }))
            .await;
            results.into_iter().flatten().collect()
        })
    }
}

/// Until when the object of `M`'s field `field` stays readable once a write at `now` stopped
/// referencing it: now plus the field's own retention, else the client's; `None` when there
/// is none (it is deleted).
fn retained_until<M: S3Model>(
    runtime: &Runtime,
    field: &str,
    now: std::time::SystemTime,
) -> Option<std::time::SystemTime> {
    let retention = M::S3_FIELDS
        .iter()
        .find(|f| f.name == field)
        .and_then(|f| f.retain)
        .unwrap_or(runtime.settings.retain);
    now.checked_add(retention).filter(|_| !retention.is_zero())
}

/// What [`retire`] did.
pub(crate) struct Retired {
    /// Objects marked to stay readable until their retention has passed.
    pub retained: Vec<FileRef>,
    /// Objects it could neither delete nor mark, with the reason.
    pub failed: Vec<(FileRef, BoxError)>,
}

/// Lets go of objects no item of `M` references any more: deletes those of fields without a
/// retention and marks the others retained until now plus their retention (the sweep deletes
/// them after that).
pub(crate) async fn retire<M: S3Model>(client: &Client, refs: Vec<FileRef>) -> Retired {
    let runtime = Runtime::of(client);
    let now = std::time::SystemTime::now();
    let (mut deleted, mut marked) = (Vec::new(), Vec::new());
    for r in refs {
        match retained_until::<M>(&runtime, r.field, now) {
            Some(until) => marked.push((r, until)),
            None => deleted.push(r),
        }
    }
    let mut retained: Vec<FileRef> = marked.iter().map(|(r, _)| r.clone()).collect();
    let table = client.table_name::<M>();
    let owner_of = |r: &FileRef| owner::<M>(&table, r.field);
    let (mut failed, marks_failed) = futures::join!(
        <S3Files<M> as FileStore<M>>::remove(client, deleted),
        crate::kept::retain(&runtime, owner_of, |r| field_client::<M>(r.field), marked)
    );
    retained.retain(|r| !marks_failed.iter().any(|(f, _)| f == r));
    failed.extend(marks_failed);
    Retired { retained, failed }
}

/// Uploads every pending file field of `item` at once, each under a fresh key. Field states
/// change only when every upload succeeded; on a failure the protocol removes what was
/// created (`stored`, and `uncertain` for uploads that may have landed).
async fn upload_pending<M: S3Model>(client: &Client, item: &mut M, key: &Item) -> Uploads {
    let mut jobs = Vec::new();
    for (index, field) in M::S3_FIELDS.iter().enumerate() {
        let Some(object) = (field.slot)(item) else {
            continue;
        };
        if let State::Pending(pending) = &object.state {
            jobs.push((index, pending.clone()));
        }
    }
    if jobs.is_empty() {
        return Uploads::default();
    }
    let (uploads, stored) = run_uploads::<M>(client, key, jobs).await;
    if uploads.failure.is_some() {
        return uploads;
    }
    for (index, object) in stored {
        let field = &M::S3_FIELDS[index];
        if let Some(slot) = (field.slot)(item) {
            if let State::Pending(from) = &slot.state {
                let from = from.clone();
                slot.state = State::Uploaded {
                    stored: object,
                    from,
                };
            }
        }
    }
    uploads
}

/// Uploads `jobs` (each a field of `M`, by index, and its file) at once, each under a fresh
/// key (or its content's, for a shared field), for the item whose key attributes are `key`.
/// Returns the report for the protocol and, when every upload succeeded, what each stored.
async fn run_uploads<M: S3Model>(
    client: &Client,
    key: &Item,
    files: Vec<(usize, PendingUpload)>,
) -> (Uploads, Vec<(usize, StoredObject)>) {
    let table = client.table_name::<M>();
    let hash = key_text(key.get(M::SCHEMA.hash.name));
    let range = M::SCHEMA.range.map(|r| key_text(key.get(r.name)));
    let item_key = keys::encode_item_key(key);
    let runtime = Runtime::of(client);

    // Where each file goes. A shared field's key is its content's, known once the upload
    // reads it; every other key is known now.
    let mut jobs = Vec::new();
    for (index, pending) in files {
        let field = &M::S3_FIELDS[index];
        let client = match runtime.client_named(field.client, field.region) {
            Ok(client) => client,
            Err(e) => return (not_started(field.name, e), Vec::new()),
        };
        let upload_id = keys::new_upload_id();
        let key = if field.shared {
            String::new()
        } else {
            let parts = key_parts::<M>(
                field,
                &hash,
                range.as_deref(),
                &upload_id,
                &pending.file_name,
            );
            match keys::object_key(field.key_template, &parts) {
                Ok(key) => key,
                Err(e) => return (not_started(field.name, e), Vec::new()),
            }
        };
        let target = Target {
            client,
            bucket: runtime.bucket(field.bucket).to_owned(),
            key,
            region: field.region.map(str::to_owned),
            client_name: field.client.map(str::to_owned),
            upload_id,
            owner: owner::<M>(&table, field.name),
            compress: field.compress,
            if_none_match: false,
            item_key: (!field.shared).then(|| item_key.clone()).flatten(),
            // An overflow value's SHA-256 tells a save whether the value changed.
            sha256: field.sha256 || field.overflow,
        };
        jobs.push((index, target, pending));
    }

    let settings = &runtime.settings;
    let (table, hash, range) = (&table, &hash, range.as_deref());
    let results = join_all(jobs.into_iter().map(
        |(index, target, pending): (usize, Target, PendingUpload)| async move {
            let field = &M::S3_FIELDS[index];
            if !field.shared {
                let attempted = attempted(field.name, &target);
                return (
                    index,
                    Some(attempted),
                    upload::upload(settings, target, pending).await,
                );
            }
            let (upload_id, file_name) = (target.upload_id.clone(), pending.file_name.clone());
            let parts = key_parts::<M>(field, hash, range, &upload_id, &file_name);
            let owners = owners::<M>(table);
            let (attempted, stored) = shared::upload(
                settings,
                target,
                pending,
                field.key_template,
                parts,
                &owners,
            )
            .await;
            let attempted = attempted.map(|object| FileRef {
                field: field.name,
                object,
            });
            (index, attempted, stored)
        },
    ))
    .await;

    let mut uploads = Uploads::default();
    let mut stored = Vec::new();
    for (index, attempted, result) in results {
        let field = M::S3_FIELDS[index].name;
        match result {
            Ok(object) => {
                uploads.stored.push(FileRef {
                    field,
                    object: object_ref(&object),
                });
                stored.push((index, object));
            }
            Err(e) => {
                // The upload may have taken effect although it failed (a lost response): its
                // key is this save's alone, so it is removed to be sure, unless no request
                // could reach the server.
                if let Some(attempted) = attempted.filter(|_| !e.never_reached_server()) {
                    uploads.uncertain.push(attempted);
                }
                if uploads.failure.is_none() {
                    uploads.failure = Some(UploadFailure {
                        field,
                        source: Box::new(e),
                    });
                }
            }
        }
    }
    (uploads, stored)
}

/// [`FileStore::spill`]: moves the largest overflow fields of `attributes` to S3 until the
/// item fits in `limit`; a field whose value `current` already holds in S3 reuses it.
async fn spill<M: S3Model>(
    client: &Client,
    attributes: &mut Item,
    key: &Item,
    current: Option<&Item>,
    limit: usize,
) -> Uploads {
    let fields: Vec<&'static str> = M::S3_FIELDS
        .iter()
        .filter(|f| f.overflow)
        .map(|f| f.name)
        .collect();
    let mut jobs = Vec::new();
    for name in overflow::to_move(attributes, &fields, limit) {
        let Some(index) = M::S3_FIELDS.iter().position(|f| f.name == name) else {
            continue;
        };
        let (kind, bytes, upload) = match overflow::encode(name, &attributes[name]) {
            Ok(encoded) => encoded,
            Err(e) => return not_started(M::S3_FIELDS[index].name, e),
        };
        // The stored item keeps this very value in S3 already: no upload.
        let unchanged = current
            .and_then(|c| c.get(name))
            .and_then(overflow::parse)
            .filter(|(stored, stored_kind)| {
                *stored_kind == kind
                    && stored.encoding == M::S3_FIELDS[index].compress
                    && stored.sha256.as_deref() == Some(&*crate::checksum::sha256(&bytes))
            });
        if let Some((stored, _)) = unchanged {
            attributes.insert(name.to_owned(), overflow::reference(&stored, kind));
            continue;
        }
        jobs.push((index, upload));
    }
    if jobs.is_empty() {
        return Uploads::default();
    }
    let (uploads, stored) = run_uploads::<M>(client, key, jobs).await;
    if uploads.failure.is_none() {
        for (index, object) in stored {
            let name = M::S3_FIELDS[index].name;
            // The value is still in `attributes`: its kind is the one it was encoded as.
            let Some(kind) = attributes.get(name).map(overflow::Kind::of) else {
                continue;
            };
            attributes.insert(name.to_owned(), overflow::reference(&object, kind));
        }
    }
    uploads
}

/// [`FileStore::inflate`]: puts back every overflow value of `item` that lives in S3.
async fn inflate<M: S3Model>(client: &Client, item: &mut Item) -> Result<(), UploadFailure> {
    let moved: Vec<(&'static str, StoredObject, overflow::Kind)> = M::S3_FIELDS
        .iter()
        .filter(|f| f.overflow)
        .filter_map(|f| {
            let (stored, kind) = overflow::parse(item.get(f.name)?)?;
            Some((f.name, stored, kind))
        })
        .collect();
    let values =
        futures::future::try_join_all(moved.into_iter().map(|(field, stored, kind)| async move {
            let bytes = crate::download::get_bytes(client, &stored, None)
                .await
                .map_err(|e| UploadFailure {
                    field,
                    source: Box::new(e),
                })?;
            overflow::decode(field, &stored, kind, bytes).map(|value| (field, value))
        }))
        .await?;
    for (field, value) in values {
        item.insert(field.to_owned(), value);
    }
    Ok(())
}

/// The `dynox-owner` of the objects of `M`'s field `field`: `{table}/{field}` (the table with
/// the client's prefix), or `{table}/{entity}/{field}` for a model that shares its table with
/// other entity types, so that objects are owned per entity type: a sweep or cascade of one
/// entity type never takes another's objects (under the same field name and prefix) for its
/// own.
pub(crate) fn owner<M: S3Model>(table: &str, field: &str) -> String {
    match M::ENTITY {
        Some(entity) => format!("{table}/{}/{field}", entity.name),
        None => format!("{table}/{field}"),
    }
}

/// The owners of every file field of `M`.
pub(crate) fn owners<M: S3Model>(table: &str) -> Vec<String> {
    M::S3_FIELDS
        .iter()
        .map(|f| owner::<M>(table, f.name))
        .collect()
}

/// What the object key of an upload of `file` into `field` is built from (the content's hash
/// is added for a shared field once it is known).
fn key_parts<'a, M: S3Model>(
    field: &S3Field<M>,
    hash: &'a str,
    range: Option<&'a str>,
    upload: &'a str,
    file: &'a str,
) -> KeyParts<'a> {
    KeyParts {
        prefix: field.prefix,
        table: M::TABLE,
        field: field.name,
        hash,
        range,
        upload,
        file,
        sha256: None,
    }
}

/// The object an upload to `target` may have stored, even if it failed.
fn attempted(field: &'static str, target: &Target) -> FileRef {
    FileRef {
        field,
        object: target.object(),
    }
}

/// The S3 client name of field `field` of `M`.
pub(crate) fn field_client<M: S3Model>(field: &str) -> Option<&'static str> {
    M::S3_FIELDS
        .iter()
        .find(|f| f.name == field)
        .and_then(|f| f.client)
}

/// Nothing stored: `field`'s upload could not start.
fn not_started(field: &'static str, error: S3Error) -> Uploads {
    Uploads {
        failure: Some(UploadFailure {
            field,
            source: Box::new(error),
        }),
        ..Uploads::default()
    }
}
