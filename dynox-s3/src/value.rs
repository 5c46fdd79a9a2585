//! [`S3Value`]: a typed value (any serde type, a `String`, a `Vec<u8>`) kept in S3 while the
//! item keeps its reference, and the [`Codec`] that turns it into bytes and back.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use dynox_core::item::{Attribute, AttributeError, AttributeValue};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{BoxError, S3Error};
use crate::object::S3Object;
use crate::progress::Progress;
use crate::upload::source::{BytesSource, OpenSource, Source, UploadSource};

/// How a typed value becomes the bytes of its object, and back. [`Json`] (the default),
/// [`Text`] and [`Binary`] are provided; implement it for your own format (MessagePack,
/// Protobuf, CSV, ...).
///
/// ```
/// use dynox_s3::{BoxError, Codec, S3Value};
///
/// /// Lines of text, one per element.
/// struct Lines;
///
/// impl Codec<Vec<String>> for Lines {
///     const NAME: &'static str = "lines";
///     const CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";
///     const EXTENSION: &'static str = "txt";
///
///     fn encode(value: &Vec<String>) -> Result<Vec<u8>, BoxError> {
///         Ok(value.join("\n").into_bytes())
///     }
///
///     fn decode(bytes: &[u8]) -> Result<Vec<String>, BoxError> {
///         Ok(std::str::from_utf8(bytes)?.lines().map(str::to_owned).collect())
///     }
/// }
///
/// let log: S3Value<Vec<String>, Lines> = S3Value::new(vec!["started".into(), "done".into()]);
/// assert_eq!(log.object().content_type(), Some("text/plain; charset=utf-8"));
/// ```
pub trait Codec<T>: Send + Sync + 'static {
    /// The format's name, for errors (`JSON`).
    const NAME: &'static str;
    /// The objects' `Content-Type`.
    const CONTENT_TYPE: &'static str;
    /// The extension of the objects' file name (`json`): the key ends in `value.{EXTENSION}`.
    const EXTENSION: &'static str;

    /// The bytes of `value`.
    fn encode(value: &T) -> Result<Vec<u8>, BoxError>;

    /// The value `bytes` hold.
    fn decode(bytes: &[u8]) -> Result<T, BoxError>;
}

