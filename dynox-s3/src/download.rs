//! Downloads of a stored object: to memory, to a file, as a stream, or a byte range.
//!
//! Every full download checks the size and SHA-256 the item recorded; a mismatch is
//! [`S3Error::ChecksumMismatch`]. Reads of a versioned object ask for the recorded version,
//! so a later overwrite of the key (by something other than dynox) cannot change them.

use std::path::{Path, PathBuf};

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::io::AsyncWriteExt;
use tracing::Instrument;

use crate::checksum::Hasher;
use crate::error::S3Error;
use crate::object::StoredObject;
use crate::settings::Runtime;

pub(crate) async fn get(
    client: &dynox_core::Client,
    object: &StoredObject,
    range: Option<(u64, u64)>,
) -> Result<GetObjectOutput, S3Error> {
    let runtime = Runtime::of(client);
    let mut request = runtime
        .client(object.region.as_deref())
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone());
    if object.sha256.is_none() && !object.etag.is_empty() {
        // No checksum recorded (attached object): at least refuse different content.
        request = request.if_match(&object.etag);
    }
    if let Some((start, end)) = range {
        request = request.range(format!("bytes={start}-{}", end - 1));
    }
    request
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "GetObject", &object.bucket, &object.key))
}

/// Checks a full download's size and checksum against the item.
pub(crate) struct Verifier<'a> {
    object: &'a StoredObject,
    hasher: Hasher,
    size: u64,
}

impl<'a> Verifier<'a> {
    pub(crate) fn new(object: &'a StoredObject) -> Self {
        Self {
            object,
            hasher: Hasher::default(),
            size: 0,
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
    }

    pub(crate) fn finish(self) -> Result<(), S3Error> {
        let mismatch = |expected: String, actual: String| S3Error::ChecksumMismatch {
            bucket: self.object.bucket.clone(),
            key: self.object.key.clone(),
            expected,
            actual,
        };
        if self.size != self.object.size {
            return Err(mismatch(
                format!("size:{}", self.object.size),
                format!("size:{}", self.size),
            ));
        }
        if let Some(expected) = &self.object.sha256 {
            let actual = self.hasher.finish();
            if &actual != expected {
                return Err(mismatch(
                    format!("sha256:{expected}"),
                    format!("sha256:{actual}"),
                ));
            }
        }
        Ok(())
    }
}

fn body_error(object: &StoredObject, e: impl std::error::Error + Send + Sync + 'static) -> S3Error {
    S3Error::Transport {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        source: Box::new(e),
    }
}

fn span(object: &StoredObject, operation: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "s3.download",
        otel.name = operation,
        bucket = %object.bucket,
        key = %object.key,
        bytes = object.size,
    )
}

pub(crate) async fn get_bytes(
    client: &dynox_core::Client,
    object: &StoredObject,
) -> Result<Bytes, S3Error> {
    async {
        let mut body = get(client, object, None).await?.body;
        let mut verifier = Verifier::new(object);
        let mut out =
            BytesMut::with_capacity(usize::try_from(object.size).unwrap_or(0).min(1 << 30));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(object, e))?;
            verifier.update(&chunk);
            if verifier.size > object.size {
                // More than the item recorded: stop now rather than read it all.
                return Err(verifier
                    .finish()
                    .err()
                    .unwrap_or_else(|| S3Error::ChecksumMismatch {
                        bucket: object.bucket.clone(),
                        key: object.key.clone(),
                        expected: format!("size:{}", object.size),
                        actual: "more".into(),
                    }));
            }
            out.extend_from_slice(&chunk);
        }
        verifier.finish()?;
        Ok(out.freeze())
    }
    .instrument(span(object, "s3.get_bytes"))
    .await
}

pub(crate) async fn range(
    client: &dynox_core::Client,
    object: &StoredObject,
    start: u64,
    end: u64,
) -> Result<Bytes, S3Error> {
    let end = end.min(object.size);
    if start >= end {
        return Ok(Bytes::new());
    }
    let body = get(client, object, Some((start, end))).await?.body;
    let data = body
        .collect()
        .await
        .map_err(|e| body_error(object, e))?
        .into_bytes();
    if data.len() as u64 != end - start {
        return Err(S3Error::ChecksumMismatch {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            expected: format!("range of {} bytes", end - start),
            actual: format!("{} bytes", data.len()),
        });
    }
    Ok(data)
}

/// The content as a stream of chunks; the last item is an error if the content does not
/// match the item's size and checksum.
pub(crate) fn stream(
    client: dynox_core::Client,
    object: StoredObject,
) -> BoxStream<'static, Result<Bytes, S3Error>> {
    enum State {
        Start(Box<(dynox_core::Client, StoredObject)>),
        Reading(
            Box<(
                aws_sdk_s3::primitives::ByteStream,
                StoredObject,
                Hasher,
                u64,
            )>,
        ),
        Done,
    }
    stream::unfold(
        State::Start(Box::new((client, object))),
        |state| async move {
            let (mut body, object, mut hasher, mut size) = match state {
                State::Start(start) => match get(&start.0, &start.1, None).await {
                    Ok(out) => (out.body, start.1, Hasher::default(), 0),
                    Err(e) => return Some((Err(e), State::Done)),
                },
                State::Reading(reading) => *reading,
                State::Done => return None,
            };
            match body.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    Some((
                        Ok(chunk),
                        State::Reading(Box::new((body, object, hasher, size))),
                    ))
                }
                Some(Err(e)) => Some((Err(body_error(&object, e)), State::Done)),
                None => {
                    let mut verifier = Verifier::new(&object);
                    verifier.hasher = hasher;
                    verifier.size = size;
                    match verifier.finish() {
                        Ok(()) => None,
                        Err(e) => Some((Err(e), State::Done)),
                    }
                }
            }
        },
    )
    .boxed()
}

/// Streams the object into `path`: into a temporary file in the same folder, renamed into
/// place only after the size and checksum matched. A failed download leaves no file.
pub(crate) async fn save_to(
    client: &dynox_core::Client,
    object: &StoredObject,
    path: &Path,
) -> Result<u64, S3Error> {
    let temp = temp_path(path);
    let result = async {
        write_file(client, object, &temp).await?;
        tokio::fs::rename(&temp, path)
            .await
            .map_err(|source| S3Error::Io {
                action: "moving the download into",
                path: path.to_owned(),
                source,
            })
    }
    .instrument(span(object, "s3.save_to"))
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result.map(|()| object.size)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{:08x}.dynox-partial", fastrand::u32(..)))
}

async fn write_file(
    client: &dynox_core::Client,
    object: &StoredObject,
    temp: &Path,
) -> Result<(), S3Error> {
    let io = |action: &'static str| {
        move |source| S3Error::Io {
            action,
            path: temp.to_owned(),
            source,
        }
    };
    let mut body = get(client, object, None).await?.body;
    let mut file = tokio::fs::File::create(temp)
        .await
        .map_err(io("creating"))?;
    let mut verifier = Verifier::new(object);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| body_error(object, e))?;
        verifier.update(&chunk);
        file.write_all(&chunk).await.map_err(io("writing"))?;
    }
    verifier.finish()?;
    file.sync_all().await.map_err(io("syncing"))?;
    Ok(())
}
