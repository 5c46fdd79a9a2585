//! The downloads of a stored [`S3Object`]: to memory, to a file, as a stream or reader, a
//! byte range, or a presigned link. Each reads the object's metadata and calls into
//! [`crate::download`] (or [`crate::presign`] for links).

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use tokio::io::AsyncRead;

use super::S3Object;
use crate::{download, presign};

impl S3Object {
    /// The whole content in memory, checked against the recorded size and SHA-256. For large
    /// files prefer [`save_to`](Self::save_to) or [`stream`](Self::stream).
    pub async fn get_bytes(&self, client: &dynox_core::Client) -> dynox_core::Result<Bytes> {
        Ok(download::get_bytes(client, self.stored_or_not_uploaded()?, self.progress()).await?)
    }

    /// Streams the content into the file at `path` (through a temporary file in the same
    /// folder, renamed into place once size and SHA-256 matched; a failed download leaves no
    /// file). Returns the number of bytes written.
    ///
    /// A large object is fetched in parallel byte ranges; a compressed one is streamed whole
    /// in one GET and decompressed as it arrives (ranges of it cannot be decoded apart).
    pub async fn save_to(
        &self,
        client: &dynox_core::Client,
        path: impl AsRef<Path>,
    ) -> dynox_core::Result<u64> {
        Ok(download::save_to(
            client,
            self.stored_or_not_uploaded()?,
            path.as_ref(),
            self.progress(),
        )
        .await?)
    }

    /// The content as a stream of chunks, fetched as it is polled. If the content does not
    /// match the recorded size and SHA-256, the last item is
    /// [`S3Error::ChecksumMismatch`](crate::S3Error::ChecksumMismatch): consume the stream to the end before trusting it.
    pub fn stream(
        &self,
        client: &dynox_core::Client,
    ) -> dynox_core::Result<BoxStream<'static, dynox_core::Result<Bytes>>> {
        Ok(download::stream(
            client.clone(),
            self.stored_or_not_uploaded()?.clone(),
            self.progress().cloned(),
        )
        .map_err(dynox_core::Error::from)
        .boxed())
    }

    /// The content as an [`AsyncRead`], with the same checks as [`stream`](Self::stream) (a
    /// mismatch is an `InvalidData` I/O error carrying the [`S3Error`](crate::S3Error)).
    pub fn reader(
        &self,
        client: &dynox_core::Client,
    ) -> dynox_core::Result<impl AsyncRead + Send + Unpin + 'static> {
        let stream = self
            .stream(client)?
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        Ok(tokio_util::io::StreamReader::new(stream))
    }

    /// Bytes `range` of the content (clamped to its size). A partial read cannot be checked
    /// against the whole file's SHA-256; its length is checked.
    ///
    /// A compressed object (`#[s3(compress = "...")]`) has no byte ranges of its content:
    /// this returns [`S3Error::RangeOfCompressed`](crate::S3Error::RangeOfCompressed); use [`stream`](Self::stream) instead.
    pub async fn range(
        &self,
        client: &dynox_core::Client,
        range: Range<u64>,
    ) -> dynox_core::Result<Bytes> {
        Ok(download::range(
            client,
            self.stored_or_not_uploaded()?,
            range.start,
            range.end,
        )
        .await?)
    }

    /// A URL that downloads the object without credentials until it expires (1 second to
    /// 7 days). No request is made: the URL is signed locally.
    ///
    /// For a compressed object the response carries the stored (compressed) bytes with
    /// `Content-Encoding: gzip` or `zstd`; see [`Compression`](crate::Compression) for what a
    /// browser gets.
    pub async fn presigned_url(
        &self,
        client: &dynox_core::Client,
        expires: Duration,
    ) -> dynox_core::Result<String> {
        Ok(presign::presigned_get(client, self.stored_or_not_uploaded()?, expires).await?)
    }
}
