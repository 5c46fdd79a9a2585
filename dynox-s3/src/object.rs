//! [`S3Object`], the value of a file field: a file waiting to be uploaded, or a stored object.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use bytes::Bytes;
use dynox_core::item::{Attribute, AttributeError, AttributeValue};
use futures::Stream;
use tokio::io::AsyncRead;

use crate::progress::Progress;
pub(crate) use crate::upload::source::Source;

/// A file field's value.
///
/// It is in one of two states:
/// - **pending**: a file to upload, made with [`from_bytes`](Self::from_bytes),
///   [`from_path`](Self::from_path), [`from_reader`](Self::from_reader) or
///   [`from_stream`](Self::from_stream). Saving the item uploads it and turns it into:
/// - **stored**: the metadata of an object in S3 ([`StoredObject`]), as read from the item.
///   Reading an item makes no S3 request; the bytes are fetched only when asked for.
///
/// ```
/// use dynox_s3::S3Object;
///
/// let file = S3Object::from_bytes(b"%PDF-1.7 ...".to_vec(), "report.pdf")
///     .with_metadata("author", "Ada");
/// assert!(file.is_pending());
/// assert_eq!(file.content_type(), Some("application/pdf")); // guessed from the name
/// ```
///
/// # Metadata
///
/// Every piece of a stored file's metadata has its own accessor, read from the item (no S3
/// request): [`bucket`](Self::bucket), [`key`](Self::key), [`region`](Self::region),
/// [`size`](Self::size), [`etag`](Self::etag), [`content_type`](Self::content_type),
/// [`last_modified`](Self::last_modified), [`version_id`](Self::version_id),
/// [`file_name`](Self::file_name), [`metadata`](Self::metadata) and
/// [`sha256`](Self::sha256). What only the upload settles (bucket, key, ETag, last modified,
/// version id, SHA-256) is `None` while the file is pending; the file name, content type
/// and user metadata are known from the start. [`stored`](Self::stored) gives the whole
/// [`StoredObject`] at once.
///
/// ```
/// use std::time::Duration;
///
/// use dynox_core::{Client, DynamoModel};
/// use dynox_s3::S3Object;
///
/// #[derive(Debug, DynamoModel)]
/// #[dynamo(table = "reports")]
/// struct Report {
///     #[dynamo(hash_key)]
///     pk: String,
///     #[s3(bucket = "company-docs", prefix = "reports/")]
///     file: S3Object,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let servers = dynox_local::LocalServers::start().await?;
/// # let config = servers.sdk_config().clone();
/// # let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
/// # s3.create_bucket().bucket("company-docs").send().await?;
/// # let client = Client::new(&config);
/// # client.create_table::<Report>().await?;
/// let file = S3Object::from_bytes(b"region,total\nwest,42\n".to_vec(), "q3.csv")
///     .with_metadata_map([("author", "Ada"), ("quarter", "Q3")]);
/// assert_eq!((file.bucket(), file.etag(), file.last_modified()), (None, None, None));
///
/// let mut report = Report { pk: "Q3".into(), file };
/// client.save(&mut report).await?;
///
/// let report = Report::get(&client, "Q3").await?.unwrap(); // no S3 request
/// let file = &report.file;
/// assert_eq!(file.bucket(), Some("company-docs"));
/// assert!(file.key().unwrap().starts_with("reports/Q3/"));
/// assert_eq!(file.size(), Some(21));
/// assert_eq!(file.content_type(), Some("text/csv"));
/// assert_eq!(file.file_name(), "q3.csv");
/// assert!(file.etag().unwrap().starts_with('"')); // quoted, as S3 sends it
/// // S3's clock when it stored the object.
/// assert!(file.last_modified().unwrap().elapsed().unwrap_or_default() < Duration::from_secs(60));
/// assert_eq!(file.version_id(), None); // the bucket is not versioned
/// assert_eq!(file.metadata()["quarter"], "Q3");
/// assert!(file.sha256().is_some());
/// # Ok(()) }
/// ```
pub struct S3Object {
    pub(crate) state: State,
    /// A stored object not yet referenced by any item (attached after a presigned upload): the
    /// next save treats it like an upload, removing it if the write fails. Not cloned: only
    /// the value `attach` returned may claim the object.
    pub(crate) fresh: bool,
    /// The file this object was uploaded from by a save that has not settled yet: restored
    /// if that save's write fails (and its upload is removed).
    pub(crate) uploaded_from: Option<PendingUpload>,
    /// Where this file's transfers report ([`with_progress`](Self::with_progress)); a pending
    /// file's source holds it too, for the upload.
    pub(crate) progress: Option<Progress>,
}