/// JSON, through serde_json: for any `Serialize + DeserializeOwned` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Codec<T> for Json {
    const NAME: &'static str = "JSON";
    const CONTENT_TYPE: &'static str = "application/json";
    const EXTENSION: &'static str = "json";

    fn encode(value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode(bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

/// A `String` as its UTF-8 text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Codec<String> for Text {
    const NAME: &'static str = "UTF-8 text";
    const CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";
    const EXTENSION: &'static str = "txt";

    fn encode(value: &String) -> Result<Vec<u8>, BoxError> {
        Ok(value.as_bytes().to_vec())
    }

    fn decode(bytes: &[u8]) -> Result<String, BoxError> {
        Ok(std::str::from_utf8(bytes)?.to_owned())
    }
}

/// A `Vec<u8>` as its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binary;

impl Codec<Vec<u8>> for Binary {
    const NAME: &'static str = "bytes";
    const CONTENT_TYPE: &'static str = "application/octet-stream";
    const EXTENSION: &'static str = "bin";

    fn encode(value: &Vec<u8>) -> Result<Vec<u8>, BoxError> {
        Ok(value.clone())
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u8>, BoxError> {
        Ok(bytes.to_vec())
    }
}

/// A long text kept in S3 (`S3Value<String, Text>`).
pub type S3Text = S3Value<String, Text>;

/// A binary value kept in S3 (`S3Value<Vec<u8>, Binary>`).
pub type S3Binary = S3Value<Vec<u8>, Binary>;

/// A serde value kept in S3 as JSON (`S3Value<T, Json>`, the same as `S3Value<T>`).
pub type S3Json<T> = S3Value<T, Json>;

/// A typed value kept in S3: the item holds its object's reference, as for a file.
///
/// Declare the field with `#[s3(...)]` like a file field. [`new`](Self::new) sets it from a
/// value; saving the item encodes it with the codec `C` (JSON by default) and uploads it
/// through the same protocol as a file (rolled back if the write fails, deleted with the
/// item, compressed with `compress = "..."`, content-addressed with `shared`). Reading the
/// item reads only the reference; [`load`](Self::load) downloads, verifies and decodes the
/// value when it is wanted.
///
/// ```
/// use dynox_core::{Client, DynamoModel};
/// use dynox_s3::{S3Text, S3Value};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// struct Analysis {
///     words: u64,
///     topics: Vec<String>,
/// }
///
/// #[derive(Debug, DynamoModel)]
/// #[dynamo(table = "pages")]
/// struct Page {
///     #[dynamo(hash_key)]
///     url: String,
///     #[s3(bucket = "crawler", prefix = "html/", compress = "zstd")]
///     html: S3Text,
///     #[s3(bucket = "crawler", prefix = "analysis/")]
///     analysis: Option<S3Value<Analysis>>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let servers = dynox_local::LocalServers::start().await?;
/// # let config = servers.sdk_config().clone();
/// # let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
/// # s3.create_bucket().bucket("crawler").send().await?;
/// # let client = Client::new(&config);
/// # client.create_table::<Page>().await?;
/// let analysis = Analysis { words: 2, topics: vec!["rust".into()] };
/// let mut page = Page {
///     url: "https://example.com".into(),
///     html: S3Value::new("<p>Hello world</p>".repeat(10_000)),
///     analysis: Some(S3Value::new(analysis.clone())),
/// };
/// client.save(&mut page).await?;
///
/// let page = Page::get(&client, "https://example.com").await?.unwrap(); // no S3 request
/// assert_eq!(page.html.object().size(), Some(180_000));
/// assert!(page.html.value().is_none()); // not downloaded yet
/// assert!(page.html.load(&client).await?.starts_with("<p>Hello"));
/// assert_eq!(page.analysis.unwrap().load(&client).await?, analysis);
/// # Ok(()) }
/// ```
pub struct S3Value<T, C = Json> {
    object: S3Object,
    /// The value, when this process has it: set by `new`, or kept by `fetch`.
    value: Option<Arc<T>>,
    codec: PhantomData<fn() -> C>,
}

impl<T, C> S3Value<T, C>
where
    T: Send + Sync + 'static,
    C: Codec<T>,
{
    /// A value to store: the next save encodes and uploads it.
    pub fn new(value: T) -> Self {
        let value = Arc::new(value);
        let source = Source::new(Encoded::<T, C> {
            value: Arc::clone(&value),
            bytes: OnceLock::new(),
            codec: PhantomData,
        });
        let object = S3Object::pending(source, format!("value.{}", C::EXTENSION))
            .with_content_type(C::CONTENT_TYPE);
        S3Value {
            object,
            value: Some(value),
            codec: PhantomData,
        }
    }

    /// The value, if it is in memory: one set with [`new`](Self::new) (saved or not), or one
    /// [`fetch`](Self::fetch) downloaded. `None` for a value read from an item and not
    /// fetched yet.
    pub fn value(&self) -> Option<&T> {
        self.value.as_deref()
    }

    /// The stored object behind the value: its metadata (size, key, SHA-256, ...) and the
    /// file operations (`presigned_url`, `stream`, `save_to`, ...) on its encoded bytes.
    pub fn object(&self) -> &S3Object {
        &self.object
    }

    /// Reports this value's transfers to `progress`: its upload (the encoded bytes) when the
    /// item is saved, and each [`load`](Self::load) or [`fetch`](Self::fetch) download, as
    /// [`S3Object::with_progress`] does for a file.
    ///
    /// ```
    /// use dynox_s3::{Progress, S3Text};
    ///
    /// let progress = Progress::new();
    /// let text = S3Text::new("a long text".repeat(100_000)).with_progress(&progress);
    /// assert!(text.object().progress().is_some());
    /// ```
    pub fn with_progress(mut self, progress: &Progress) -> Self {
        self.set_progress(Some(progress.clone()));
        self
    }

    /// Sets or removes (`None`) the [`Progress`] this value's transfers report to, in place:
    /// for a value inside an item.
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        self.object.set_progress(progress);
    }

    /// Downloads the value, verifies it (size and SHA-256, after decompression) and decodes
    /// it. A value set with [`new`](Self::new) and not saved yet is an
    /// [`S3Error::NotUploaded`].
    pub async fn load(&self, client: &dynox_core::Client) -> dynox_core::Result<T> {
        let stored = self.object.stored_or_not_uploaded()?;
        let bytes = crate::download::get_bytes(client, stored, self.object.progress()).await?;
        Ok(decode::<T, C>(stored, &bytes)?)
    }

    /// The value, downloaded once: the first call loads it ([`load`](Self::load)); later
    /// calls return the value in memory.
    pub async fn fetch(&mut self, client: &dynox_core::Client) -> dynox_core::Result<&T> {
        if self.value.is_none() {
            self.value = Some(Arc::new(self.load(client).await?));
        }
        Ok(self.value.as_deref().expect("set above"))
    }
}

/// `value` decoded from `bytes`, the content of `stored`.
fn decode<T, C: Codec<T>>(stored: &crate::StoredObject, bytes: &[u8]) -> Result<T, S3Error> {
    C::decode(bytes).map_err(|source| S3Error::Decode {
        bucket: stored.bucket.clone(),
        key: stored.key.clone(),
        what: format!("`{}` as {}", std::any::type_name::<T>(), C::NAME),
        source,
    })
}

impl<T, C> Clone for S3Value<T, C> {
    fn clone(&self) -> Self {
        S3Value {
            object: self.object.clone(),
            value: self.value.clone(),
            codec: PhantomData,
        }
    }
}

/// The object, and whether the value is in memory (not the value itself, which may be large).
impl<T, C> fmt::Debug for S3Value<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Value")
            .field("type", &std::any::type_name::<T>())
            .field("object", &self.object)
            .field("in_memory", &self.value.is_some())
            .finish()
    }
}

