//! [`MultipartUpload`]: one S3 multipart upload, from create to complete or abort, and the
//! request body of a part.
//!
//! Every way out of an upload that does not complete it aborts it, including uploads that
//! an earlier attempt of `CreateMultipartUpload` started: when that request needed more than
//! one attempt (a lost response the SDK retried), or failed, the open uploads of the key
//! (unique to this save) are listed and every one but the completed upload is aborted. A
//! create that succeeded at its first attempt started exactly one upload, so the usual path
//! costs no listing. Servers that cannot list multipart uploads leave such an upload to the
//! orphan sweep (it is logged), as does a crash.

use std::time::SystemTime;

use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::server_date::ServerDate;
use super::source::{FileRange, Part, PartData};
use super::{content_type, s3_metadata, Target};
use crate::checksum::Crc64;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::object::PendingUpload;

/// Bytes a file part streams from disk at a time: each read is a hop to a blocking thread,
/// so fewer, larger reads cost less CPU (at `concurrency` buffers of memory).
const STREAM_BUFFER: usize = 1 << 20;

/// A request body and the CRC-64/NVME of its bytes, sent for S3 to check them against.
pub(crate) struct Body {
    pub(crate) stream: ByteStream,
    pub(crate) crc64: Crc64,
}

/// `part` with its CRC-64/NVME: the measuring stage computed it for the content's own bytes;
/// bytes an encoder made are checksummed here, once (a file part without one is read into
/// memory first, within the part size).
pub(crate) async fn checksummed(part: Part) -> Result<Part, S3Error> {
    if part.crc64.is_some() {
        return Ok(part);
    }
    let bytes = match part.data {
        PartData::Memory(bytes) => bytes,
        PartData::File(range) => read_range(&range).await?,
    };
    Ok(Part {
        crc64: Some(Crc64::of(&bytes)),
        data: PartData::Memory(bytes),
    })
}

impl Body {
    /// The body that sends `part` ([`checksummed`] first): file parts stream from disk (with
    /// the CRC the measuring pass computed, so S3 refuses bytes that changed since), memory
    /// parts from their buffer.
    pub(crate) async fn of(part: Part) -> Result<Body, S3Error> {
        let part = checksummed(part).await?;
        let crc64 = part.crc64.unwrap_or_default();
        let stream = match part.data {
            PartData::File(range) => ByteStream::read_from()
                .path(&*range.path)
                .offset(range.offset)
                .length(Length::Exact(range.len))
                .buffer_size(STREAM_BUFFER)
                .build()
                .await
                .map_err(|e| S3Error::Io {
                    action: "opening",
                    path: range.path.to_path_buf(),
                    source: std::io::Error::other(e),
                })?,
            PartData::Memory(bytes) => ByteStream::from(bytes),
        };
        Ok(Body { stream, crc64 })
    }
}

/// Refuses an answer whose CRC-64/NVME (S3's, of the bytes it stored) is not `sent`: a server
/// that did not check the bytes against the header still gives itself away here.
pub(crate) fn check_stored(
    answered: Option<&str>,
    sent: &str,
    (bucket, key): (&str, &str),
) -> Result<(), S3Error> {
    match answered {
        Some(answered) if answered != sent => Err(S3Error::ChecksumMismatch {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            expected: format!("crc64nvme:{sent}"),
            actual: format!("crc64nvme:{answered} (stored)"),
        }),
        _ => Ok(()),
    }
}

