//! Upload sources: where the bytes of a pending file come from, produced part by part.
//!
//! A pending file holds a [`Source`] (what the user gave: bytes, a path, a reader or stream);
//! each upload opens it into an [`UploadSource`], which hands out [`Part`]s of at most the
//! size asked for. A part is either bytes in memory or a range of a file on disk, which the
//! network stage streams from disk as it sends it, so a large file is never held in memory.
//!
//! A new kind of source is one type implementing [`OpenSource`] (and, if none of the ones
//! here fits, [`UploadSource`]), plus its constructor on `S3Object`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::checksum::Crc64;
use crate::error::S3Error;
use crate::progress::Progress;

/// A boxed async reader.
pub(crate) type BoxReader = Box<dyn AsyncRead + Send + Unpin + 'static>;

/// The bytes of one part, as the network stage sends them.
pub(crate) enum PartData {
    /// Bytes in memory.
    Memory(Bytes),
    /// A range of a file on disk, streamed from disk when sent.
    File(FileRange),
}

/// `len` bytes of the file at `path`, from `offset`.
#[derive(Clone)]
pub(crate) struct FileRange {
    pub(crate) path: Arc<Path>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// One part of an upload.
pub(crate) struct Part {
    pub(crate) data: PartData,
    /// The CRC-64/NVME of exactly these bytes, once a stage has computed it: the measuring
    /// stage for the content's own bytes (file parts are read for it before they stream from
    /// disk), the network stage for bytes an encoder made.
    pub(crate) crc64: Option<Crc64>,
}

impl Part {
    /// A part of bytes in memory, not hashed yet.
    pub(crate) fn memory(bytes: Bytes) -> Self {
        Part {
            data: PartData::Memory(bytes),
            crc64: None,
        }
    }

    /// The number of bytes.
    pub(crate) fn len(&self) -> u64 {
        match &self.data {
            PartData::Memory(bytes) => bytes.len() as u64,
            PartData::File(range) => range.len,
        }
    }
}

/// The content of one upload, opened: it hands out the next part on request.
pub(crate) trait UploadSource: Send {
    /// The total length, when known before reading.
    fn len(&self) -> Option<u64>;

    /// The next part, of at most `max` bytes (fewer only at the end); `None` when done.
    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>>;

    /// Whether what is left ends within `n` bytes. A source of unknown length reads ahead
    /// to find out (at most `n + 1` bytes, kept for the next parts).
    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>>;
}

/// What a pending file reads from, before an upload opens it. Clones share it.
pub(crate) trait OpenSource: Send + Sync + 'static {
    /// The length, when known without opening (`S3Object::size`).
    fn size(&self) -> Option<u64>;

    /// What it is, for `Debug`.
    fn describe(&self) -> String;

    /// Whether it can be opened more than once (bytes and files can; a reader cannot).
    fn replayable(&self) -> bool {
        true
    }

    /// Opens it for one upload (`file_name` names it in errors).
    fn open<'a>(
        &'a self,
        file_name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn UploadSource>, S3Error>>;
}

/// The source of a pending file, and the [`Progress`] its uploads report to, if any.
#[derive(Clone)]
pub(crate) struct Source {
    open: Arc<dyn OpenSource>,
    progress: Option<Progress>,
}

impl Source {
    fn of(open: Arc<dyn OpenSource>) -> Self {
        Source {
            open,
            progress: None,
        }
    }

    /// Any source.
    pub(crate) fn new(source: impl OpenSource) -> Self {
        Self::of(Arc::new(source))
    }

    /// Bytes in memory.
    pub(crate) fn bytes(bytes: Bytes) -> Self {
        Self::of(Arc::new(InMemory(bytes)))
    }

    /// A file on disk.
    pub(crate) fn path(path: PathBuf) -> Self {
        Self::of(Arc::new(OnDisk(path)))
    }

    /// A reader, read by the first upload only, with its length if known.
    pub(crate) fn reader(reader: BoxReader, size: Option<u64>) -> Self {
        Self::of(Arc::new(SharedReader {
            reader: Mutex::new(Some(reader)),
            size,
        }))
    }

    /// The progress uploads of this source report to.
    pub(crate) fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Reports its uploads to `progress` (or to nothing).
    pub(crate) fn set_progress(&mut self, progress: Option<Progress>) {
        self.progress = progress;
    }
}

impl std::ops::Deref for Source {
    type Target = dyn OpenSource;

    fn deref(&self) -> &Self::Target {
        &*self.open
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.open.describe())
    }
}

/// Bytes in memory: parts are slices of them, never copies.
struct InMemory(Bytes);

