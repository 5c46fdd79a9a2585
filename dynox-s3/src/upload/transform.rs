//! The stage between the source and the network: the content is measured as the source
//! hands it out ([`Metered`]: size and CRC-64/NVME of the original bytes, and their SHA-256
//! when the field records one: what the item records), then an [`Encoder`] turns it into the
//! bytes that are stored: [`Identity`] stores them as they are, [`Compress`] compresses them
//! (zstd or gzip) as they stream.
//!
//! ```text
//! UploadSource ──▶ Metered (content size, CRC-64) ──▶ Encoder ──▶ parts ──▶ S3 (stored size)
//! ```

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

#[cfg(feature = "gzip")]
use async_compression::tokio::write::GzipEncoder;
#[cfg(feature = "zstd")]
use async_compression::tokio::write::ZstdEncoder;
use bytes::BytesMut;
use futures::future::BoxFuture;
use tokio::io::AsyncWriteExt;

use super::multipart::read_range;
use super::source::{FileRange, Part, PartData, UploadSource};
use crate::checksum::{Crc64, Crc64Hasher, Hasher};
use crate::compression::Compression;
use crate::error::S3Error;

/// Bytes read from disk at a time while hashing a file part.
const HASH_BUFFER: usize = 1 << 20;

/// What was measured of the original content.
pub(crate) struct Content {
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its CRC-64/NVME.
    pub(crate) crc64: Crc64,
    /// Its base64 SHA-256, when the upload records one.
    pub(crate) sha256: Option<String>,
}

/// A source whose parts are measured as they pass: the content's size and CRC-64/NVME
/// (and SHA-256, for a field that records one).
///
/// Each part gets its own CRC-64, which the content's is combined from (no byte is hashed
/// twice) and which the network stage sends with the part for S3 to check: for an identity
/// encoding the parts are the stored bytes, and the combined CRC is the object's full-object
/// checksum too. File parts are read once here, then streamed from disk by the SDK with that
/// CRC, which S3 checks, so the bytes it stores are the bytes measured here even if the file
/// changes underneath.
pub(crate) struct Metered {
    inner: Box<dyn UploadSource>,
    crc64: Crc64,
    /// The running SHA-256, when the upload records one.
    sha256: Option<Hasher>,
    /// The file read last, and the position it was left at, to read on without reopening.
    file: Option<(Arc<Path>, std::fs::File, u64)>,
    buffer: Vec<u8>,
}

impl Metered {
    /// Measures `inner`, with a SHA-256 of the content when `sha256`.
    pub(crate) fn new(inner: Box<dyn UploadSource>, sha256: bool) -> Self {
        Metered {
            inner,
            crc64: Crc64::default(),
            sha256: sha256.then(Hasher::default),
            file: None,
            buffer: Vec::new(),
        }
    }

    /// The size and checksums of everything handed out so far.
    pub(crate) fn content(&self) -> Content {
        Content {
            size: self.crc64.len,
            crc64: self.crc64,
            sha256: self.sha256.clone().map(Hasher::finish),
        }
    }

    async fn measure(&mut self, mut part: Part) -> Result<Part, S3Error> {
        let own = match &part.data {
            PartData::Memory(bytes) => {
                if let Some(sha256) = &mut self.sha256 {
                    sha256.update(bytes);
                }
                Crc64::of(bytes)
            }
            PartData::File(range) => {
                // Hash off the async threads, then take the hasher, file and buffer back.
                let range = range.clone();
                let sha256 = self.sha256.take();
                let file = self.file.take();
                let buffer = std::mem::take(&mut self.buffer);
                let path = range.path.clone();
                let joined =
                    tokio::task::spawn_blocking(move || hash_range(range, sha256, file, buffer))
                        .await;
                let (hashed, sha256, buffer) = joined.map_err(|e| S3Error::Io {
                    action: "reading",
                    path: path.to_path_buf(),
                    source: std::io::Error::other(e),
                })?;
                (self.sha256, self.buffer) = (sha256, buffer);
                let (own, file) = hashed?;
                self.file = Some(file);
                own
            }
        };
        self.crc64 = self.crc64.then(own);
        part.crc64 = Some(own);
        Ok(part)
    }
}

type Hashed = Result<(Crc64, (Arc<Path>, std::fs::File, u64)), S3Error>;

