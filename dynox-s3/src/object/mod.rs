//! [`S3Object`], the value of a file field: the type, its state (a file waiting to be
//! uploaded, or a stored object), its constructors and its transfer settings.
//!
//! The rest of the type is split by concern: [`accessors`] reads each piece of its metadata,
//! [`stored`] holds the [`StoredObject`] record, [`wire`] writes that record into an item and
//! reads it back, [`rfc3339`] is the item's time format, and [`download`] fetches the bytes.

mod accessors;
mod download;
mod rfc3339;
mod stored;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use futures::Stream;
use tokio::io::AsyncRead;

use crate::progress::Progress;
use crate::upload::source::Source;

pub use stored::StoredObject;
pub(crate) use stored::{quoted, version_id};

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
/// [`file_name`](Self::file_name), [`metadata`](Self::metadata),
/// [`crc64nvme`](Self::crc64nvme) and [`sha256`](Self::sha256). What only the upload settles
/// (bucket, key, ETag, last modified, version id, checksums) is `None` while the file is
/// pending; the file name, content type
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
/// assert!(file.crc64nvme().is_some()); // checked by S3 on arrival and on every download
/// assert_eq!(file.sha256(), None); // only where asked for: `#[s3(sha256)]`
/// # Ok(()) }
/// ```
pub struct S3Object {
    pub(crate) state: State,
    /// Where this file's transfers report ([`with_progress`](Self::with_progress)); a pending
    /// file's source holds it too, for the upload.
    pub(crate) progress: Option<Progress>,
}

impl Clone for S3Object {
    fn clone(&self) -> Self {
        // Only the value `attach` returned may claim its object: a copy is merely stored.
        let state = match &self.state {
            State::Attached(stored) => State::Stored(stored.clone()),
            state => state.clone(),
        };
        S3Object {
            state,
            progress: self.progress.clone(),
        }
    }
}

/// Where a file stands between the user's value and the stored object.
#[derive(Clone)]
pub(crate) enum State {
    /// Waiting to be uploaded by the next save.
    Pending(PendingUpload),
    /// Stored, and settled: read from an item, saved, or built from its metadata.
    Stored(StoredObject),
    /// Stored by a direct (presigned) upload and attached, not yet referenced by any item:
    /// the next save claims it, as it would an upload of its own.
    Attached(StoredObject),
    /// Uploaded by a save whose write has not settled: pending again (from `from`) if that
    /// write fails and the upload is removed, stored once it commits.
    Uploaded {
        stored: StoredObject,
        from: PendingUpload,
    },
}

impl State {
    /// The stored object's record, or (`Err`) the file waiting to be uploaded.
    pub(crate) fn record(&self) -> Result<&StoredObject, &PendingUpload> {
        match self {
            State::Stored(stored) | State::Attached(stored) | State::Uploaded { stored, .. } => {
                Ok(stored)
            }
            State::Pending(pending) => Err(pending),
        }
    }

    /// After the write of a save that uploaded or claimed this file: settled as stored when
    /// it committed; a file it uploaded is pending again when it did not.
    pub(crate) fn settle(&mut self, committed: bool) {
        let settled = match &*self {
            State::Uploaded { from, .. } if !committed => State::Pending(from.clone()),
            State::Uploaded { stored, .. } | State::Attached(stored) if committed => {
                State::Stored(stored.clone())
            }
            _ => return,
        };
        *self = settled;
    }
}

/// A file waiting to be uploaded.
#[derive(Clone)]
pub(crate) struct PendingUpload {
    pub(crate) source: Source,
    pub(crate) file_name: String,
    pub(crate) content_type: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
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
            progress: None,
        }
    }

    /// A stored object that no item references yet (attached after a presigned upload): the
    /// next save claims it, removing it if the write fails.
    pub(crate) fn attached(stored: StoredObject) -> Self {
        S3Object {
            state: State::Attached(stored),
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
    /// # async fn run(client: &dynox_core::Client, loaded: &S3Object) -> dynox_core::Result<()> {
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
        self.state.record().ok()
    }

    /// The stored object's metadata, or [`S3Error::NotUploaded`](crate::S3Error::NotUploaded).
    pub fn require_stored(&self) -> dynox_core::Result<&StoredObject> {
        Ok(self.stored_or_not_uploaded()?)
    }

    /// [`require_stored`](Self::require_stored), with the S3 error itself.
    pub(crate) fn stored_or_not_uploaded(&self) -> Result<&StoredObject, crate::S3Error> {
        self.state
            .record()
            .map_err(|p| crate::S3Error::NotUploaded {
                file_name: p.file_name.clone(),
            })
    }
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state.record() {
            Ok(s) => f.debug_tuple("S3Object::Stored").field(s).finish(),
            Err(p) => f
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
        match (self.state.record(), other.state.record()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}
