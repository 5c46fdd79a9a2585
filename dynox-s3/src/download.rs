//! Downloads of a stored object: to memory, to a file, as a stream, or a byte range.
//!
//! Every full download checks the size and the checksums the item recorded (its CRC-64/NVME,
//! and its SHA-256 where it records one); a mismatch is [`S3Error::ChecksumMismatch`]. The
//! CRC is taken of the bytes as they arrive; a parallel ranged `save_to` takes each range's
//! and combines them (CRC-64 allows it), so no byte is read twice. An item with no checksum
//! (an attached upload S3 kept none for, an item another tool wrote) is checked against its
//! ETag (`If-Match`) and the full-object checksum S3 keeps for the object, where it has one
//! (the SDK verifies the body against it). Reads of a versioned object ask for the recorded
//! version, so a later overwrite of the key (by something other than dynox) cannot change
//! them.
//!
//! A compressed object is decompressed as its body arrives ([`content`]), and the checks
//! are on the decompressed bytes: the original content's size and checksums. Bytes that do
//! not decode are a checksum mismatch too. It is always fetched whole: `range` refuses it
//! ([`S3Error::RangeOfCompressed`]) and `save_to` streams it in one GET instead of parallel
//! ranges (a range of compressed bytes cannot be decoded on its own).
//!
//! A [`Progress`] counts content bytes as they reach the caller: chunks handed out (`stream`,
//! `get_bytes`) or written to the file (`save_to`, after each write). It never passes the
//! recorded size (a longer body is an error before its excess is handed out), and a download
//! that succeeds ends it at exactly that size.

use std::path::{Path, PathBuf};

#[cfg(feature = "gzip")]
use async_compression::tokio::bufread::GzipDecoder;
#[cfg(feature = "zstd")]
use async_compression::tokio::bufread::ZstdDecoder;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::io::{ReaderStream, StreamReader};
use tracing::Instrument;

use crate::checksum::{Crc64, Crc64Hasher, Hasher};
use crate::compression::Compression;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::object::StoredObject;
use crate::progress::{self, Progress};
use crate::settings::Runtime;

pub(crate) async fn get(
    client: &dynox_core::Client,
    object: &StoredObject,
    range: Option<(u64, u64)>,
) -> Result<GetObjectOutput, S3Error> {
    if let Some(codec) = object.encoding.filter(|codec| !codec.is_enabled()) {
        return Err(S3Error::CodecNotEnabled {
            codec: codec.name(),
            bucket: object.bucket.clone(),
            key: object.key.clone(),
        });
    }
    let runtime = Runtime::of(client);
    let mut request = runtime
        .client_named(object.client.as_deref(), object.region.as_deref())?
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone());
    if !recorded(object) && !object.etag.is_empty() {
        // No checksum recorded (attached object): at least refuse different content.
        request = request.if_match(&object.etag);
    }
    if let Some((start, end)) = range {
        request = request.range(format!("bytes={start}-{}", end - 1));
    }
    use aws_sdk_s3::config::ResponseChecksumValidation;
    let validation = if recorded(object) {
        // Every download of a recorded object is checked against the item's checksums
        // (`Verifier`): the SDK's own check of the stored checksum would hash the same bytes
        // again.
        ResponseChecksumValidation::WhenRequired
    } else {
        // No checksum recorded (an attached upload, an item written by pydynox): have S3
        // return the full-object checksum it keeps (CRC32, CRC32C, CRC64/NVME, SHA-1 or
        // SHA-256) and the SDK check the body against it, whatever the client's own setting.
        request = request.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
        ResponseChecksumValidation::WhenSupported
    };
    let output = request
        .customize()
        .config_override(aws_sdk_s3::Config::builder().response_checksum_validation(validation))
        .send()
        .await
        .map_err(|e| S3Error::from_sdk(e, "GetObject", &object.bucket, &object.key))?;
    if let Some(bytes) = output.content_length().filter(|n| *n > 0) {
        dynox_core::metrics::count(
            "dynox_bytes_downloaded_total",
            &[("bucket", &object.bucket)],
            bytes as u64,
        );
    }
    Ok(output)
}

