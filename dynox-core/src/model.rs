//! What `#[derive(DynamoModel)]` implements: the [`Model`] trait, the typed [`Key`] of an
//! item, and the traits that say which field types may be keys, versions, time-to-live or
//! timestamp fields.
//!
//! Application code names [`Model`], [`Key`] and [`IntoKey`] (re-exported at the crate
//! root). The other items here appear in the bounds of those and in the code the derive
//! generates; they are public so that generic code can name them, and are rarely implemented
//! by hand.

use std::fmt;

use crate::item::{AttributeError, AttributeValue, Blob, Item};
use crate::schema::{IndexSchema, KeySchema, ScalarType};

/// A type that can be a key attribute: `String`, any integer type, or `Vec<u8>`.
///
/// ```
/// use dynox_core::model::KeyAttribute;
/// use dynox_core::schema::ScalarType;
///
/// assert_eq!(<u64 as KeyAttribute>::SCALAR, ScalarType::Number);
/// assert!(String::new().to_key_attribute().is_err()); // DynamoDB rejects empty keys
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a DynamoDB key attribute",
    label = "unsupported key type",
    note = "a hash or range key must be `String`, an integer type (`u64`, `i32`, ...) or `Vec<u8>`"
)]
pub trait KeyAttribute: Clone + fmt::Debug + Send + Sync + 'static {
    /// The key's DynamoDB type.
    const SCALAR: ScalarType;
    /// The attribute value of this key.
    fn to_key_attribute(&self) -> Result<AttributeValue, AttributeError>;
    /// Reads a key value back.
    fn from_key_attribute(value: AttributeValue) -> Result<Self, AttributeError>;
}

impl KeyAttribute for String {
    const SCALAR: ScalarType = ScalarType::String;
    #[inline]
    fn to_key_attribute(&self) -> Result<AttributeValue, AttributeError> {
        if self.is_empty() {
            return Err(AttributeError::EmptyKey);
        }
        Ok(AttributeValue::S(self.clone()))
    }
    fn from_key_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        <String as crate::item::Attribute>::from_attribute(Some(value))
    }
}

impl KeyAttribute for Vec<u8> {
    const SCALAR: ScalarType = ScalarType::Binary;
    fn to_key_attribute(&self) -> Result<AttributeValue, AttributeError> {
        if self.is_empty() {
            return Err(AttributeError::EmptyKey);
        }
        Ok(AttributeValue::B(Blob::new(self.clone())))
    }
    fn from_key_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
        <Vec<u8> as crate::item::Attribute>::from_attribute(Some(value))
    }
}

macro_rules! integer_key {
    ($($t:ty),*) => {$(
        impl KeyAttribute for $t {
            const SCALAR: ScalarType = ScalarType::Number;
            #[inline]
            fn to_key_attribute(&self) -> Result<AttributeValue, AttributeError> {
                crate::item::format_integer(*self).map(AttributeValue::N)
            }
            fn from_key_attribute(value: AttributeValue) -> Result<Self, AttributeError> {
                <$t as crate::item::Attribute>::from_attribute(Some(value))
            }
        }
    )*};
}
integer_key!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// A field type that can be an index key: a key type, or an `Option` of one (items without
/// the attribute are left out of the index: a sparse index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an index key attribute",
    label = "unsupported index key type",
    note = "an index key must be `String`, an integer type or `Vec<u8>`, or an `Option` of one"
)]
pub trait IndexKeyField {
    /// The key's type in queries.
    type Key: KeyAttribute;
    /// Its DynamoDB type.
    const SCALAR: ScalarType = <Self::Key as KeyAttribute>::SCALAR;
}

impl<T: KeyAttribute> IndexKeyField for T {
    type Key = T;
}

impl<T: KeyAttribute> IndexKeyField for Option<T> {
    type Key = T;
}

/// An integer type usable as a `#[dynamo(version)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a version field",
    label = "not an integer type",
    note = "`#[dynamo(version)]` needs an integer field (`u64`, `u32`, `i64`, ...)"
)]
pub trait VersionNumber: Copy {
    /// The value as a version (negative values count as 0).
    fn to_version(self) -> u64;
    /// The version as this type (saturating at its maximum).
    fn from_version(version: u64) -> Self;
}