/// Reads `range` (into `sha256` too, if given), returning the range's own CRC-64 and the
/// file left just after the range. A file shorter than the range is an `UnexpectedEof`
/// error.
fn hash_range(
    range: FileRange,
    mut sha256: Option<Hasher>,
    file: Option<(Arc<Path>, std::fs::File, u64)>,
    mut buffer: Vec<u8>,
) -> (Hashed, Option<Hasher>, Vec<u8>) {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| S3Error::Io {
            action,
            path,
            source,
        }
    };
    let read = || -> Hashed {
        let mut handle = match file {
            Some((path, handle, at)) if Arc::ptr_eq(&path, &range.path) && at == range.offset => {
                handle
            }
            _ => {
                let mut handle =
                    std::fs::File::open(&range.path).map_err(io("opening", &range.path))?;
                handle
                    .seek(SeekFrom::Start(range.offset))
                    .map_err(io("reading", &range.path))?;
                handle
            }
        };
        buffer.resize(
            HASH_BUFFER.min(usize::try_from(range.len).unwrap_or(HASH_BUFFER)),
            0,
        );
        let mut own = Crc64Hasher::default();
        let mut left = range.len;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = handle
                .read(&mut buffer[..want])
                .map_err(io("reading", &range.path))?;
            if n == 0 {
                return Err(io("reading", &range.path)(
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            if let Some(sha256) = &mut sha256 {
                sha256.update(&buffer[..n]);
            }
            own.update(&buffer[..n]);
            left -= n as u64;
        }
        let end = range.offset + range.len;
        Ok((own.finish(), (range.path.clone(), handle, end)))
    };
    let hashed = read();
    (hashed, sha256, buffer)
}

impl UploadSource for Metered {
    fn len(&self) -> Option<u64> {
        self.inner.len()
    }

    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>> {
        Box::pin(async move {
            match self.inner.next_part(max).await? {
                Some(part) => Ok(Some(self.measure(part).await?)),
                None => Ok(None),
            }
        })
    }

    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>> {
        self.inner.ends_within(n)
    }
}

/// Turns the content into the bytes stored, pulling from `input` (the measured source) as
/// it needs. An encoder that changes the bytes hands out memory parts (a file part it reads
/// into memory, within the part size) with no SHA-256 of their own.
pub(crate) trait Encoder: Send {
    /// The stored length for a content of `len` bytes, when known before encoding.
    fn len(&self, len: Option<u64>) -> Option<u64>;

    /// The next part of at most `max` stored bytes; `None` when done.
    fn next_part<'a>(
        &'a mut self,
        input: &'a mut Metered,
        max: u64,
    ) -> BoxFuture<'a, Result<Option<Part>, S3Error>>;

    /// Whether the stored bytes left end within `n` bytes.
    fn ends_within<'a>(
        &'a mut self,
        input: &'a mut Metered,
        n: u64,
    ) -> BoxFuture<'a, Result<bool, S3Error>>;
}

/// Stores the content as it is.
pub(crate) struct Identity;

impl Encoder for Identity {
    fn len(&self, len: Option<u64>) -> Option<u64> {
        len
    }

    fn next_part<'a>(
        &'a mut self,
        input: &'a mut Metered,
        max: u64,
    ) -> BoxFuture<'a, Result<Option<Part>, S3Error>> {
        input.next_part(max)
    }

    fn ends_within<'a>(
        &'a mut self,
        input: &'a mut Metered,
        n: u64,
    ) -> BoxFuture<'a, Result<bool, S3Error>> {
        input.ends_within(n)
    }
}

/// Content bytes read from the source at a time while compressing.
const COMPRESS_INPUT: u64 = 1 << 20;

/// A streaming compressor writing into a buffer the encoder drains.
enum Codec {
    #[cfg(feature = "zstd")]
    Zstd(ZstdEncoder<Vec<u8>>),
    #[cfg(feature = "gzip")]
    Gzip(GzipEncoder<Vec<u8>>),
    /// A codec this build leaves out (a model cannot name one: only a hand-written field
    /// spec can): every write fails, naming the feature.
    #[cfg_attr(all(feature = "zstd", feature = "gzip"), allow(dead_code))]
    Missing(Compression),
}

