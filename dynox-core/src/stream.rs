//! DynamoDB Streams records of a model's table: [`ChangeRecord`], the record as the stream
//! delivers it (whichever road it came by: the Streams API, a Lambda event), and
//! [`StreamRecord<M>`], the same change with its images decoded into the model.
//!
//! The `dynox-streams` crate reads records from the Streams API or a Lambda event into
//! [`ChangeRecord`]s; the file cascade of `dynox-s3` works on them.

use crate::item::Item;
use crate::model::{FieldError, Model};

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A new item was written.
    Insert,
    /// An existing item was overwritten or updated.
    Modify,
    /// The item was deleted (by a user, or by time to live: [`ChangeRecord::ttl_expired`]).
    Remove,
}

impl ChangeKind {
    /// The kind of a stream record's `eventName` (`INSERT`, `MODIFY`, `REMOVE`).
    ///
    /// ```
    /// use dynox_core::stream::ChangeKind;
    ///
    /// assert_eq!(ChangeKind::from_event_name("REMOVE"), Some(ChangeKind::Remove));
    /// assert_eq!(ChangeKind::from_event_name("aws:dynamodb"), None);
    /// ```
    pub fn from_event_name(name: &str) -> Option<Self> {
        match name {
            "INSERT" => Some(ChangeKind::Insert),
            "MODIFY" => Some(ChangeKind::Modify),
            "REMOVE" => Some(ChangeKind::Remove),
            _ => None,
        }
    }
}

/// One change of one item, as a DynamoDB stream delivers it: its kind, the key, and the
/// images the stream's view type includes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeRecord {
    /// What happened.
    pub kind: ChangeKind,
    /// The item's key attributes.
    pub keys: Item,
    /// The item before the change (`NEW_AND_OLD_IMAGES` or `OLD_IMAGE` views; none for an
    /// insert).
    pub old_image: Option<Item>,
    /// The item after the change (`NEW_AND_OLD_IMAGES` or `NEW_IMAGE` views; none for a
    /// remove).
    pub new_image: Option<Item>,
    /// The record's sequence number within its shard: what a checkpoint records, and what
    /// a Lambda partial batch failure names.
    pub sequence_number: String,
    /// Whether DynamoDB's time to live removed the item (a `REMOVE` whose user identity is
    /// the service `dynamodb.amazonaws.com`), rather than a request.
    pub ttl_expired: bool,
}

impl ChangeRecord {
    /// A record of `kind` for the item with `keys`.
    pub fn new(kind: ChangeKind, keys: Item, sequence_number: impl Into<String>) -> Self {
        Self {
            kind,
            keys,
            old_image: None,
            new_image: None,
            sequence_number: sequence_number.into(),
            ttl_expired: false,
        }
    }

    /// With the item before the change.
    pub fn with_old_image(mut self, image: Option<Item>) -> Self {
        self.old_image = image.filter(|i| !i.is_empty());
        self
    }

    /// With the item after the change.
    pub fn with_new_image(mut self, image: Option<Item>) -> Self {
        self.new_image = image.filter(|i| !i.is_empty());
        self
    }

    /// Marks the record as a time-to-live expiry when its user identity is DynamoDB's own
    /// service (`type` `Service`, principal `dynamodb.amazonaws.com`).
    pub fn with_user_identity(mut self, kind: Option<&str>, principal: Option<&str>) -> Self {
        self.ttl_expired = self.kind == ChangeKind::Remove
            && kind == Some("Service")
            && principal == Some("dynamodb.amazonaws.com");
        self
    }
}

/// A [`ChangeRecord`] of model `M`'s table with its images decoded into `M`.
///
/// ```
/// use dynox_core::item::{AttributeValue, Item};
/// use dynox_core::stream::{ChangeKind, ChangeRecord, StreamRecord};
/// use dynox_core::DynamoModel;
///
/// #[derive(Debug, PartialEq, DynamoModel)]
/// #[dynamo(table = "sessions")]
/// struct Session {
///     #[dynamo(hash_key)]
///     id: String,
///     user: String,
/// }
///
/// let image: Item = [
///     ("id".to_owned(), AttributeValue::S("s1".into())),
///     ("user".to_owned(), AttributeValue::S("ada".into())),
/// ]
/// .into();
/// let keys: Item = [("id".to_owned(), AttributeValue::S("s1".into()))].into();
/// let raw = ChangeRecord::new(ChangeKind::Remove, keys, "100")
///     .with_old_image(Some(image))
///     .with_user_identity(Some("Service"), Some("dynamodb.amazonaws.com"));
///
/// let record = StreamRecord::<Session>::decode(&raw).unwrap();
/// assert_eq!(record.kind, ChangeKind::Remove);
/// assert!(record.ttl_expired);
/// assert_eq!(record.old.unwrap(), Session { id: "s1".into(), user: "ada".into() });
/// assert!(record.new.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamRecord<M> {
    /// What happened.
    pub kind: ChangeKind,
    /// The item before the change, if the stream's view includes it.
    pub old: Option<M>,
    /// The item after the change, if the stream's view includes it.
    pub new: Option<M>,
    /// The record's sequence number.
    pub sequence_number: String,
    /// Whether time to live removed the item.
    pub ttl_expired: bool,
}

impl<M: Model> StreamRecord<M> {
    /// Decodes `record`'s images into `M`. An image that is not an `M` (another model's
    /// item in a shared table, or an older shape) is the field error of its first bad
    /// field.
    ///
    /// An overflow field (`#[s3(overflow)]`) whose value was in S3 when the change
    /// happened holds a reference in the image, not the value, and does not decode: read
    /// such items through the model's own reads.
    pub fn decode(record: &ChangeRecord) -> Result<Self, FieldError> {
        let decode = |image: &Option<Item>| image.clone().map(M::from_item).transpose();
        Ok(StreamRecord {
            kind: record.kind,
            old: decode(&record.old_image)?,
            new: decode(&record.new_image)?,
            sequence_number: record.sequence_number.clone(),
            ttl_expired: record.ttl_expired,
        })
    }
}
