//! The network stage: the encoded bytes go to S3 in one PutObject when they end within the
//! multipart threshold, else part by part through a [`MultipartUpload`], at most
//! `concurrency` parts at once.
//!
//! Memory stays bounded whatever the size: at most the threshold for a single upload (none
//! for a file on disk, which streams), and part size × concurrency for a multipart one (file
//! parts again stream from disk and cost only small read buffers).

use std::time::SystemTime;

use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedPart};
use bytes::Bytes;

use super::multipart::{check_stored, checksummed, Body, MultipartUpload};
use super::server_date::ServerDate;
use super::source::{Part, UploadSource};
use super::transform::Encoded;
use super::{content_type, s3_metadata, Target};
use crate::checksum::Crc64;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::object::PendingUpload;
use crate::progress;
use crate::settings::{S3Settings, MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE};

/// What S3 answered for the stored bytes.
pub(crate) struct Sent {
    /// The number of bytes stored (counted here, after the encoder).
    pub(crate) size: u64,
    /// The ETag, as S3 sent it (S3 quotes it).
    pub(crate) etag: Option<String>,
    pub(crate) version_id: Option<String>,
    /// S3's clock when it answered the request that stored the object ([`ServerDate`]).
    pub(crate) date: SystemTime,
}

/// Sends `data` to `target`, recording `bytes` (the stored size) and `parts` on the current
/// span.
pub(crate) async fn send(
    settings: &S3Settings,
    target: &Target,
    file: &PendingUpload,
    data: &mut Encoded,
) -> Result<Sent, S3Error> {
    let threshold = settings.multipart_threshold;
    let single = match data.len() {
        Some(len) if len > threshold => false,
        _ => data.ends_within(threshold).await?,
    };
    if single {
        let part = data.next_part(threshold).await?;
        put_single(
            target,
            file,
            part.unwrap_or_else(|| Part::memory(Bytes::new())),
            data.content_size(),
        )
        .await
    } else {
        put_multipart(settings, target, file, data).await
    }
}

/// Stores `part`, the whole object, made from `content` bytes of the content (reported to the
/// file's progress once S3 acknowledged them).
async fn put_single(
    target: &Target,
    file: &PendingUpload,
    part: Part,
    content: u64,
) -> Result<Sent, S3Error> {
    let size = part.len();
    tracing::Span::current().record("bytes", size);
    dynox_core::metrics::count(
        "dynox_bytes_uploaded_total",
        &[("bucket", &target.bucket)],
        size,
    );
    // S3 checks the bytes it received against the CRC-64/NVME and refuses a mismatch; for a
    // single PutObject it is the object's full-object checksum too.
    let body = Body::of(part).await?;
    let sent = body.crc64.header();
    let date = ServerDate::default();
    let output = target
        .client
        .put_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .content_type(content_type(file))
        .set_content_encoding(target.compress.map(|c| c.name().to_owned()))
        .set_if_none_match(target.if_none_match.then(|| "*".to_owned()))
        .set_metadata(Some(s3_metadata(file, target)))
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .checksum_crc64_nvme(&sent)
        .body(body.stream)
        .customize()
        .interceptor(date.clone())
        // S3 checks the bytes against the signed checksum header: no second hash of the
        // payload for the signature.
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "PutObject", &target.bucket, &target.key))?;
    check_stored(
        output.checksum_crc64_nvme.as_deref(),
        &sent,
        (&target.bucket, &target.key),
    )?;
    progress::add(file.source.progress(), content);
    Ok(Sent {
        size,
        etag: output.e_tag,
        version_id: output.version_id,
        date: date.get(),
    })
}