macro_rules! version_number {
    ($($t:ty),*) => {$(
        impl VersionNumber for $t {
            fn to_version(self) -> u64 {
                u64::try_from(self).unwrap_or(0)
            }
            fn from_version(version: u64) -> Self {
                <$t>::try_from(version).unwrap_or(<$t>::MAX)
            }
        }
    )*};
}
version_number!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// A type usable as a `#[dynamo(ttl)]` field: `SystemTime` or `Option<SystemTime>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a time-to-live field",
    label = "not a point in time",
    note = "`#[dynamo(ttl)]` needs a `std::time::SystemTime` or `Option<SystemTime>` field"
)]
pub trait TtlAttribute {}
impl TtlAttribute for std::time::SystemTime {}
impl TtlAttribute for Option<std::time::SystemTime> {}

/// A type usable as a `#[dynamo(created_at)]` or `#[dynamo(updated_at)]` field:
/// `SystemTime` or `Option<SystemTime>`.
///
/// A created-at field is "unset" while it is `None` (or `UNIX_EPOCH` for a plain
/// `SystemTime`): the first write sets it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a timestamp field",
    label = "not a point in time",
    note = "`#[dynamo(created_at)]` and `#[dynamo(updated_at)]` need a `std::time::SystemTime` or `Option<SystemTime>` field"
)]
pub trait Timestamp {
    /// Sets the field to `now`.
    fn stamp(&mut self, now: std::time::SystemTime);
    /// Whether the field holds no time yet.
    fn is_unset(&self) -> bool;
    /// A field that holds no time yet (what a generated `new` starts it with).
    fn unset() -> Self;
}

impl Timestamp for std::time::SystemTime {
    fn stamp(&mut self, now: std::time::SystemTime) {
        *self = now;
    }
    fn is_unset(&self) -> bool {
        *self == std::time::UNIX_EPOCH
    }
    fn unset() -> Self {
        std::time::UNIX_EPOCH
    }
}

impl Timestamp for Option<std::time::SystemTime> {
    fn stamp(&mut self, now: std::time::SystemTime) {
        *self = Some(now);
    }
    fn is_unset(&self) -> bool {
        self.is_none_or(|t| t == std::time::UNIX_EPOCH)
    }
    fn unset() -> Self {
        None
    }
}

/// A value that converts to a key of type `T`: `T` itself, and `&str`/`&String` for `String`
/// keys, `&[u8]`/`&Vec<u8>` for binary keys.
///
/// Key parameters take `impl IntoKey<T>` rather than `impl Into<T>` so that integer literals
/// infer their type from the key (`Order::get(&client, "c", 42)` with a `u64` key).
///
/// ```
/// use dynox_core::{IntoKey, SortKey};
///
/// let n: u64 = 42.into_key();
/// let s: String = "abc".into_key();
/// let c: SortKey<u64> = SortKey::gt(7); // the literal is a u64
/// # let _ = (n, s, c);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a `{T}` key value",
    label = "expected a `{T}` key value",
    note = "pass a `{T}` (or `&str` for a `String` key, `&[u8]` for a `Vec<u8>` key)"
)]
pub trait IntoKey<T> {
    /// The key value.
    fn into_key(self) -> T;
}

impl<T: KeyAttribute> IntoKey<T> for T {
    fn into_key(self) -> T {
        self
    }
}

impl IntoKey<String> for &str {
    fn into_key(self) -> String {
        self.to_owned()
    }
}

impl IntoKey<String> for &String {
    fn into_key(self) -> String {
        self.clone()
    }
}