impl Clone for S3Object {
    fn clone(&self) -> Self {
        S3Object {
            state: self.state.clone(),
            fresh: false,
            uploaded_from: self.uploaded_from.clone(),
            progress: self.progress.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) enum State {
    Pending(PendingUpload),
    Stored(StoredObject),
}

/// A file waiting to be uploaded.
#[derive(Clone)]
pub(crate) struct PendingUpload {
    pub(crate) source: Source,
    pub(crate) file_name: String,
    pub(crate) content_type: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// The metadata of a stored object: what the item keeps in DynamoDB instead of the bytes.
///
/// [`S3Object`] has an accessor for each piece ([`S3Object::etag`],
/// [`S3Object::last_modified`], ...); this struct is the whole record at once, from
/// [`S3Object::stored`]. In the item it is a map with one attribute per field (`bucket`,
/// `key`, `size`, `etag`, `content_type`, `last_modified` as an RFC 3339 string, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredObject {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The region of the bucket, when the field sets one.
    pub region: Option<String>,
    /// The name of the S3 client the field uses (`#[s3(client = "...")]`), when it names
    /// one: downloads, links and deletes of the object go through it.
    pub client: Option<String>,
    /// The size in bytes of the content (the original, before any compression).
    pub size: u64,
    /// The object's ETag as S3 defines it: the quoted string of its `ETag` header, such as
    /// `"9b2cf535f27731c974343645a3985328"` *with* the double quotes (a multipart upload's
    /// ends in `-` and its number of parts before the closing quote). Quoted, it is what
    /// HTTP `If-Match` takes as it is; an ETag a server sent bare is recorded quoted. Empty
    /// only when the server sent none (see [`S3Object::etag`]).
    pub etag: String,
    /// The MIME type.
    pub content_type: String,
    /// When the object was stored, by S3's clock: the `Date` of S3's answer to the upload
    /// (PutObject, or CompleteMultipartUpload for a multipart one), or the Last-Modified a
    /// HEAD reported for an [`attach`](crate::attach)ed object; to the second. For an upload
    /// it is within the request's duration of the Last-Modified S3 itself reports (S3 may
    /// date an object when its request began). Only a server that sends no date leaves the
    /// client's clock here. `None` when the item records no time or one that is not
    /// RFC 3339 (items of other writers).
    pub last_modified: Option<SystemTime>,
    /// The object version, when the bucket has versioning; downloads read this version.
    pub version_id: Option<String>,
    /// The file name given at upload.
    pub file_name: String,
    /// User metadata (S3 `x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
    /// Base64 SHA-256 of the content, computed while uploading and checked on every full
    /// download; `None` only for objects attached after a direct (presigned) upload.
    pub sha256: Option<String>,
    /// The codec the object is compressed with (`#[s3(compress = "...")]`); `None` for an
    /// object stored as it is, including every object stored before compression existed.
    pub encoding: Option<crate::Compression>,
    /// The size in bytes of the stored (compressed) object, when it is compressed; otherwise
    /// it is [`size`](Self::size).
    pub stored_size: Option<u64>,
}

impl S3Object {
    pub(crate) fn pending(source: Source, file_name: String) -> Self {
        let content_type = mime_guess::from_path(&file_name)
            .first_raw()
            .map(str::to_owned);
        S3Object {
            state: State::Pending(PendingUpload {
                source,
                file_name,
                content_type,
                metadata: BTreeMap::new(),
            }),
            fresh: false,
            uploaded_from: None,
            progress: None,
        }
    }

    /// A file from bytes in memory, with its file name.
    pub fn from_bytes(data: impl Into<Bytes>, file_name: impl Into<String>) -> Self {
        Self::pending(Source::bytes(data.into()), file_name.into())
    }

    /// A file on disk, streamed when uploaded (never read whole into memory); the file name is
    /// taken from the path.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        Self::pending(Source::path(path), file_name)
    }

    /// A file read from any async reader, streamed when uploaded. `size` is its length if
    /// known (it picks single or multipart upload up front; without it, the first
    /// `multipart_threshold` bytes decide).
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        file_name: impl Into<String>,
        size: Option<u64>,
    ) -> Self {
        Self::pending(Source::reader(Box::new(reader), size), file_name.into())
    }

    /// A file from a stream of byte chunks, streamed when uploaded.
    pub fn from_stream<S>(stream: S, file_name: impl Into<String>) -> Self
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static,
    {
        Self::from_reader(tokio_util::io::StreamReader::new(stream), file_name, None)
    }