impl Codec {
    fn new(compression: Compression) -> Self {
        match compression {
            #[cfg(feature = "zstd")]
            Compression::Zstd => Codec::Zstd(ZstdEncoder::new(Vec::new())),
            #[cfg(feature = "gzip")]
            Compression::Gzip => Codec::Gzip(GzipEncoder::new(Vec::new())),
            #[allow(unreachable_patterns)]
            other => Codec::Missing(other),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            #[cfg(feature = "zstd")]
            Codec::Zstd(c) => c.write_all(bytes).await,
            #[cfg(feature = "gzip")]
            Codec::Gzip(c) => c.write_all(bytes).await,
            Codec::Missing(codec) => Err(missing(*codec)),
        }
    }

    async fn finish(&mut self) -> std::io::Result<()> {
        match self {
            #[cfg(feature = "zstd")]
            Codec::Zstd(c) => c.shutdown().await,
            #[cfg(feature = "gzip")]
            Codec::Gzip(c) => c.shutdown().await,
            Codec::Missing(codec) => Err(missing(*codec)),
        }
    }

    /// The compressed bytes produced so far, taken out.
    fn take(&mut self) -> Vec<u8> {
        match self {
            #[cfg(feature = "zstd")]
            Codec::Zstd(c) => std::mem::take(c.get_mut()),
            #[cfg(feature = "gzip")]
            Codec::Gzip(c) => std::mem::take(c.get_mut()),
            Codec::Missing(_) => Vec::new(),
        }
    }
}

/// The error of a codec this build leaves out.
fn missing(codec: Compression) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("{codec} compression is not in this build of dynox: enable its `{codec}` feature"),
    )
}

/// Compresses the content as it streams: it reads [`COMPRESS_INPUT`] content bytes at a
/// time and hands out memory parts of compressed bytes, so it holds at most one part plus
/// what one input read compresses to. The stored length is unknown until the end, so the
/// network stage finds out whether it fits a single PutObject by asking
/// [`ends_within`](Encoder::ends_within), which compresses just far enough to tell.
pub(crate) struct Compress {
    /// `None` once the content is all compressed and the codec finished.
    codec: Option<Codec>,
    /// Compressed bytes not handed out yet.
    out: BytesMut,
    file_name: String,
}

impl Compress {
    pub(crate) fn new(compression: Compression, file_name: &str) -> Self {
        Compress {
            codec: Some(Codec::new(compression)),
            out: BytesMut::new(),
            file_name: file_name.to_owned(),
        }
    }

    /// Compresses until at least `n` compressed bytes wait or the content is done.
    async fn fill(&mut self, input: &mut Metered, n: u64) -> Result<(), S3Error> {
        let failed = |file_name: &str| {
            let file_name = file_name.to_owned();
            move |source| S3Error::Source { file_name, source }
        };
        while (self.out.len() as u64) < n {
            let Some(codec) = &mut self.codec else {
                break;
            };
            match input.next_part(COMPRESS_INPUT).await? {
                Some(part) => {
                    let bytes = match part.data {
                        PartData::Memory(bytes) => bytes,
                        PartData::File(range) => read_range(&range).await?,
                    };
                    codec.write(&bytes).await.map_err(failed(&self.file_name))?;
                    self.out.extend_from_slice(&codec.take());
                }
                None => {
                    codec.finish().await.map_err(failed(&self.file_name))?;
                    self.out.extend_from_slice(&codec.take());
                    self.codec = None;
                }
            }
        }
        Ok(())
    }
}

impl Encoder for Compress {
    fn len(&self, _len: Option<u64>) -> Option<u64> {
        None
    }

    fn next_part<'a>(
        &'a mut self,
        input: &'a mut Metered,
        max: u64,
    ) -> BoxFuture<'a, Result<Option<Part>, S3Error>> {
        Box::pin(async move {
            self.fill(input, max).await?;
            if self.out.is_empty() && self.codec.is_none() {
                return Ok(None);
            }
            let take = usize::try_from(max)
                .unwrap_or(usize::MAX)
                .min(self.out.len());
            Ok(Some(Part::memory(self.out.split_to(take).freeze())))
        })
    }

    fn ends_within<'a>(
        &'a mut self,
        input: &'a mut Metered,
        n: u64,
    ) -> BoxFuture<'a, Result<bool, S3Error>> {
        Box::pin(async move {
            self.fill(input, n.saturating_add(1)).await?;
            Ok(self.codec.is_none() && self.out.len() as u64 <= n)
        })
    }
}