/// Whether the item records a checksum of the content that downloads check.
fn recorded(object: &StoredObject) -> bool {
    object.crc64nvme.is_some() || object.sha256.is_some()
}

/// Checks a full download's size and checksums against the item: the CRC-64/NVME always
/// (it is what tells the size too), the SHA-256 only where the item records one.
pub(crate) struct Verifier {
    object: StoredObject,
    crc64: Crc64Hasher,
    sha256: Option<Hasher>,
}

impl Verifier {
    pub(crate) fn new(object: StoredObject) -> Self {
        Self {
            sha256: object.sha256.is_some().then(Hasher::default),
            object,
            crc64: Crc64Hasher::default(),
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        self.crc64.update(chunk);
        if let Some(sha256) = &mut self.sha256 {
            sha256.update(chunk);
        }
    }

    /// The number of bytes checked so far.
    pub(crate) fn size(&self) -> u64 {
        self.crc64.len()
    }

    pub(crate) fn finish(self) -> Result<(), S3Error> {
        check(
            &self.object,
            self.crc64.finish(),
            self.sha256.map(Hasher::finish),
        )
    }
}

/// Checks content whose CRC-64/NVME and size are `crc64` (and SHA-256 `sha256`, when taken)
/// against what the item recorded.
fn check(object: &StoredObject, crc64: Crc64, sha256: Option<String>) -> Result<(), S3Error> {
    let mismatch = |expected: String, actual: String| S3Error::ChecksumMismatch {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        expected,
        actual,
    };
    if crc64.len != object.size {
        return Err(mismatch(
            format!("size:{}", object.size),
            format!("size:{}", crc64.len),
        ));
    }
    if let Some(expected) = &object.crc64nvme {
        let actual = crc64.header();
        if &actual != expected {
            return Err(mismatch(
                format!("crc64nvme:{expected}"),
                format!("crc64nvme:{actual}"),
            ));
        }
    }
    if let (Some(expected), Some(actual)) = (&object.sha256, sha256) {
        if &actual != expected {
            return Err(mismatch(
                format!("sha256:{expected}"),
                format!("sha256:{actual}"),
            ));
        }
    }
    Ok(())
}

/// The checksum a mismatch names as expected: the item's CRC-64, else its SHA-256, else its
/// size.
fn expected(object: &StoredObject) -> String {
    match (&object.crc64nvme, &object.sha256) {
        (Some(crc), _) => format!("crc64nvme:{crc}"),
        (None, Some(sha256)) => format!("sha256:{sha256}"),
        (None, None) => format!("size:{}", object.size),
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

/// The whole content in memory, verified, reported to `progress` if given.
pub(crate) async fn get_bytes(
    client: &dynox_core::Client,
    object: &StoredObject,
    progress: Option<&Progress>,
) -> Result<Bytes, S3Error> {
    async {
        if let Some(progress) = progress {
            progress.start(Some(object.size));
        }
        let body = get(client, object, None).await?.body;
        let mut chunks = verified(object.clone(), content(object, body), progress.cloned());
        let mut out =
            BytesMut::with_capacity(usize::try_from(object.size).unwrap_or(0).min(1 << 30));
        while let Some(chunk) = chunks.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }
    .instrument(span(object, "s3.get_bytes"))
    .await
}

/// Chunk size of a decompressed body.
const DECODED_CHUNK: usize = 64 * 1024;

/// The content in a GET's `body`: the body as it is, or for a compressed object the body
/// decompressed as it arrives. Bytes that do not decode are [`S3Error::ChecksumMismatch`];
/// a failed body read is [`S3Error::Transport`].
fn content(object: &StoredObject, body: ByteStream) -> BoxStream<'static, Result<Bytes, S3Error>> {
    let chunks = stream::unfold(body, |mut body| async move {
        body.next().await.map(|chunk| (chunk, body))
    });
    let Some(encoding) = object.encoding else {
        let object = object.clone();
        return chunks.map_err(move |e| body_error(&object, e)).boxed();
    };
    let (bucket, key) = (object.bucket.clone(), object.key.clone());
    let expected = expected(object);
    let body_object = object.clone();
    // Body errors pass through the decoder as I/O errors carrying the S3Error.
    let reader = StreamReader::new(
        chunks
            .map_err(move |e| std::io::Error::other(body_error(&body_object, e)))
            .boxed(),
    );
    let decoder: crate::upload::source::BoxReader = match encoding {
        #[cfg(feature = "zstd")]
        Compression::Zstd => Box::new(ZstdDecoder::new(reader)),
        #[cfg(feature = "gzip")]
        Compression::Gzip => Box::new(GzipDecoder::new(reader)),
        // `get` refuses a codec this build leaves out before any request.
        #[allow(unreachable_patterns)]
        other => {
            return stream::once(async move {
                Err(S3Error::CodecNotEnabled {
                    codec: other.name(),
                    bucket,
                    key,
                })
            })
            .boxed()
        }
    };
    let decoded = ReaderStream::with_capacity(decoder, DECODED_CHUNK);
    decoded
        .map_err(move |e| {
            let undecodable = format!("{encoding} data that does not decode: {e}");
            match e.into_inner().map(|inner| inner.downcast::<S3Error>()) {
                Some(Ok(error)) => *error,
                _ => S3Error::ChecksumMismatch {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    expected: expected.clone(),
                    actual: undecodable,
                },
            }
        })
        .boxed()
}

/// `chunks` checked against the item's size and checksums: the last item is an error if they
/// do not match, and the stream stops at the first byte past the recorded size (so a body
/// that decompresses to far more than recorded is not read to its end). Each chunk handed
/// out is added to `progress`, which is finished when the stream ends matching.
fn verified(
    object: StoredObject,
    chunks: BoxStream<'static, Result<Bytes, S3Error>>,
    progress: Option<Progress>,
) -> BoxStream<'static, Result<Bytes, S3Error>> {
    struct Reading {
        chunks: BoxStream<'static, Result<Bytes, S3Error>>,
        size: u64,
        verifier: Option<Verifier>,
        progress: Option<Progress>,
    }
    let start = Reading {
        chunks,
        size: object.size,
        verifier: Some(Verifier::new(object)),
        progress,
    };
    stream::unfold(start, |mut state| async move {
        let verifier = state.verifier.as_mut()?;
        let next = state.chunks.next().await;
        if let Some(Ok(chunk)) = &next {
            verifier.update(chunk);
            if verifier.size() <= state.size {
                progress::add(state.progress.as_ref(), chunk.len() as u64);
                return Some((next?, state));
            }
        }
        let verifier = state.verifier.take()?;
        if let Some(Err(error)) = next {
            return Some((Err(error), state));
        }
        // The end, or more than the item recorded: check what was read.
        match verifier.finish() {
            Ok(()) => {
                if let Some(progress) = &state.progress {
                    progress.finish(state.size);
                }
                None
            }
            Err(error) => Some((Err(error), state)),
        }
    })
    .boxed()
}

pub(crate) async fn range(
    client: &dynox_core::Client,
    object: &StoredObject,
    start: u64,
    end: u64,
) -> Result<Bytes, S3Error> {
    if object.encoding.is_some() {
        return Err(S3Error::RangeOfCompressed {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
        });
    }
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

/// The content as a stream of chunks, fetched when first polled; the last item is an error
/// if the content does not match the item's size and checksum.
pub(crate) fn stream(
    client: dynox_core::Client,
    object: StoredObject,
    progress: Option<Progress>,
) -> BoxStream<'static, Result<Bytes, S3Error>> {
    stream::once(async move {
        if let Some(progress) = &progress {
            progress.start(Some(object.size));
        }
        let body = get(&client, &object, None).await?.body;
        let chunks = content(&object, body);
        Ok::<_, S3Error>(verified(object, chunks, progress))
    })
    .try_flatten()
    .boxed()
}

/// Streams the object into `path`: into a temporary file in the same folder, renamed into
/// place only after the size and checksum matched. A failed download leaves no file.
pub(crate) async fn save_to(
    client: &dynox_core::Client,
    object: &StoredObject,
    path: &Path,
    progress: Option<&Progress>,
) -> Result<u64, S3Error> {
    if let Some(progress) = progress {
        progress.start(Some(object.size));
    }
    let temp = temp_path(path);
    let result = async {
        write_file(client, object, &temp, progress).await?;
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
    } else if let Some(progress) = progress {
        progress.finish(object.size);
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
    progress: Option<&Progress>,
) -> Result<(), S3Error> {
    let settings = &Runtime::of(client).settings;
    // A compressed object streams whole: a range of it cannot be decoded on its own.
    if object.encoding.is_none()
        && object.size > settings.multipart_threshold
        && settings.concurrency > 1
    {
        return write_file_ranges(
            client,
            object,
            temp,
            settings.part_size,
            settings.concurrency,
            progress,
        )
        .await;
    }
    let io = |action: &'static str| {
        move |source| S3Error::Io {
            action,
            path: temp.to_owned(),
            source,
        }
    };
    let body = get(client, object, None).await?.body;
    let mut chunks = verified(object.clone(), content(object, body), None);
    let mut file = tokio::fs::File::create(temp)
        .await
        .map_err(io("creating"))?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        file.write_all(&chunk).await.map_err(io("writing"))?;
        progress::add(progress, chunk.len() as u64);
    }
    file.sync_all().await.map_err(io("syncing"))?;
    Ok(())
}