    /// Sets the MIME type (by default guessed from the file name's extension, else
    /// `application/octet-stream`).
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        if let State::Pending(p) = &mut self.state {
            p.content_type = Some(content_type.into());
        }
        self
    }

    /// Adds one pair of user metadata, stored as S3 `x-amz-meta-*` headers and in the item
    /// ([`metadata`](Self::metadata) reads it back). A key given again replaces its value.
    /// A stored file's metadata is what it was uploaded with: this changes only a pending
    /// file.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// let file = S3Object::from_bytes(b"...".to_vec(), "scan.png")
    ///     .with_metadata("author", "Ada")
    ///     .with_metadata("department", "finance");
    /// assert_eq!(file.metadata()["department"], "finance");
    /// ```
    pub fn with_metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_metadata_map([(key, value)])
    }

    /// Adds every pair of `metadata` as user metadata, as [`with_metadata`](Self::with_metadata)
    /// does one: from a `HashMap` or `BTreeMap`, an array or `Vec` of pairs, or any iterator of
    /// them. Later pairs replace earlier ones with the same key.
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// use dynox_s3::S3Object;
    ///
    /// let tags = HashMap::from([("author", "Ada"), ("department", "finance")]);
    /// let file = S3Object::from_bytes(b"...".to_vec(), "scan.png")
    ///     .with_metadata_map(tags)
    ///     .with_metadata_map([("reviewed", String::from("yes"))]);
    /// assert_eq!(file.metadata().len(), 3);
    /// ```
    pub fn with_metadata_map<K, V>(mut self, metadata: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        if let State::Pending(p) = &mut self.state {
            p.metadata
                .extend(metadata.into_iter().map(|(k, v)| (k.into(), v.into())));
        }
        self
    }

    /// A stored object from its metadata (for objects uploaded another way; see also
    /// [`attach`](crate::attach)).
    pub fn from_stored(stored: StoredObject) -> Self {
        S3Object {
            state: State::Stored(stored),
            fresh: false,
            uploaded_from: None,
            progress: None,
        }
    }

    /// Reports this file's transfers to `progress` (a handle: keep a clone to read it, see
    /// [`Progress`]). While the file is pending, the save that uploads it reports the upload;
    /// once stored (after that save too), [`get_bytes`](Self::get_bytes),
    /// [`save_to`](Self::save_to), [`stream`](Self::stream) and [`reader`](Self::reader)
    /// report their downloads ([`range`](Self::range) does not). Each transfer starts it from
    /// zero.
    ///
    /// ```no_run
    /// use dynox_s3::{Progress, S3Object};
    ///
    /// # async fn run(client: &dynox_core::Client, loaded: &S3Object) -> Result<(), dynox_s3::S3Error> {
    /// // An upload: pass the file to a save.
    /// let progress = Progress::new();
    /// let pending = S3Object::from_path("scan.tiff").with_progress(&progress);
    /// assert_eq!(progress.total(), None); // known once the upload opens the file
    ///
    /// // A download of a file read from an item.
    /// let watched = Progress::with_callback(1 << 20, |t| eprintln!("{} of {:?} bytes", t.done, t.total));
    /// let bytes = loaded.clone().with_progress(&watched).get_bytes(client).await?;
    /// assert_eq!(watched.done(), bytes.len() as u64);
    /// # Ok(()) }
    /// ```
    pub fn with_progress(mut self, progress: &Progress) -> Self {
        self.set_progress(Some(progress.clone()));
        self
    }

    /// Sets or removes (`None`) the [`Progress`] this file's transfers report to, in place
    /// (as [`with_progress`](Self::with_progress) does): for a file inside an item.
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        if let State::Pending(pending) = &mut self.state {
            pending.source.set_progress(progress.clone());
        }
        self.progress = progress;
    }

    /// The [`Progress`] this file's transfers report to, if any.
    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Whether this is a file waiting to be uploaded.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, State::Pending(_))
    }

    /// The stored object's whole metadata record, or `None` while pending. Each piece also
    /// has its own accessor ([`bucket`](Self::bucket), [`etag`](Self::etag), ...).
    pub fn stored(&self) -> Option<&StoredObject> {
        match &self.state {
            State::Stored(s) => Some(s),
            State::Pending(_) => None,
        }
    }

    /// The stored object's metadata, or [`S3Error::NotUploaded`](crate::S3Error::NotUploaded).
    pub fn require_stored(&self) -> Result<&StoredObject, crate::S3Error> {
        match &self.state {
            State::Stored(s) => Ok(s),
            State::Pending(p) => Err(crate::S3Error::NotUploaded {
                file_name: p.file_name.clone(),
            }),
        }
    }

    /// The file name: given at creation (or taken from the path), and kept in the item.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// assert_eq!(S3Object::from_path("/tmp/scans/page 1.png").file_name(), "page 1.png");
    /// ```
    pub fn file_name(&self) -> &str {
        match &self.state {
            State::Stored(s) => &s.file_name,
            State::Pending(p) => &p.file_name,
        }
    }

    /// The MIME type: always known once stored; while pending, the one set with
    /// [`with_content_type`](Self::with_content_type) or guessed from the file name's
    /// extension, and `None` when there is neither (the upload then stores
    /// `application/octet-stream`).
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// assert_eq!(S3Object::from_bytes(vec![], "a.csv").content_type(), Some("text/csv"));
    /// assert_eq!(S3Object::from_bytes(vec![], "no-extension").content_type(), None);
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        match &self.state {
            State::Stored(s) => Some(&s.content_type),
            State::Pending(p) => p.content_type.as_deref(),
        }
    }

    /// The size in bytes of the content (the original, before any compression): always
    /// known once stored; while pending, known for bytes, files on disk and readers given a
    /// size, `None` for streams and unsized readers.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// assert_eq!(S3Object::from_bytes(vec![0; 10], "a.bin").size(), Some(10));
    /// ```
    pub fn size(&self) -> Option<u64> {
        match &self.state {
            State::Stored(s) => Some(s.size),
            State::Pending(p) => p.source.size(),
        }
    }

    /// The bucket the object is in, or `None` while pending (the field's bucket, or the one
    /// [`S3Settings::bucket`](crate::S3Settings::bucket) maps it to, is chosen at save).
    /// See the [example above](Self#metadata).
    pub fn bucket(&self) -> Option<&str> {
        self.stored().map(|s| s.bucket.as_str())
    }

    /// The object key, or `None` while pending (each save uploads under a fresh key). See
    /// the [example above](Self#metadata).
    pub fn key(&self) -> Option<&str> {
        self.stored().map(|s| s.key.as_str())
    }

    /// The region of the bucket when the field sets one (`#[s3(region = "...")]`), else (and
    /// while pending) `None`: the client's region.
    pub fn region(&self) -> Option<&str> {
        self.stored().and_then(|s| s.region.as_deref())
    }

    /// The object's ETag as S3 defines it, **with its double quotes**: the string
    /// `"9b2cf535f27731c974343645a3985328"`, quote characters included (for a multipart
    /// upload, an MD5 of the parts' MD5s followed by `-` and the number of parts, inside the
    /// quotes). Quoted, it goes as it is into an HTTP `If-Match` or `If-None-Match` header;
    /// [`etag_unquoted`](Self::etag_unquoted) strips the quotes. `None` while pending, or if
    /// the server sent no ETag.
    ///
    /// ```
    /// # use dynox_core::{Client, DynamoModel};
    /// # use dynox_s3::S3Object;
    /// # #[derive(Debug, DynamoModel)]
    /// # #[dynamo(table = "reports")]
    /// # struct Report {
    /// #     #[dynamo(hash_key)]
    /// #     pk: String,
    /// #     #[s3(bucket = "company-docs")]
    /// #     file: S3Object,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let servers = dynox_local::LocalServers::start().await?;
    /// # let config = servers.sdk_config().clone();
    /// # let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    /// # s3.create_bucket().bucket("company-docs").send().await?;
    /// # let client = Client::new(&config);
    /// # client.create_table::<Report>().await?;
    /// let mut report = Report { pk: "Q3".into(), file: S3Object::from_bytes(b"hello".to_vec(), "a.txt") };
    /// client.save(&mut report).await?;
    /// let file = &report.file;
    /// // The MD5 of `hello`, quoted.
    /// assert_eq!(file.etag(), Some("\"5d41402abc4b2a76b9719d911017c592\""));
    /// assert_eq!(file.etag_unquoted(), Some("5d41402abc4b2a76b9719d911017c592"));
    ///
    /// // Quoted, as HTTP wants it: a conditional GET of this very version of the object.
    /// s3.get_object()
    ///     .bucket(file.bucket().unwrap())
    ///     .key(file.key().unwrap())
    ///     .if_match(file.etag().unwrap())
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn etag(&self) -> Option<&str> {
        self.stored()
            .map(|s| s.etag.as_str())
            .filter(|e| !e.is_empty())
    }

    /// The [`etag`](Self::etag) without its surrounding double quotes, as tools that show an
    /// MD5 in hex print it; `None` when `etag` is.
    pub fn etag_unquoted(&self) -> Option<&str> {
        let etag = self.etag()?;
        Some(
            etag.strip_prefix('"')
                .and_then(|e| e.strip_suffix('"'))
                .unwrap_or(etag),
        )
    }

    /// When the object was stored, by S3's clock (never the client's, unless the server sent
    /// no date): the `Date` of S3's answer to the request that stored it, or the
    /// Last-Modified a HEAD reported for an [`attach`](crate::attach)ed object. To the
    /// second, as S3 dates objects ([`StoredObject::last_modified`] has the details). `None`
    /// while pending, and for an item that records no time (or one not in RFC 3339). In the
    /// item it is an RFC 3339 string. See the [example above](Self#metadata).
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.stored().and_then(|s| s.last_modified)
    }

    /// The object version downloads read, when the bucket has versioning; `None` on a bucket
    /// without versioning, and while pending.
    pub fn version_id(&self) -> Option<&str> {
        self.stored().and_then(|s| s.version_id.as_deref())
    }

    /// The user metadata (S3 `x-amz-meta-*`): what [`with_metadata`](Self::with_metadata)
    /// and [`with_metadata_map`](Self::with_metadata_map) set on a pending file, and what the
    /// item records once stored. Empty when there is none; dynox's own markers
    /// ([`MARKER_METADATA`](crate::MARKER_METADATA), [`OWNER_METADATA`](crate::OWNER_METADATA))
    /// are S3 metadata of the object but never in this map.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// let file = S3Object::from_bytes(b"...".to_vec(), "a.txt").with_metadata("author", "Ada");
    /// assert_eq!(file.metadata().get("author").map(String::as_str), Some("Ada"));
    /// ```
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        match &self.state {
            State::Stored(s) => &s.metadata,
            State::Pending(p) => &p.metadata,
        }
    }

    /// The base64 SHA-256 of the content (before any compression), computed while
    /// uploading; every full download checks it. `None` while pending, and for an
    /// [`attach`](crate::attach)ed object whose uploader sent no `x-amz-checksum-sha256`.
    pub fn sha256(&self) -> Option<&str> {
        self.stored().and_then(|s| s.sha256.as_deref())
    }
}