/// The bytes to store: the measured source through its encoder. What the network stage
/// reads from.
pub(crate) struct Encoded {
    input: Metered,
    encoder: Box<dyn Encoder>,
}

impl Encoded {
    /// `source` through `encoder`, measured with a SHA-256 of the content when `sha256`.
    pub(crate) fn new(
        source: Box<dyn UploadSource>,
        encoder: Box<dyn Encoder>,
        sha256: bool,
    ) -> Self {
        Encoded {
            input: Metered::new(source, sha256),
            encoder,
        }
    }

    /// The size and checksums of the content read so far (all of it, once the parts are
    /// done).
    pub(crate) fn content(&self) -> Content {
        self.input.content()
    }

    /// The number of content bytes read so far (cheaper than [`content`](Self::content)).
    pub(crate) fn content_size(&self) -> u64 {
        self.input.crc64.len
    }
}

impl UploadSource for Encoded {
    fn len(&self) -> Option<u64> {
        self.encoder.len(self.input.len())
    }

    fn next_part(&mut self, max: u64) -> BoxFuture<'_, Result<Option<Part>, S3Error>> {
        self.encoder.next_part(&mut self.input, max)
    }

    fn ends_within(&mut self, n: u64) -> BoxFuture<'_, Result<bool, S3Error>> {
        self.encoder.ends_within(&mut self.input, n)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::checksum;
    use crate::upload::source::Source;

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A measured part: its length, own CRC-64 if computed, and its bytes.
    type Measured = (u64, Option<Crc64>, Vec<u8>);

    /// Every part of `source` in sizes of `max`, measured (with a SHA-256 of the content
    /// when `sha256`), and the content measured.
    async fn parts(source: Source, max: u64, sha256: bool) -> (Vec<Measured>, Content) {
        let mut data = Encoded::new(source.open("f").await.unwrap(), Box::new(Identity), sha256);
        let mut parts = Vec::new();
        while let Some(part) = data.next_part(max).await.unwrap() {
            let len = part.len();
            let bytes = match &part.data {
                PartData::Memory(bytes) => bytes.to_vec(),
                PartData::File(range) => {
                    let whole = std::fs::read(&range.path).unwrap();
                    whole[range.offset as usize..(range.offset + range.len) as usize].to_vec()
                }
            };
            parts.push((len, part.crc64, bytes));
        }
        (parts, data.content())
    }

    #[tokio::test]
    async fn every_source_hands_out_the_same_parts_and_measures_the_content() {
        let data = content(10_000);
        let dir = std::env::temp_dir().join(format!("dynox-s3-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file.bin");
        std::fs::write(&path, &data).unwrap();
        let chunks: Vec<Result<Bytes, std::io::Error>> = data
            .chunks(777)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let sources = [
            ("bytes", Source::bytes(Bytes::from(data.clone()))),
            ("path", Source::path(path.clone())),
            (
                "reader",
                Source::reader(Box::new(std::io::Cursor::new(data.clone())), None),
            ),
            (
                "stream",
                Source::reader(
                    Box::new(tokio_util::io::StreamReader::new(futures::stream::iter(
                        chunks,
                    ))),
                    None,
                ),
            ),
        ];
        for (i, (name, source)) in sources.into_iter().enumerate() {
            // Every other source records a SHA-256 as well.
            let sha256 = i % 2 == 0;
            let (parts, measured) = parts(source, 3000, sha256).await;
            let lens: Vec<u64> = parts.iter().map(|p| p.0).collect();
            assert_eq!(lens, [3000, 3000, 3000, 1000], "{name}");
            let joined: Vec<u8> = parts.iter().flat_map(|p| p.2.clone()).collect();
            assert!(joined == data, "{name}");
            assert_eq!(measured.size, 10_000, "{name}");
            assert_eq!(measured.crc64, Crc64::of(&data), "{name}");
            let expected = sha256.then(|| checksum::sha256(&data));
            assert_eq!(measured.sha256, expected, "{name}");
            // Every part gets its own CRC-64 in the one pass that measures the content.
            for (i, (_, crc64, bytes)) in parts.iter().enumerate() {
                assert_eq!(*crc64, Some(Crc64::of(bytes)), "{name} part {i}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_reader_reads_ahead_to_see_where_it_ends_and_keeps_what_it_read() {
        let data = content(5000);
        let source = Source::reader(Box::new(std::io::Cursor::new(data.clone())), None);
        let mut opened = source.open("f").await.unwrap();
        assert_eq!(opened.len(), None);
        assert!(!opened.ends_within(4999).await.unwrap());
        assert!(opened.ends_within(5000).await.unwrap());
        let first = opened.next_part(4000).await.unwrap().unwrap();
        let rest = opened.next_part(4000).await.unwrap().unwrap();
        assert_eq!((first.len(), rest.len()), (4000, 1000));
        assert!(opened.next_part(4000).await.unwrap().is_none());
        // A reader is read by one upload only.
        assert!(matches!(
            source.open("f").await.err(),
            Some(S3Error::SourceConsumed { .. })
        ));
    }

    #[tokio::test]
    async fn a_file_shorter_than_when_opened_is_an_io_error() {
        let dir = std::env::temp_dir().join(format!("dynox-s3-short-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("file.bin");
        std::fs::write(&path, content(4000)).unwrap();
        let opened = Source::path(path.clone()).open("f").await.unwrap();
        std::fs::write(&path, content(1000)).unwrap();
        let mut data = Encoded::new(opened, Box::new(Identity), false);
        match data.next_part(3000).await {
            Err(S3Error::Io { action, source, .. }) => {
                assert_eq!(action, "reading");
                assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof);
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("a part of a file shorter than it was"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(all(feature = "zstd", feature = "gzip"))]
    async fn decode(compression: Compression, data: &[u8]) -> Vec<u8> {
        use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        match compression {
            Compression::Zstd => ZstdDecoder::new(data).read_to_end(&mut out).await,
            Compression::Gzip => GzipDecoder::new(data).read_to_end(&mut out).await,
        }
        .unwrap();
        out
    }

    #[cfg(all(feature = "zstd", feature = "gzip"))]
    #[tokio::test]
    async fn compression_hands_out_bounded_parts_that_decode_to_the_content() {
        // Poorly compressible content, so there are several parts.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..3_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        for compression in Compression::ALL {
            let source = Source::reader(Box::new(std::io::Cursor::new(data.clone())), None);
            let mut encoded = Encoded::new(
                source.open("f").await.unwrap(),
                Box::new(Compress::new(compression, "f")),
                true,
            );
            assert_eq!(encoded.len(), None);
            // Reads ahead only as far as it needs to tell.
            assert!(!encoded.ends_within(100_000).await.unwrap());
            let mut stored = Vec::new();
            while let Some(part) = encoded.next_part(1_000_000).await.unwrap() {
                assert!(part.len() <= 1_000_000 && part.len() > 0);
                let PartData::Memory(bytes) = part.data else {
                    panic!("a compressed part is in memory")
                };
                stored.extend_from_slice(&bytes);
            }
            assert!(stored.len() > 2_000_000, "{compression}: {}", stored.len());
            assert!(decode(compression, &stored).await == data, "{compression}");
            let content = encoded.content();
            assert_eq!(content.size, data.len() as u64);
            // The content's checksums, not the stored bytes'.
            assert_eq!(content.crc64, Crc64::of(&data));
            assert_eq!(content.sha256, Some(checksum::sha256(&data)));
        }
    }

    #[cfg(all(feature = "zstd", feature = "gzip"))]
    #[tokio::test]
    async fn compressed_small_content_ends_within_the_threshold() {
        let data = vec![b'a'; 5_000_000];
        let mut encoded = Encoded::new(
            Source::bytes(Bytes::from(data.clone()))
                .open("f")
                .await
                .unwrap(),
            Box::new(Compress::new(Compression::Zstd, "f")),
            false,
        );
        assert!(encoded.ends_within(10_000).await.unwrap());
        let part = encoded.next_part(10_000).await.unwrap().unwrap();
        assert!(encoded.next_part(10_000).await.unwrap().is_none());
        let PartData::Memory(bytes) = part.data else {
            panic!("in memory")
        };
        assert!(decode(Compression::Zstd, &bytes).await == data);
    }
}
