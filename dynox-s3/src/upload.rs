//! Uploads: one PutObject up to the multipart threshold, streaming multipart above it.
//!
//! Memory stays bounded whatever the file size: at most the threshold for a single upload,
//! and part size × concurrency for a multipart one. A large file on disk is not buffered at
//! all: each part streams from disk as it is sent (see [`send_file_parts`]). Every failure
//! path of a multipart upload aborts it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use crate::checksum::{self, Hasher};
use crate::error::S3Error;
use crate::object::{BoxReader, PendingUpload, Source, StoredObject};
use crate::settings::{S3Settings, MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE};

/// S3 user-metadata key marking objects dynox created, with the upload id as value (the orphan
/// sweep recognises dynox objects by it).
pub const MARKER_METADATA: &str = "dynox-upload";

/// S3 user-metadata key naming the owner of an object dynox created: `{table}/{field}`, with
/// the client's table prefix. The orphan sweep deletes only objects its model owns.
pub const OWNER_METADATA: &str = "dynox-owner";

/// Where an upload goes.
pub(crate) struct Target {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) region: Option<String>,
    pub(crate) upload_id: String,
    /// `{table}/{field}`, stored as [`OWNER_METADATA`].
    pub(crate) owner: String,
}

/// The bytes of an upload, read part by part.
enum Data {
    Memory(Bytes),
    Reader {
        reader: BoxReader,
        /// Bytes read ahead (to decide single vs multipart) and not yet handed out.
        buffered: BytesMut,
    },
}

impl Data {
    /// The next `size` bytes (fewer at the end, empty when done).
    async fn next_part(&mut self, size: usize, file_name: &str) -> Result<Bytes, S3Error> {
        match self {
            Data::Memory(bytes) => {
                let n = size.min(bytes.len());
                Ok(bytes.split_to(n))
            }
            Data::Reader { reader, buffered } => {
                while buffered.len() < size {
                    // Grow as data arrives: a small source never costs a whole part.
                    buffered.reserve((size - buffered.len()).min(1 << 20));
                    let limit = (size - buffered.len()) as u64;
                    let read = (&mut *reader)
                        .take(limit)
                        .read_buf(buffered)
                        .await
                        .map_err(|source| S3Error::Source {
                            file_name: file_name.to_owned(),
                            source,
                        })?;
                    if read == 0 {
                        break;
                    }
                }
                let n = size.min(buffered.len());
                Ok(buffered.split_to(n).freeze())
            }
        }
    }
}

/// Uploads `file` to `target`, returning the stored object's metadata.
pub(crate) async fn upload(
    settings: &S3Settings,
    target: Target,
    file: PendingUpload,
) -> Result<StoredObject, S3Error> {
    let (data, size) = open(&file).await?;
    if let Some(size) = size {
        if size > MAX_OBJECT_SIZE {
            return Err(S3Error::TooLarge {
                file_name: file.file_name,
                size,
            });
        }
    }
    let span = tracing::debug_span!(
        "s3.upload",
        otel.name = "s3.upload",
        bucket = %target.bucket,
        key = %target.key,
        bytes = tracing::field::Empty,
        parts = tracing::field::Empty,
    );
    let threshold = settings.multipart_threshold;
    let single = matches!(size, Some(s) if s <= threshold);
    if let (Source::Path(path), Some(size), false) = (&file.source, size, single) {
        // A large file on disk: each part is read from disk as it is sent, never held whole.
        let path = path.clone();
        drop(data);
        return put_multipart(settings, target, file, Parts::File { path, size })
            .instrument(span)
            .await;
    }
    let mut data = data;
    async move {
        // Read ahead up to the threshold: if the data ends there, one PutObject is enough.
        let head = if single || size.is_none() {
            let want = usize::try_from(threshold.saturating_add(1)).unwrap_or(usize::MAX);
            Some(data.next_part(want, &file.file_name).await?)
        } else {
            None
        };
        match head {
            Some(head) if head.len() as u64 <= threshold => put_single(target, file, head).await,
            head => {
                if let (Some(head), Data::Reader { buffered, .. }) = (head.as_ref(), &mut data) {
                    // Put the read-ahead back in front of the rest.
                    let mut joined = BytesMut::from(&head[..]);
                    joined.extend_from_slice(buffered);
                    *buffered = joined;
                } else if let (Some(head), Data::Memory(rest)) = (head, &mut data) {
                    let mut joined = BytesMut::from(&head[..]);
                    joined.extend_from_slice(rest);
                    *rest = joined.freeze();
                }
                put_multipart(settings, target, file, Parts::Data { data, size }).await
            }
        }
    }
    .instrument(span)
    .await
}