/// A version id S3 answered, or `None` for `null`: the id S3 gives an object of a bucket
/// without versioning (moto sends it as `x-amz-version-id: null`; AWS sends no header). It
/// names no version of its own, so the object is read and deleted by its key alone.
pub(crate) fn version_id(id: Option<String>) -> Option<String> {
    id.filter(|id| !id.is_empty() && id != "null")
}

/// `etag` in the quoted form S3 defines (RFC 9110 entity-tag), for servers that send it bare.
pub(crate) fn quoted(etag: String) -> String {
    if etag.is_empty() || etag.starts_with('"') || etag.starts_with("W/\"") {
        etag
    } else {
        format!("\"{etag}\"")
    }
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Stored(s) => f.debug_tuple("S3Object::Stored").field(s).finish(),
            State::Pending(p) => f
                .debug_struct("S3Object::Pending")
                .field("file_name", &p.file_name)
                .field("source", &p.source)
                .finish(),
        }
    }
}

/// Two values are equal when both are stored and record the same object and metadata.
/// A pending file equals nothing, not even itself: it has no identity until uploaded.
impl PartialEq for S3Object {
    fn eq(&self, other: &Self) -> bool {
        match (&self.state, &other.state) {
            (State::Stored(a), State::Stored(b)) => a == b,
            _ => false,
        }
    }
}