impl IntoKey<Vec<u8>> for &[u8] {
    fn into_key(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl IntoKey<Vec<u8>> for &Vec<u8> {
    fn into_key(self) -> Vec<u8> {
        self.clone()
    }
}

impl<const N: usize> IntoKey<Vec<u8>> for &[u8; N] {
    fn into_key(self) -> Vec<u8> {
        self.to_vec()
    }
}

/// The range key type of a model whose table has only a hash key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoRangeKey;

/// The range key slot of a [`Model`]: a [`KeyAttribute`], or [`NoRangeKey`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a DynamoDB key attribute",
    label = "unsupported key type",
    note = "a hash or range key must be `String`, an integer type (`u64`, `i32`, ...) or `Vec<u8>`"
)]
pub trait RangeKey: Clone + fmt::Debug + Send + Sync + 'static {
    /// The key's DynamoDB type, `None` for [`NoRangeKey`].
    const SCALAR: Option<ScalarType>;
    /// The attribute value, or `None` for [`NoRangeKey`].
    fn to_range_attribute(&self) -> Result<Option<AttributeValue>, AttributeError>;
    /// Reads the range key back from its attribute (`None` when absent).
    fn from_range_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError>;
}

impl<T: KeyAttribute> RangeKey for T {
    const SCALAR: Option<ScalarType> = Some(T::SCALAR);
    fn to_range_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        self.to_key_attribute().map(Some)
    }
    fn from_range_attribute(value: Option<AttributeValue>) -> Result<Self, AttributeError> {
        T::from_key_attribute(value.ok_or(AttributeError::Missing)?)
    }
}

impl RangeKey for NoRangeKey {
    const SCALAR: Option<ScalarType> = None;
    fn to_range_attribute(&self) -> Result<Option<AttributeValue>, AttributeError> {
        Ok(None)
    }
    fn from_range_attribute(_: Option<AttributeValue>) -> Result<Self, AttributeError> {
        Ok(NoRangeKey)
    }
}

/// A DynamoDB model: a struct with `#[derive(DynamoModel)]`.
///
/// The derive implements this trait; it is rarely implemented by hand. It carries the table
/// name and key schema and converts the struct to and from an [`Item`]. Operations are generic
/// functions over it, reached through [`Client`](crate::Client) or the methods the derive adds
/// to the struct (`Order::get(&client, "cust-1", 42)`).
pub trait Model: Sized + Send + Sync + 'static {
    /// The hash key's Rust type.
    type HashKey: KeyAttribute;
    /// The range key's Rust type, or [`NoRangeKey`].
    type RangeKey: RangeKey;
    /// Where the model's file fields are stored: [`NoFiles`](crate::spi::NoFiles), or
    /// dynox-s3's store for models with `#[s3]` fields.
    type Files: crate::spi::FileStore<Self>;
    /// The table name, before the client's table prefix.
    const TABLE: &'static str;
    /// The table's primary key.
    const SCHEMA: KeySchema;

    /// The attribute name of the `#[dynamo(version)]` field, if there is one: writes are then
    /// conditional on the version read, which each write increments.
    const VERSION: Option<&'static str> = None;

    /// The attribute name of the `#[dynamo(ttl)]` field, if there is one: `create_table`
    /// enables DynamoDB's time to live on it.
    const TTL: Option<&'static str> = None;

    /// The attribute name of the `#[dynamo(created_at)]` field: set on an item's first write.
    const CREATED_AT: Option<&'static str> = None;

    /// The attribute name of the `#[dynamo(updated_at)]` field: set on every write.
    const UPDATED_AT: Option<&'static str> = None;

    /// Sets the timestamp fields before a write: `updated_at` to `now`, and `created_at` to
    /// `now` if it is unset.
    fn stamp(&mut self, now: std::time::SystemTime) {
        let _ = now;
    }

    /// The entity type the model records in every item, when it shares its table with other
    /// models (`#[dynamo(entity = "Order")]`): reads refuse items of another type.
    const ENTITY: Option<crate::key_template::Entity> = None;

    /// The templates of the primary key's attributes (`#[dynamo(pk = "...", sk = "...")]`),
    /// hash key first; empty for a model keyed by its own fields.
    const KEY_TEMPLATES: &'static [crate::key_template::KeyTemplate] = &[];

    /// The templates of the secondary indexes' key attributes.
    const INDEX_TEMPLATES: &'static [crate::key_template::KeyTemplate] = &[];

    /// For each field of an index template: how an update that sets it writes the index key.
    #[doc(hidden)]
    const INDEX_SEGMENTS: &'static [crate::key_template::SegmentReader] = &[];

    /// The secondary indexes declared with `#[dynamo(global_index(...))]` and
    /// `#[dynamo(local_index(...))]`: `create_table` creates them.
    const INDEXES: &'static [IndexSchema] = &[];

    /// The model's hooks (`#[dynamo(hooks)]`), or `None`.
    #[doc(hidden)]
    const HOOKS: Option<crate::hooks::HookFns<Self>> = None;

    /// The validated fields' rules, for values an update sets.
    #[doc(hidden)]
    const FIELD_RULES: &'static [crate::validate::FieldRules] = &[];

    /// Checks the fields' `#[dynamo(validate(...))]` rules: the first value that breaks one.
    /// Writes call it before they upload or write anything.
    fn validate(&self) -> Result<(), crate::validate::Violation> {
        Ok(())
    }

    /// The value of the version field (0 for an item never saved).
    fn version(&self) -> u64 {
        0
    }

    /// Sets the version field (after a successful write).
    fn set_version(&mut self, version: u64) {
        let _ = version;
    }

    /// Converts the struct to a DynamoDB item.
    fn to_item(&self) -> Result<Item, FieldError>;
    /// Reads the struct from a DynamoDB item.
    fn from_item(item: Item) -> Result<Self, FieldError>;
    /// The item's key.
    fn key(&self) -> Key<Self>;
}