impl OpenSource for InMemory {
    fn size(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    fn describe(&self) -> String {
        format!("{} bytes", self.0.len())
    }

    fn open<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Box<dyn UploadSource>, S3Error>> {
        let source: Box<dyn UploadSource> = Box::new(BytesSource(self.0.clone()));
        Box::pin(std::future::ready(Ok(source)))
    }
}

/// The rest of a byte buffer.
pub(crate) struct BytesSource(pub(crate) Bytes);

impl UploadSource for BytesSource {
    fn len(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>> {
        let n = usize::try_from(max).unwrap_or(usize::MAX).min(self.0.len());
        let part = (n > 0).then(|| Part::memory(self.0.split_to(n)));
        Box::pin(std::future::ready(Ok(part)))
    }

    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>> {
        Box::pin(std::future::ready(Ok(self.0.len() as u64 <= n)))
    }
}

/// A file on disk: its size is read when opened, and its parts are ranges streamed from disk.
struct OnDisk(PathBuf);

impl OpenSource for OnDisk {
    fn size(&self) -> Option<u64> {
        None
    }

    fn describe(&self) -> String {
        self.0.display().to_string()
    }

    fn open<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Box<dyn UploadSource>, S3Error>> {
        Box::pin(async move {
            let path = &self.0;
            let io = |action, source| S3Error::Io {
                action,
                path: path.clone(),
                source,
            };
            let handle = tokio::fs::File::open(path)
                .await
                .map_err(|e| io("opening", e))?;
            let size = handle
                .metadata()
                .await
                .map_err(|e| io("reading the size of", e))?
                .len();
            let source: Box<dyn UploadSource> = Box::new(FileSource {
                path: Arc::from(path.as_path()),
                size,
                offset: 0,
            });
            Ok(source)
        })
    }
}

/// The rest of a file of known size.
struct FileSource {
    path: Arc<Path>,
    size: u64,
    offset: u64,
}

impl UploadSource for FileSource {
    fn len(&self) -> Option<u64> {
        Some(self.size)
    }

    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>> {
        let len = max.min(self.size - self.offset);
        let part = (len > 0).then(|| Part {
            data: PartData::File(FileRange {
                path: self.path.clone(),
                offset: self.offset,
                len,
            }),
            crc64: None,
        });
        self.offset += len;
        Box::pin(std::future::ready(Ok(part)))
    }

    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>> {
        Box::pin(std::future::ready(Ok(self.size - self.offset <= n)))
    }
}

/// A reader shared by the clones of a pending file: the first upload takes it.
struct SharedReader {
    reader: Mutex<Option<BoxReader>>,
    size: Option<u64>,
}

impl OpenSource for SharedReader {
    fn size(&self) -> Option<u64> {
        self.size
    }

    fn describe(&self) -> String {
        "reader".to_owned()
    }

    fn replayable(&self) -> bool {
        false
    }

    fn open<'a>(
        &'a self,
        file_name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn UploadSource>, S3Error>> {
        let taken = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let opened = match taken {
            Some(reader) => Ok(Box::new(ReaderSource {
                reader,
                buffered: BytesMut::new(),
                size: self.size,
                file_name: file_name.to_owned(),
            }) as Box<dyn UploadSource>),
            None => Err(S3Error::SourceConsumed {
                file_name: file_name.to_owned(),
            }),
        };
        Box::pin(std::future::ready(opened))
    }
}

/// The rest of a reader (streams are read through `StreamReader`).
struct ReaderSource {
    reader: BoxReader,
    /// Bytes read ahead and not yet handed out.
    buffered: BytesMut,
    /// The length the caller declared, if any: it sizes the parts; the bytes read decide.
    size: Option<u64>,
    file_name: String,
}

impl ReaderSource {
    /// Reads until `buffered` holds `want` bytes or the reader ends.
    async fn fill(&mut self, want: usize) -> Result<(), S3Error> {
        while self.buffered.len() < want {
            // Grow as data arrives: a small source never costs a whole part.
            self.buffered
                .reserve((want - self.buffered.len()).min(1 << 20));
            let limit = (want - self.buffered.len()) as u64;
            let read = (&mut self.reader)
                .take(limit)
                .read_buf(&mut self.buffered)
                .await
                .map_err(|source| S3Error::Source {
                    file_name: self.file_name.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
        }
        Ok(())
    }
}

impl UploadSource for ReaderSource {
    fn len(&self) -> Option<u64> {
        self.size
    }

    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>> {
        Box::pin(async move {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            self.fill(max).await?;
            let n = max.min(self.buffered.len());
            Ok((n > 0).then(|| Part::memory(self.buffered.split_to(n).freeze())))
        })
    }

    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>> {
        Box::pin(async move {
            let want = usize::try_from(n.saturating_add(1)).unwrap_or(usize::MAX);
            self.fill(want).await?;
            Ok((self.buffered.len() as u64) <= n)
        })
    }
}