/// Equal when their objects are ([`S3Object`]'s equality): two stored values referencing the
/// same object. A pending value equals nothing, not even itself: its content is not known
/// until it is encoded and uploaded.
impl<T, C> PartialEq for S3Value<T, C> {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
    }
}

/// Stored in the item exactly as a file field is (the reference to its object).
impl<T: Send + Sync + 'static, C: Codec<T>> Attribute for S3Value<T, C> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        self.object.to_attribute()
    }

    fn from_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        Ok(S3Value {
            object: S3Object::from_attribute(value)?,
            value: None,
            codec: PhantomData,
        })
    }
}

/// A value not encoded yet: encoded (once) when an upload opens it, so an encoding error is
/// the save's, naming the field.
struct Encoded<T, C> {
    value: Arc<T>,
    bytes: OnceLock<Bytes>,
    codec: PhantomData<fn() -> C>,
}

impl<T: Send + Sync + 'static, C: Codec<T>> Encoded<T, C> {
    fn bytes(&self) -> Result<Bytes, S3Error> {
        if let Some(bytes) = self.bytes.get() {
            return Ok(bytes.clone());
        }
        let bytes = C::encode(&self.value).map_err(|source| S3Error::Encode {
            type_name: std::any::type_name::<T>(),
            codec: C::NAME,
            source,
        })?;
        Ok(self.bytes.get_or_init(|| Bytes::from(bytes)).clone())
    }
}

impl<T: Send + Sync + 'static, C: Codec<T>> OpenSource for Encoded<T, C> {
    fn size(&self) -> Option<u64> {
        self.bytes.get().map(|b| b.len() as u64)
    }

    fn describe(&self) -> String {
        format!("a `{}` as {}", std::any::type_name::<T>(), C::NAME)
    }

    fn open<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Box<dyn UploadSource>, S3Error>> {
        let opened = self
            .bytes()
            .map(|bytes| Box::new(BytesSource(bytes)) as Box<dyn UploadSource>);
        Box::pin(std::future::ready(opened))
    }
}

/// A field type that can be an `#[s3]` file field: what the derive's generated code reaches
/// the field's file through. Implemented for [`S3Object`], [`S3Value`] and `Option`s of them.
/// Not a public API (only generated code names it, through `__private`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an `#[s3]` file field",
    label = "not a file type",
    note = "an `#[s3]` field is an `S3Object`, an `S3Value<T>` (`S3Text`, `S3Binary`), or an `Option` of one",
    note = "for an ordinary attribute moved to S3 only when the item is too large, add `overflow`: `#[s3(bucket = \"...\", overflow)]`"
)]
pub trait FileSlot {
    /// The field's file, `None` for an empty optional field.
    fn slot(&mut self) -> Option<&mut S3Object>;
}

impl FileSlot for S3Object {
    fn slot(&mut self) -> Option<&mut S3Object> {
        Some(self)
    }
}

impl<T, C> FileSlot for S3Value<T, C> {
    fn slot(&mut self) -> Option<&mut S3Object> {
        Some(&mut self.object)
    }
}

impl<F: FileSlot> FileSlot for Option<F> {
    fn slot(&mut self) -> Option<&mut S3Object> {
        self.as_mut().and_then(FileSlot::slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::State;

    #[test]
    fn a_value_is_encoded_once_when_opened() {
        let value: S3Value<Vec<u32>> = S3Value::new(vec![1, 2, 3]);
        assert_eq!(value.value(), Some(&vec![1, 2, 3]));
        assert_eq!(value.object().file_name(), "value.json");
        assert_eq!(value.object().content_type(), Some("application/json"));
        let State::Pending(pending) = &value.object.state else {
            panic!("pending")
        };
        assert_eq!(pending.source.size(), None);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut opened = runtime.block_on(pending.source.open("value.json")).unwrap();
        let part = runtime
            .block_on(opened.next_part(1 << 20))
            .unwrap()
            .unwrap();
        assert_eq!(part.len(), 7); // [1,2,3]
        assert_eq!(pending.source.size(), Some(7));
    }

    #[test]
    fn an_encoding_error_names_the_type_and_codec() {
        use std::collections::HashMap;
        // JSON object keys must be strings.
        let value: S3Value<HashMap<(u8, u8), u8>> = S3Value::new(HashMap::from([((1, 2), 3)]));
        let State::Pending(pending) = &value.object.state else {
            panic!("pending")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let Err(error) = runtime.block_on(pending.source.open("value.json")) else {
            panic!("encoded")
        };
        assert!(
            matches!(error, S3Error::Encode { codec: "JSON", .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("HashMap<(u8, u8), u8>"),
            "{error}"
        );
    }
}