// The item attribute: a map of the stored object's metadata.

const BUCKET: &str = "bucket";
const KEY: &str = "key";
const REGION: &str = "region";
const CLIENT: &str = "client";
const SIZE: &str = "size";
const ETAG: &str = "etag";
const CONTENT_TYPE: &str = "content_type";
const LAST_MODIFIED: &str = "last_modified";
const VERSION_ID: &str = "version_id";
const FILE_NAME: &str = "file_name";
const METADATA: &str = "metadata";
const SHA256: &str = "sha256";
const ENCODING: &str = "encoding";
const STORED_SIZE: &str = "stored_size";

impl StoredObject {
    pub(crate) fn to_attribute_value(&self) -> AttributeValue {
        let mut map = HashMap::with_capacity(13);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        map.insert(BUCKET.to_owned(), s(&self.bucket));
        map.insert(KEY.to_owned(), s(&self.key));
        map.insert(SIZE.to_owned(), AttributeValue::N(self.size.to_string()));
        map.insert(ETAG.to_owned(), s(&self.etag));
        map.insert(CONTENT_TYPE.to_owned(), s(&self.content_type));
        if let Some(time) = self.last_modified.and_then(rfc3339) {
            map.insert(LAST_MODIFIED.to_owned(), s(&time));
        }
        map.insert(FILE_NAME.to_owned(), s(&self.file_name));
        if let Some(region) = &self.region {
            map.insert(REGION.to_owned(), s(region));
        }
        if let Some(client) = &self.client {
            map.insert(CLIENT.to_owned(), s(client));
        }
        if let Some(version) = &self.version_id {
            map.insert(VERSION_ID.to_owned(), s(version));
        }
        if let Some(sha) = &self.sha256 {
            map.insert(SHA256.to_owned(), s(sha));
        }
        // Absent for an uncompressed object, so its map is what it was before compression.
        if let Some(encoding) = self.encoding {
            map.insert(ENCODING.to_owned(), s(encoding.name()));
        }
        if let Some(stored) = self.stored_size {
            map.insert(
                STORED_SIZE.to_owned(),
                AttributeValue::N(stored.to_string()),
            );
        }
        if !self.metadata.is_empty() {
            map.insert(
                METADATA.to_owned(),
                AttributeValue::M(
                    self.metadata
                        .iter()
                        .map(|(k, v)| (k.clone(), s(v)))
                        .collect(),
                ),
            );
        }
        AttributeValue::M(map)
    }