async fn put_multipart(
    settings: &S3Settings,
    target: &Target,
    file: &PendingUpload,
    data: &mut Encoded,
) -> Result<Sent, S3Error> {
    // The first part is read before the upload starts: a source that fails at once leaves
    // nothing to abort.
    let Some(first) = data.next_part(part_size(settings, data.len(), 1)).await? else {
        // A reader that declared more than it had, and had nothing.
        return put_single(
            target,
            file,
            Part::memory(Bytes::new()),
            data.content_size(),
        )
        .await;
    };
    let upload = MultipartUpload::create(target, file).await?;
    match send_parts(settings, &upload, file, data, first).await {
        Ok((parts, whole)) => {
            let (output, date) = upload.complete(parts, whole).await?;
            Ok(Sent {
                size: whole.len,
                etag: output.e_tag,
                version_id: output.version_id,
                date,
            })
        }
        Err(error) => {
            upload.abort().await;
            Err(error)
        }
    }
}

/// Uploads `first` and the parts after it, at most `concurrency` at once. Returns the
/// completed parts in order and the CRC-64/NVME and size of the bytes sent (each part's own
/// CRC, combined in order: the object's full-object checksum).
///
/// Each part reports to the file's progress, once acknowledged, the content bytes read since
/// the part before it was made (its own bytes, unless compressed).
async fn send_parts(
    settings: &S3Settings,
    upload: &MultipartUpload<'_>,
    file: &PendingUpload,
    data: &mut Encoded,
    first: Part,
) -> Result<(Vec<CompletedPart>, Crc64), S3Error> {
    // Parts upload as tasks of their own, so they go on while the next part is read; the set
    // aborts them all if this upload fails or is dropped.
    let mut in_flight = tokio::task::JoinSet::new();
    let mut done = Vec::new();
    let mut stored = Crc64::default();
    let mut number = 1u64;
    let mut next = Some(first);
    let mut reported = 0u64;
    while let Some(part) = next {
        let part = checksummed(part).await?;
        stored = stored.then(part.crc64.unwrap_or_default());
        let content = data.content_size().saturating_sub(reported);
        reported += content;
        if number > MAX_PARTS || stored.len > MAX_OBJECT_SIZE {
            return Err(S3Error::TooLarge {
                file_name: file.file_name.clone(),
                size: stored.len,
            });
        }
        let put = upload.put_part(number as i32, part);
        let progress = file.source.progress().cloned();
        in_flight.spawn(async move {
            let completed = put.await?;
            progress::add(progress.as_ref(), content);
            Ok(completed)
        });
        if in_flight.len() >= settings.concurrency {
            if let Some(result) = in_flight.join_next().await {
                done.push(joined(result, upload)?);
            }
        }
        number += 1;
        next = data
            .next_part(part_size(settings, data.len(), number))
            .await?;
    }
    while let Some(result) = in_flight.join_next().await {
        done.push(joined(result, upload)?);
    }
    done.sort_by_key(|p| p.part_number);
    tracing::Span::current().record("bytes", stored.len);
    dynox_core::metrics::count(
        "dynox_bytes_uploaded_total",
        &[("bucket", upload.location().0)],
        stored.len,
    );
    tracing::Span::current().record("parts", done.len());
    Ok((done, stored))
}

/// The result of a part task (a panicked or cancelled task is a transport error).
fn joined(
    result: Result<Result<CompletedPart, S3Error>, tokio::task::JoinError>,
    upload: &MultipartUpload<'_>,
) -> Result<CompletedPart, S3Error> {
    result.unwrap_or_else(|e| {
        let (bucket, key) = upload.location();
        Err(S3Error::Transport {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source: Box::new(e),
        })
    })
}

/// The part size for part `number` (1-based) of `size` bytes: uniform when the size is
/// known, growing every 1,000 parts when it is not, so 10,000 parts always reach S3's 5 TiB
/// limit.
pub(crate) fn part_size(settings: &S3Settings, size: Option<u64>, number: u64) -> u64 {
    let base = settings.part_size;
    match size {
        Some(size) => base.max(size.div_ceil(MAX_PARTS)).min(MAX_PART_SIZE),
        None => (base << ((number - 1) / 1000).min(10)).min(MAX_PART_SIZE),
    }
}