/// The bytes of a file range, in memory.
pub(crate) async fn read_range(range: &FileRange) -> Result<Bytes, S3Error> {
    let io = |action| {
        let path = range.path.to_path_buf();
        move |source| S3Error::Io {
            action,
            path,
            source,
        }
    };
    let mut file = tokio::fs::File::open(&*range.path)
        .await
        .map_err(io("opening"))?;
    file.seek(std::io::SeekFrom::Start(range.offset))
        .await
        .map_err(io("reading"))?;
    let mut bytes = Vec::with_capacity(usize::try_from(range.len).unwrap_or(0));
    file.take(range.len)
        .read_to_end(&mut bytes)
        .await
        .map_err(io("reading"))?;
    if (bytes.len() as u64) < range.len {
        return Err(io("reading")(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(Bytes::from(bytes))
}

/// A started multipart upload, with a full-object CRC-64/NVME: every part carries its own
/// CRC, and the complete carries the whole object's (combined from the parts') and its
/// size, which S3 checks. Consumed by [`complete`](Self::complete) or
/// [`abort`](Self::abort); a failed complete aborts it too.
pub(crate) struct MultipartUpload<'t> {
    target: &'t Target,
    upload_id: String,
    /// The create took more than one attempt: an earlier one may have started an upload
    /// whose response was lost.
    retried: bool,
}

impl<'t> MultipartUpload<'t> {
    /// Starts an upload of `file` to `target`. If it fails, any upload it may have started
    /// all the same is aborted.
    pub(crate) async fn create(target: &'t Target, file: &PendingUpload) -> Result<Self, S3Error> {
        let attempts = dynox_core::__private::Attempts::default();
        let created = attempts
            .count(
                target
                    .client
                    .create_multipart_upload()
                    .bucket(&target.bucket)
                    .key(&target.key)
                    .content_type(content_type(file))
                    .set_content_encoding(target.compress.map(|c| c.name().to_owned()))
                    .set_metadata(Some(s3_metadata(file, target)))
                    .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
                    .checksum_type(ChecksumType::FullObject)
                    .send(),
            )
            .await
            .map_err(|e| {
                S3Error::from_sdk(e, "CreateMultipartUpload", &target.bucket, &target.key)
            });
        let upload_id = match created.map(|output| output.upload_id) {
            Ok(Some(upload_id)) => upload_id,
            failed => {
                let error = failed.err().unwrap_or_else(|| S3Error::Service {
                    operation: "CreateMultipartUpload",
                    bucket: target.bucket.clone(),
                    key: target.key.clone(),
                    code: "MissingUploadId".into(),
                    message: "the response had no upload id".into(),
                    source: "no upload id".into(),
                });
                // The request may have taken effect with its response lost.
                abort_strays(target, None).await;
                return Err(error);
            }
        };
        Ok(MultipartUpload {
            target,
            upload_id,
            retried: attempts.retried(),
        })
    }

    /// The bucket and key uploaded to.
    pub(crate) fn location(&self) -> (&str, &str) {
        (&self.target.bucket, &self.target.key)
    }

    /// The upload of part `number` (1-based), to run as a task of its own.
    pub(crate) fn put_part(
        &self,
        number: i32,
        part: Part,
    ) -> impl std::future::Future<Output = Result<CompletedPart, S3Error>> + Send + 'static {
        let client = self.target.client.clone();
        let (bucket, key) = (self.target.bucket.clone(), self.target.key.clone());
        let upload_id = self.upload_id.clone();
        async move {
            let body = Body::of(part).await?;
            let sent = body.crc64.header();
            // The part's checksum header (signed) is what S3 checks the bytes against: hashing
            // the payload once more for the signature would add nothing but CPU.
            let output = client
                .upload_part()
                .bucket(&bucket)
                .key(&key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
                .checksum_crc64_nvme(&sent)
                .body(body.stream)
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| S3Error::from_sdk(e, "UploadPart", &bucket, &key))?;
            check_stored(
                output.checksum_crc64_nvme.as_deref(),
                &sent,
                (&bucket, &key),
            )?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag)
                .checksum_crc64_nvme(sent)
                .build())
        }
    }

    /// Completes the upload from its `parts` (in order), whose bytes' CRC-64 and size are
    /// `whole`, returning S3's answer and its clock when it gave it ([`ServerDate`]). If that
    /// fails, the upload is aborted.
    pub(crate) async fn complete(
        self,
        parts: Vec<CompletedPart>,
        whole: Crc64,
    ) -> Result<(CompleteMultipartUploadOutput, SystemTime), S3Error> {
        let target = self.target;
        let date = ServerDate::default();
        let sent = whole.header();
        let completed = target
            .client
            .complete_multipart_upload()
            .bucket(&target.bucket)
            .key(&target.key)
            .set_if_none_match(target.if_none_match.then(|| "*".to_owned()))
            .upload_id(&self.upload_id)
            .checksum_type(ChecksumType::FullObject)
            .checksum_crc64_nvme(&sent)
            .mpu_object_size(i64::try_from(whole.len).unwrap_or(i64::MAX))
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .customize()
            .interceptor(date.clone())
            .send()
            .await
            .map_err(|e| {
                S3Error::from_sdk(e, "CompleteMultipartUpload", &target.bucket, &target.key)
            })
            .and_then(|output| {
                let location = (target.bucket.as_str(), target.key.as_str());
                check_stored(output.checksum_crc64_nvme.as_deref(), &sent, location)?;
                Ok(output)
            });
        match completed {
            Ok(output) => {
                if self.retried {
                    abort_strays(target, Some(&self.upload_id)).await;
                }
                Ok((output, date.get()))
            }
            Err(error) => {
                self.abort().await;
                Err(error)
            }
        }
    }

    /// Aborts the upload (and any an earlier attempt of its create started). A failure is
    /// logged: the orphan sweep aborts what is left.
    pub(crate) async fn abort(self) {
        abort_one(self.target, &self.upload_id).await;
        if self.retried {
            abort_strays(self.target, Some(&self.upload_id)).await;
        }
    }
}

async fn abort_one(target: &Target, upload_id: &str) {
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

/// Aborts every open upload of exactly `target.key` but `keep`. A server that cannot list
/// multipart uploads (or a listing refused) leaves them to the orphan sweep.
async fn abort_strays(target: &Target, keep: Option<&str>) {
    let listed = target
        .client
        .list_multipart_uploads()
        .bucket(&target.bucket)
        .prefix(&target.key)
        .send()
        .await;
    let uploads = match listed {
        Ok(output) => output.uploads.unwrap_or_default(),
        Err(error) => {
            tracing::debug!(bucket = %target.bucket, key = %target.key, error = %S3Error::from_sdk(error, "ListMultipartUploads", &target.bucket, &target.key), "could not list multipart uploads to abort; the orphan sweep will");
            return;
        }
    };
    for upload in uploads {
        let (Some(key), Some(upload_id)) = (upload.key, upload.upload_id) else {
            continue;
        };
        if key == target.key && keep != Some(upload_id.as_str()) {
            abort_one(target, &upload_id).await;
        }
    }
}