    pub(crate) fn from_attribute_value(value: &AttributeValue) -> Result<Self, AttributeError> {
        let AttributeValue::M(map) = value else {
            return Err(AttributeError::WrongType {
                expected: "M",
                found: dynox_core::item::type_name(value),
            });
        };
        let text = |name: &'static str| -> Result<Option<String>, AttributeError> {
            match map.get(name) {
                None | Some(AttributeValue::Null(_)) => Ok(None),
                Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
                Some(other) => Err(AttributeError::InvalidFileReference {
                    reason: format!(
                        "`{name}` should be a string, found {}",
                        dynox_core::item::type_name(other)
                    ),
                }),
            }
        };
        let required = |name: &'static str| -> Result<String, AttributeError> {
            text(name)?.ok_or_else(|| AttributeError::InvalidFileReference {
                reason: format!("`{name}` is missing"),
            })
        };
        let size = u64::from_attribute(map.get(SIZE).cloned()).map_err(|e| {
            AttributeError::InvalidFileReference {
                reason: format!("`size`: {e}"),
            }
        })?;
        let encoding = match text(ENCODING)? {
            None => None,
            Some(name) => Some(crate::Compression::from_name(&name).ok_or_else(|| {
                AttributeError::InvalidFileReference {
                    reason: format!("unknown `encoding` `{name}`"),
                }
            })?),
        };
        let stored_size = match map.get(STORED_SIZE) {
            None | Some(AttributeValue::Null(_)) => None,
            Some(value) => Some(u64::from_attribute(Some(value.clone())).map_err(|e| {
                AttributeError::InvalidFileReference {
                    reason: format!("`stored_size`: {e}"),
                }
            })?),
        };
        let metadata = match map.get(METADATA) {
            Some(AttributeValue::M(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    AttributeValue::S(s) => Ok((k.clone(), s.clone())),
                    _ => Err(AttributeError::InvalidFileReference {
                        reason: format!("metadata `{k}` is not a string"),
                    }),
                })
                .collect::<Result<_, _>>()?,
            _ => BTreeMap::new(),
        };
        Ok(StoredObject {
            bucket: required(BUCKET)?,
            key: required(KEY)?,
            region: text(REGION)?,
            client: text(CLIENT)?,
            size,
            etag: text(ETAG)?.unwrap_or_default(),
            content_type: text(CONTENT_TYPE)?
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            last_modified: text(LAST_MODIFIED)?.as_deref().and_then(parse_rfc3339),
            version_id: version_id(text(VERSION_ID)?),
            file_name: text(FILE_NAME)?.unwrap_or_default(),
            metadata,
            sha256: text(SHA256)?,
            encoding,
            stored_size,
        })
    }

    /// `s3://bucket/key` (with `?versionId=` when versioned).
    pub fn uri(&self) -> String {
        match &self.version_id {
            Some(v) => format!("s3://{}/{}?versionId={v}", self.bucket, self.key),
            None => format!("s3://{}/{}", self.bucket, self.key),
        }
    }
}

/// `time` in RFC 3339 (UTC, to the microsecond); `None` outside the years 1 to 9999.
fn rfc3339(time: SystemTime) -> Option<String> {
    DateTime::from(time).fmt(DateTimeFormat::DateTime).ok()
}