/// Bytes a range download holds before writing them at their offset.
const WRITE_BUFFER: usize = 1 << 20;

/// A large object into `temp` by ranged GETs of `part_size` bytes, at most `concurrency` at
/// once, each written at its offset as it arrives. Each range's CRC-64/NVME is taken of its
/// bytes as they arrive, and the ranges' CRCs combine into the whole content's, which is
/// checked with its size against the item: end to end, with no second pass and memory
/// bounded by `concurrency` write buffers.
///
/// An item that records a SHA-256 (a field that asked for one, an item written before
/// CRC-64 was the default) has it checked too: a SHA-256 cannot be combined, so a follower
/// thread reads the file back in order as the downloaded prefix grows and hashes it.
async fn write_file_ranges(
    client: &dynox_core::Client,
    object: &StoredObject,
    temp: &Path,
    part_size: u64,
    concurrency: usize,
    progress: Option<&Progress>,
) -> Result<(), S3Error> {
    let io = |action: &'static str| {
        move |source| S3Error::Io {
            action,
            path: temp.to_owned(),
            source,
        }
    };
    // Read as well as written: the follower hashes what is on disk.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(io("creating"))?;
    file.set_len(object.size).map_err(io("sizing"))?;
    let file = std::sync::Arc::new(file);
    let ranges: Vec<(u64, u64)> = (0..object.size.div_ceil(part_size))
        .map(|i| (i * part_size, ((i + 1) * part_size).min(object.size)))
        .collect();

    // The follower, for a SHA-256: hashes the file up to each new end of the contiguous
    // downloaded prefix.
    let (prefix_tx, prefix_rx) = std::sync::mpsc::channel::<u64>();
    let follower = object.sha256.is_some().then(|| {
        let file = file.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut sha256 = Hasher::default();
            let mut hashed = 0u64;
            let mut buffer = vec![0u8; WRITE_BUFFER];
            while let Ok(end) = prefix_rx.recv() {
                while hashed < end {
                    let want = buffer
                        .len()
                        .min(usize::try_from(end - hashed).unwrap_or(usize::MAX));
                    let n = read_at(&file, &mut buffer[..want], hashed)?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    sha256.update(&buffer[..n]);
                    hashed += n as u64;
                }
            }
            Ok(sha256.finish())
        })
    });

    let mut crcs = vec![Crc64::default(); ranges.len()];
    let mut done = vec![false; ranges.len()];
    let mut prefix = 0usize;
    let mut in_flight = tokio::task::JoinSet::new();
    let mut next = ranges.iter().enumerate();
    let result: Result<(), S3Error> = async {
        loop {
            while in_flight.len() < concurrency {
                let Some((index, &(start, end))) = next.next() else {
                    break;
                };
                let (client, object, file) = (client.clone(), object.clone(), file.clone());
                let temp = temp.to_owned();
                let progress = progress.cloned();
                in_flight.spawn(async move {
                    fetch_range(&client, &object, (&file, &temp), start, end, progress)
                        .await
                        .map(|crc| (index, crc))
                });
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            let (index, crc) = joined.map_err(|e| body_error(object, e))??;
            (crcs[index], done[index]) = (crc, true);
            let before = prefix;
            while prefix < done.len() && done[prefix] {
                prefix += 1;
            }
            if prefix > before && follower.is_some() {
                // A closed channel means the follower failed: its error comes out below.
                let _ = prefix_tx.send(ranges[prefix - 1].1);
            }
        }
        Ok(())
    }
    .await;
    drop(prefix_tx);
    drop(in_flight);
    let sha256 = match follower {
        Some(follower) => Some(follower.await.map_err(|e| body_error(object, e))?),
        None => None,
    };
    result?;
    let sha256 = sha256.transpose().map_err(io("reading back"))?;
    let whole = crcs
        .into_iter()
        .fold(Crc64::default(), |whole, range| whole.then(range));
    check(object, whole, sha256)?;
    file.sync_all().map_err(io("syncing"))?;
    Ok(())
}