async fn open(file: &PendingUpload) -> Result<(Data, Option<u64>), S3Error> {
    Ok(match &file.source {
        Source::Bytes(bytes) => (Data::Memory(bytes.clone()), Some(bytes.len() as u64)),
        Source::Path(path) => {
            let io = |action, source| S3Error::Io {
                action,
                path: path.clone(),
                source,
            };
            let handle = tokio::fs::File::open(path)
                .await
                .map_err(|e| io("opening", e))?;
            let len = handle
                .metadata()
                .await
                .map_err(|e| io("reading the size of", e))?
                .len();
            (
                Data::Reader {
                    reader: Box::new(handle),
                    buffered: BytesMut::new(),
                },
                Some(len),
            )
        }
        Source::Reader(shared, size) => {
            let reader = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()
                .ok_or_else(|| S3Error::SourceConsumed {
                    file_name: file.file_name.clone(),
                })?;
            (
                Data::Reader {
                    reader,
                    buffered: BytesMut::new(),
                },
                *size,
            )
        }
    })
}

fn content_type(file: &PendingUpload) -> String {
    file.content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

fn s3_metadata(file: &PendingUpload, target: &Target) -> std::collections::HashMap<String, String> {
    let mut metadata: std::collections::HashMap<String, String> = file
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.insert(MARKER_METADATA.to_owned(), target.upload_id.clone());
    metadata.insert(OWNER_METADATA.to_owned(), target.owner.clone());
    metadata
}

fn now() -> String {
    DateTime::from(SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

fn stored(
    target: Target,
    file: PendingUpload,
    size: u64,
    etag: Option<String>,
    version_id: Option<String>,
    sha256: String,
) -> StoredObject {
    StoredObject {
        content_type: content_type(&file),
        bucket: target.bucket,
        key: target.key,
        region: target.region,
        size,
        etag: etag.unwrap_or_default(),
        last_modified: now(),
        version_id,
        file_name: file.file_name,
        metadata: file.metadata,
        sha256: Some(sha256),
    }
}

async fn put_single(
    target: Target,
    file: PendingUpload,
    body: Bytes,
) -> Result<StoredObject, S3Error> {
    let sha256 = checksum::sha256(&body);
    let size = body.len() as u64;
    tracing::Span::current().record("bytes", size);
    let output = target
        .client
        .put_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .content_type(content_type(&file))
        .set_metadata(Some(s3_metadata(&file, &target)))
        // S3 checks the bytes it received against this and refuses a mismatch.
        .checksum_sha256(&sha256)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "PutObject", &target.bucket, &target.key))?;
    Ok(stored(
        target,
        file,
        size,
        output.e_tag,
        output.version_id,
        sha256,
    ))
}

/// The part size for part `number` (1-based): uniform when the size is known, growing every
/// 1,000 parts when it is not, so 10,000 parts always reach S3's 5 TiB limit.
fn part_size(settings: &S3Settings, size: Option<u64>, number: u64) -> u64 {
    let base = settings.part_size;
    match size {
        Some(size) => base.max(size.div_ceil(MAX_PARTS)).min(MAX_PART_SIZE),
        None => (base << ((number - 1) / 1000).min(10)).min(MAX_PART_SIZE),
    }
}

/// Where the parts of a multipart upload come from.
enum Parts {
    /// Read part by part into memory (bytes, readers, streams): part size × concurrency.
    Data { data: Data, size: Option<u64> },
    /// A file of known size, read from disk while each part is sent.
    File { path: PathBuf, size: u64 },
}

async fn put_multipart(
    settings: &S3Settings,
    target: Target,
    file: PendingUpload,
    parts: Parts,
) -> Result<StoredObject, S3Error> {
    // Parts read from disk carry a SHA-256 that S3 checks, so the bytes it stores are the
    // bytes hashed here even if the file changes underneath; parts from memory are sent from
    // the very buffer that was hashed, with a CRC32.
    let algorithm = match parts {
        Parts::File { .. } => ChecksumAlgorithm::Sha256,
        Parts::Data { .. } => ChecksumAlgorithm::Crc32,
    };
    let created = target
        .client
        .create_multipart_upload()
        .bucket(&target.bucket)
        .key(&target.key)
        .content_type(content_type(&file))
        .set_metadata(Some(s3_metadata(&file, &target)))
        .checksum_algorithm(algorithm)
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "CreateMultipartUpload", &target.bucket, &target.key))?;
    let Some(upload_id) = created.upload_id else {
        return Err(S3Error::Service {
            operation: "CreateMultipartUpload",
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            code: "MissingUploadId".into(),
            message: "the response had no upload id".into(),
            source: "no upload id".into(),
        });
    };
    let result = match parts {
        Parts::Data { mut data, size } => {
            send_parts(settings, &target, &file, &mut data, size, &upload_id).await
        }
        Parts::File { path, size } => {
            send_file_parts(settings, &target, &file, &path, size, &upload_id).await
        }
    };
    match result {
        Ok((parts, total, sha256)) => {
            let completed = target
                .client
                .complete_multipart_upload()
                .bucket(&target.bucket)
                .key(&target.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    S3Error::from_sdk(e, "CompleteMultipartUpload", &target.bucket, &target.key)
                });
            match completed {
                Ok(output) => Ok(stored(
                    target,
                    file,
                    total,
                    output.e_tag,
                    output.version_id,
                    sha256,
                )),
                Err(e) => {
                    abort(&target, &upload_id).await;
                    Err(e)
                }
            }
        }
        Err(e) => {
            abort(&target, &upload_id).await;
            Err(e)
        }
    }
}