/// A field that could not be converted: its attribute name and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The attribute name of the field.
    pub field: &'static str,
    /// What is wrong with it.
    pub error: AttributeError,
}

/// The primary key of one item of model `M`.
///
/// ```
/// # use dynox_core::{DynamoModel, Key};
/// #[derive(DynamoModel)]
/// #[dynamo(table = "users")]
/// struct User {
///     #[dynamo(hash_key)]
///     id: String,
/// }
///
/// let key: Key<User> = User::key_of("u1");
/// assert_eq!(key.to_string(), r#"id = "u1""#);
/// ```
pub struct Key<M: Model> {
    /// The hash key value.
    pub hash: M::HashKey,
    /// The range key value, or [`NoRangeKey`].
    pub range: M::RangeKey,
}

impl<M: Model> Key<M> {
    /// A key from its parts.
    pub fn new(hash: M::HashKey, range: M::RangeKey) -> Self {
        Self { hash, range }
    }

    /// The key as a DynamoDB item of its key attributes.
    pub fn to_item(&self) -> Result<Item, FieldError> {
        let schema = M::SCHEMA;
        let mut item = Item::with_capacity(2);
        let hash = self.hash.to_key_attribute().map_err(|error| FieldError {
            field: schema.hash.name,
            error,
        })?;
        item.insert(schema.hash.name.to_owned(), hash);
        if let Some(range_attr) = schema.range {
            let range = self
                .range
                .to_range_attribute()
                .map_err(|error| FieldError {
                    field: range_attr.name,
                    error,
                })?;
            if let Some(range) = range {
                item.insert(range_attr.name.to_owned(), range);
            }
        }
        Ok(item)
    }
}

impl<M: Model> Clone for Key<M> {
    fn clone(&self) -> Self {
        Self {
            hash: self.hash.clone(),
            range: self.range.clone(),
        }
    }
}

impl<M: Model> fmt::Debug for Key<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("hash", &self.hash)
            .field("range", &self.range)
            .finish()
    }
}

impl<M: Model> PartialEq for Key<M>
where
    M::HashKey: PartialEq,
    M::RangeKey: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.range == other.range
    }
}

/// `hash = "value", range = 42`: the form errors use to name an item.
impl<M: Model> fmt::Display for Key<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {:?}", M::SCHEMA.hash.name, self.hash)?;
        if let Some(range) = M::SCHEMA.range {
            write!(f, ", {} = {:?}", range.name, self.range)?;
        }
        Ok(())
    }
}