/// Downloads bytes `start..end` of `object` into `file` at their offset, adding each write
/// to `progress`. Returns the CRC-64/NVME of the bytes, taken as they arrived.
async fn fetch_range(
    client: &dynox_core::Client,
    object: &StoredObject,
    (file, path): (&std::sync::Arc<std::fs::File>, &Path),
    start: u64,
    end: u64,
    progress: Option<Progress>,
) -> Result<Crc64, S3Error> {
    let output = get(client, object, Some((start, end))).await?;
    // The object must be the size the item recorded, whatever range was asked for.
    let total = output
        .content_range()
        .and_then(|r| r.rsplit('/').next())
        .and_then(|t| t.parse::<u64>().ok());
    if total != Some(object.size) {
        return Err(S3Error::ChecksumMismatch {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            expected: format!("size:{}", object.size),
            actual: total.map_or_else(|| "no content range".to_owned(), |t| format!("size:{t}")),
        });
    }
    let mut body = output.body;
    let mut crc64 = Crc64Hasher::default();
    let mut buffer = BytesMut::with_capacity(WRITE_BUFFER);
    let mut at = start;
    let write = |buffer: BytesMut, at: u64| {
        let file = file.clone();
        async move {
            tokio::task::spawn_blocking(move || write_at(&file, &buffer, at))
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r)
        }
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| body_error(object, e))?;
        if at + (buffer.len() + chunk.len()) as u64 > end {
            return Err(S3Error::ChecksumMismatch {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                expected: format!("range of {} bytes", end - start),
                actual: "more".into(),
            });
        }
        crc64.update(&chunk);
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= WRITE_BUFFER {
            let full = std::mem::replace(&mut buffer, BytesMut::with_capacity(WRITE_BUFFER));
            let n = full.len() as u64;
            write(full, at).await.map_err(|source| S3Error::Io {
                action: "writing",
                path: path.to_owned(),
                source,
            })?;
            progress::add(progress.as_ref(), n);
            at += n;
        }
    }
    let n = buffer.len() as u64;
    write(buffer, at).await.map_err(|source| S3Error::Io {
        action: "writing",
        path: path.to_owned(),
        source,
    })?;
    if at + n != end {
        return Err(S3Error::ChecksumMismatch {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            expected: format!("range of {} bytes", end - start),
            actual: format!("{} bytes", at + n - start),
        });
    }
    progress::add(progress.as_ref(), n);
    Ok(crc64.finish())
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

#[cfg(unix)]
fn write_at(file: &std::fs::File, data: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(windows)]
fn write_at(file: &std::fs::File, mut data: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, data, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
        offset += n as u64;
    }
    Ok(())
}