/// An RFC 3339 time, in UTC (`Z`, as dynox writes it) or with an offset; `None` for an
/// empty string (an object attached without a Last-Modified) or any other text.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let time = DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset).ok();
    if time.is_none() && !text.is_empty() {
        tracing::debug!(
            last_modified = text,
            "a file reference's `last_modified` is not an RFC 3339 time; read as unknown"
        );
    }
    SystemTime::try_from(time?).ok()
}

/// A file field is stored as a map of its object's metadata (bucket, key, size, etag, content
/// type, last modified, version id, file name, user metadata, SHA-256, and for a compressed
/// object its encoding and stored size). A pending file cannot be converted: the save path
/// uploads it first.
impl Attribute for S3Object {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        match &self.state {
            State::Stored(s) => Ok(Some(s.to_attribute_value())),
            State::Pending(p) => Err(AttributeError::InvalidFileReference {
                reason: format!("file `{}` has not been uploaded", p.file_name),
            }),
        }
    }

    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        match value {
            Some(v) => StoredObject::from_attribute_value(&v).map(S3Object::from_stored),
            None => Err(AttributeError::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compression;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-01-01T00:00:00Z.
    fn jan_1_2026() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn object(encoding: Option<Compression>, stored_size: Option<u64>) -> StoredObject {
        StoredObject {
            bucket: "b".into(),
            key: "k".into(),
            region: None,
            client: None,
            size: 1000,
            etag: "\"e\"".into(),
            content_type: "text/csv".into(),
            last_modified: Some(jan_1_2026()),
            version_id: None,
            file_name: "f.csv".into(),
            metadata: BTreeMap::new(),
            sha256: Some("abc=".into()),
            encoding,
            stored_size,
        }
    }

    #[test]
    fn an_uncompressed_object_keeps_the_map_it_had_before_compression() {
        let plain = object(None, None);
        let AttributeValue::M(map) = plain.to_attribute_value() else {
            panic!("not a map")
        };
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bucket",
                "content_type",
                "etag",
                "file_name",
                "key",
                "last_modified",
                "sha256",
                "size"
            ]
        );
        let read = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap();
        assert_eq!(read, plain);
    }

    #[test]
    fn a_compressed_object_records_its_encoding_and_stored_size() {
        for encoding in Compression::ALL {
            let compressed = object(Some(encoding), Some(120));
            let value = compressed.to_attribute_value();
            let AttributeValue::M(map) = &value else {
                panic!("not a map")
            };
            assert_eq!(map[ENCODING], AttributeValue::S(encoding.name().into()));
            assert_eq!(map[STORED_SIZE], AttributeValue::N("120".into()));
            assert_eq!(
                StoredObject::from_attribute_value(&value).unwrap(),
                compressed
            );
        }
    }

    #[test]
    fn an_unknown_encoding_is_an_invalid_reference() {
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        map.insert(ENCODING.into(), AttributeValue::S("brotli".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map.clone())).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("brotli")),
            "{err:?}"
        );
        map.insert(ENCODING.into(), AttributeValue::S("zstd".into()));
        map.insert(STORED_SIZE.into(), AttributeValue::S("many".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("stored_size")),
            "{err:?}"
        );
    }

    #[test]
    fn last_modified_is_an_rfc_3339_string_in_the_item() {
        let AttributeValue::M(map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        assert_eq!(
            map[LAST_MODIFIED],
            AttributeValue::S("2026-01-01T00:00:00Z".into())
        );
        // A time with a fraction of a second keeps its microseconds.
        let mut precise = object(None, None);
        precise.last_modified = Some(jan_1_2026() + Duration::from_micros(250_001));
        let value = precise.to_attribute_value();
        let AttributeValue::M(map) = &value else {
            panic!("not a map")
        };
        assert_eq!(
            map[LAST_MODIFIED],
            AttributeValue::S("2026-01-01T00:00:00.250001Z".into())
        );
        assert_eq!(StoredObject::from_attribute_value(&value).unwrap(), precise);
        // Unknown: no attribute, and read back as unknown.
        let mut unknown = object(None, None);
        unknown.last_modified = None;
        let value = unknown.to_attribute_value();
        let AttributeValue::M(map) = &value else {
            panic!("not a map")
        };
        assert!(!map.contains_key(LAST_MODIFIED));
        assert_eq!(StoredObject::from_attribute_value(&value).unwrap(), unknown);
    }

    /// Items written before `last_modified` was S3's time recorded the client's clock as
    /// RFC 3339 with microseconds, or an empty string for an object attached without one.
    #[test]
    fn old_items_with_a_client_clock_string_still_load() {
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        let read = |map: &HashMap<String, AttributeValue>| {
            StoredObject::from_attribute_value(&AttributeValue::M(map.clone()))
                .unwrap()
                .last_modified
        };
        map.insert(
            LAST_MODIFIED.into(),
            AttributeValue::S("2025-06-30T12:34:56.789012Z".into()),
        );
        assert_eq!(
            read(&map),
            Some(UNIX_EPOCH + Duration::from_micros(1_751_286_896_789_012))
        );
        // Another writer's offset form (Python's `isoformat()`).
        map.insert(
            LAST_MODIFIED.into(),
            AttributeValue::S("2026-01-01T01:00:00+01:00".into()),
        );
        assert_eq!(read(&map), Some(jan_1_2026()));
        for unknown in ["", "yesterday"] {
            map.insert(LAST_MODIFIED.into(), AttributeValue::S(unknown.into()));
            assert_eq!(read(&map), None, "{unknown:?}");
        }
        map.remove(LAST_MODIFIED);
        assert_eq!(read(&map), None);
        // A value of another type is a broken reference, as for every other attribute.
        map.insert(LAST_MODIFIED.into(), AttributeValue::N("1".into()));
        let err = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap_err();
        assert!(
            matches!(&err, AttributeError::InvalidFileReference { reason } if reason.contains("last_modified")),
            "{err:?}"
        );
    }

    #[test]
    fn a_stored_file_answers_every_accessor() {
        let mut stored = object(None, None);
        stored.region = Some("eu-west-1".into());
        stored.version_id = Some("v7".into());
        stored.metadata = BTreeMap::from([("author".to_owned(), "Ada".to_owned())]);
        let file = S3Object::from_stored(stored);
        assert_eq!(file.bucket(), Some("b"));
        assert_eq!(file.key(), Some("k"));
        assert_eq!(file.region(), Some("eu-west-1"));
        assert_eq!(file.size(), Some(1000));
        assert_eq!(file.etag(), Some("\"e\""));
        assert_eq!(file.etag_unquoted(), Some("e"));
        assert_eq!(file.content_type(), Some("text/csv"));
        assert_eq!(file.last_modified(), Some(jan_1_2026()));
        assert_eq!(file.version_id(), Some("v7"));
        assert_eq!(file.file_name(), "f.csv");
        assert_eq!(file.metadata()["author"], "Ada");
        assert_eq!(file.sha256(), Some("abc="));
    }

    #[test]
    fn a_pending_file_knows_only_what_precedes_the_upload() {
        let file = S3Object::from_bytes(vec![1, 2], "a.json")
            .with_metadata("author", "Ada")
            .with_metadata_map([("author", "Grace"), ("team", "ops")])
            .with_metadata_map(HashMap::from([("tier".to_owned(), "gold".to_owned())]));
        assert_eq!(
            (file.bucket(), file.key(), file.region()),
            (None, None, None)
        );
        assert_eq!((file.etag(), file.etag_unquoted()), (None, None));
        assert_eq!(file.last_modified(), None);
        assert_eq!((file.version_id(), file.sha256()), (None, None));
        assert_eq!(file.size(), Some(2));
        assert_eq!(file.content_type(), Some("application/json"));
        assert_eq!(file.file_name(), "a.json");
        let pairs: Vec<(&str, &str)> = file
            .metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("author", "Grace"), ("team", "ops"), ("tier", "gold")]
        );
    }

    #[test]
    fn the_null_version_of_an_unversioned_bucket_is_no_version() {
        assert_eq!(version_id(Some("null".into())), None);
        assert_eq!(version_id(Some(String::new())), None);
        assert_eq!(version_id(None), None);
        assert_eq!(
            version_id(Some("3HL4kqtJ".into())).as_deref(),
            Some("3HL4kqtJ")
        );
        // Items that recorded moto's `null` read as unversioned.
        let AttributeValue::M(mut map) = object(None, None).to_attribute_value() else {
            panic!("not a map")
        };
        map.insert(VERSION_ID.into(), AttributeValue::S("null".into()));
        let read = StoredObject::from_attribute_value(&AttributeValue::M(map)).unwrap();
        assert_eq!(read.version_id, None);
    }

    #[test]
    fn an_etag_is_kept_quoted_as_s3_defines_it() {
        assert_eq!(quoted("\"abc\"".into()), "\"abc\"");
        assert_eq!(quoted("abc-2".into()), "\"abc-2\"");
        assert_eq!(quoted("W/\"abc\"".into()), "W/\"abc\"");
        assert_eq!(quoted(String::new()), "");
        let mut bare = object(None, None);
        bare.etag = String::new();
        assert_eq!(S3Object::from_stored(bare).etag(), None);
    }
}