/// Reads and uploads the parts, at most `concurrency` at once. Returns the completed parts in
/// order, the total size and the SHA-256 of the whole content.
async fn send_parts(
    settings: &S3Settings,
    target: &Target,
    file: &PendingUpload,
    data: &mut Data,
    size: Option<u64>,
    upload_id: &str,
) -> Result<(Vec<CompletedPart>, u64, String), S3Error> {
    let mut hasher = Hasher::default();
    // Parts upload as tasks of their own, so they go on while the next part is read; the set
    // aborts them all if this upload fails or is dropped.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut done = Vec::new();
    let mut total = 0u64;
    let mut number = 0u64;
    loop {
        number += 1;
        let want = part_size(settings, size, number);
        let part = data
            .next_part(usize::try_from(want).unwrap_or(usize::MAX), &file.file_name)
            .await?;
        if part.is_empty() {
            break;
        }
        if number > MAX_PARTS {
            return Err(S3Error::TooLarge {
                file_name: file.file_name.clone(),
                size: total + part.len() as u64,
            });
        }
        hasher.update(&part);
        total += part.len() as u64;
        if total > MAX_OBJECT_SIZE {
            return Err(S3Error::TooLarge {
                file_name: file.file_name.clone(),
                size: total,
            });
        }
        spawn_part(
            &mut in_flight,
            target,
            upload_id,
            number as i32,
            ByteStream::from(part),
            PartChecksum::Crc32,
        );
        if in_flight.len() >= settings.concurrency {
            if let Some(result) = in_flight.join_next().await {
                done.push(joined(result, target)?);
            }
        }
        if matches!(data, Data::Memory(b) if b.is_empty()) {
            break;
        }
    }
    while let Some(result) = in_flight.join_next().await {
        done.push(joined(result, target)?);
    }
    done.sort_by_key(|p| p.part_number);
    tracing::Span::current().record("bytes", total);
    tracing::Span::current().record("parts", done.len());
    Ok((done, total, hasher.finish()))
}

/// Bytes read from disk at a time while hashing a part.
const HASH_BUFFER: usize = 1 << 20;

/// Uploads a file of `size` bytes from disk, at most `concurrency` parts at once. Each part is
/// read twice, sequentially: once here to hash it (the whole file's SHA-256 and the part's
/// own, which S3 checks), then by the SDK while it sends the part. Memory stays at one hash
/// buffer plus the SDK's small read buffers, whatever the part size.
async fn send_file_parts(
    settings: &S3Settings,
    target: &Target,
    file: &PendingUpload,
    path: &Path,
    size: u64,
    upload_id: &str,
) -> Result<(Vec<CompletedPart>, u64, String), S3Error> {
    let io = |action: &'static str| {
        move |source| S3Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut handle = std::fs::File::open(path).map_err(io("opening"))?;
    let part_len = part_size(settings, Some(size), 1);
    if size.div_ceil(part_len) > MAX_PARTS {
        return Err(S3Error::TooLarge {
            file_name: file.file_name.clone(),
            size,
        });
    }
    let mut whole = Hasher::default();
    let mut buffer = vec![0u8; HASH_BUFFER.min(usize::try_from(part_len).unwrap_or(HASH_BUFFER))];
    let mut in_flight = tokio::task::JoinSet::new();
    let mut done = Vec::new();
    let mut offset = 0u64;
    let mut number = 0i32;
    while offset < size {
        number += 1;
        let len = part_len.min(size - offset);
        // Hash the part off the async threads, then take the file, hasher and buffer back.
        let hashed = tokio::task::spawn_blocking(move || {
            let part = hash_next(&mut handle, len, &mut whole, &mut buffer);
            (part, handle, whole, buffer)
        })
        .await;
        let (part_sha256, file_back, hasher, buf) = hashed.map_err(|e| S3Error::Transport {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            source: Box::new(e),
        })?;
        (handle, whole, buffer) = (file_back, hasher, buf);
        let part_sha256 = part_sha256.map_err(io("reading"))?;
        let body = ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(len))
            .buffer_size(64 * 1024)
            .build()
            .await
            .map_err(|e| S3Error::Source {
                file_name: file.file_name.clone(),
                source: std::io::Error::other(e),
            })?;
        spawn_part(
            &mut in_flight,
            target,
            upload_id,
            number,
            body,
            PartChecksum::Sha256(part_sha256),
        );
        offset += len;
        if in_flight.len() >= settings.concurrency {
            if let Some(result) = in_flight.join_next().await {
                done.push(joined(result, target)?);
            }
        }
    }
    while let Some(result) = in_flight.join_next().await {
        done.push(joined(result, target)?);
    }
    done.sort_by_key(|p| p.part_number);
    tracing::Span::current().record("bytes", size);
    tracing::Span::current().record("parts", done.len());
    Ok((done, size, whole.finish()))
}

/// Reads the next `len` bytes of `file` into `whole`, returning their own SHA-256. A file
/// shorter than expected is an `UnexpectedEof` error.
fn hash_next(
    file: &mut std::fs::File,
    len: u64,
    whole: &mut Hasher,
    buffer: &mut [u8],
) -> std::io::Result<String> {
    use std::io::Read;
    let mut part = Hasher::default();
    let mut left = len;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buffer[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        whole.update(&buffer[..n]);
        part.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(part.finish())
}

/// The checksum S3 checks a part against.
enum PartChecksum {
    /// Computed by the SDK from the bytes it sends (they are the bytes hashed, in memory).
    Crc32,
    /// Computed beforehand from the bytes on disk: S3 refuses a part that differs from them.
    Sha256(String),
}

/// Starts the upload of one part as a task of `in_flight`.
fn spawn_part(
    in_flight: &mut tokio::task::JoinSet<Result<CompletedPart, S3Error>>,
    target: &Target,
    upload_id: &str,
    number: i32,
    body: ByteStream,
    checksum: PartChecksum,
) {
    let request = target
        .client
        .upload_part()
        .bucket(&target.bucket)
        .key(&target.key)
        .upload_id(upload_id)
        .part_number(number)
        .body(body);
    let request = match &checksum {
        PartChecksum::Crc32 => request.checksum_algorithm(ChecksumAlgorithm::Crc32),
        PartChecksum::Sha256(sha256) => request.checksum_sha256(sha256),
    };
    let (bucket, key) = (target.bucket.clone(), target.key.clone());
    in_flight.spawn(async move {
        let output = request
            .send()
            .await
            .map_err(|e| S3Error::from_sdk(e, "UploadPart", &bucket, &key))?;
        let part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag);
        Ok(match checksum {
            PartChecksum::Crc32 => part.set_checksum_crc32(output.checksum_crc32),
            PartChecksum::Sha256(sent) => {
                part.checksum_sha256(output.checksum_sha256.unwrap_or(sent))
            }
        }
        .build())
    });
}

/// The result of a part task (a panicked or cancelled task is a transport error).
fn joined(
    result: Result<Result<CompletedPart, S3Error>, tokio::task::JoinError>,
    target: &Target,
) -> Result<CompletedPart, S3Error> {
    result.unwrap_or_else(|e| {
        Err(S3Error::Transport {
            bucket: target.bucket.clone(),
            key: target.key.clone(),
            source: Box::new(e),
        })
    })
}

async fn abort(target: &Target, upload_id: &str) {
    let aborted = target
        .client
        .abort_multipart_upload()
        .bucket(&target.bucket)
        .key(&target.key)
        .upload_id(upload_id)
        .send()
        .await;
    if let Err(error) = aborted {
        tracing::warn!(bucket = %target.bucket, key = %target.key, %upload_id, error = %S3Error::from_sdk(error, "AbortMultipartUpload", &target.bucket, &target.key), "could not abort a failed multipart upload; the orphan sweep will");
    }
}

/// Metadata of an upload that never saw its bytes (attached after a presigned upload).
pub(crate) fn metadata_map(
    metadata: Option<std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    metadata
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != MARKER_METADATA && k != OWNER_METADATA)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_stay_within_s3_limits() {
        let settings = S3Settings::default();
        let mib = 1024 * 1024;
        assert_eq!(part_size(&settings, Some(100 * mib), 1), 8 * mib);
        // 5 TiB in at most 10,000 parts.
        let huge = MAX_OBJECT_SIZE;
        let size = part_size(&settings, Some(huge), 1);
        assert!(size * MAX_PARTS >= huge && size <= MAX_PART_SIZE, "{size}");
        // Unknown length: parts grow every 1,000, and 10,000 of them reach 5 TiB.
        let total: u64 = (1..=MAX_PARTS).map(|n| part_size(&settings, None, n)).sum();
        assert!(total >= huge, "{total}");
        assert!((1..=MAX_PARTS).all(|n| part_size(&settings, None, n) <= MAX_PART_SIZE));
    }
}
