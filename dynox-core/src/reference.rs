//! Where stored objects are: [`ObjectRef`] and [`FileRef`], what items reference and errors
//! name. A leaf module: the errors (`error.rs`) and the file store (`files.rs`) both use it.

use std::fmt;

/// Where one stored object is: what an item references and what an error names when an
/// object is left behind.
///
/// ```
/// use dynox_core::ObjectRef;
///
/// let object = ObjectRef::new("docs", "invoices/2024/a.pdf");
/// assert_eq!(object.to_string(), "s3://docs/invoices/2024/a.pdf");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The version, on versioned buckets.
    pub version_id: Option<String>,
    /// The bucket's region, when the field sets one.
    pub region: Option<String>,
}

impl ObjectRef {
    /// An object of `bucket` at `key`, unversioned, in the client's region.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
            region: None,
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        if let Some(v) = &self.version_id {
            write!(f, "?versionId={v}")?;
        }
        Ok(())
    }
}

/// One stored object referenced by a file field of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileRef {
    /// The attribute name of the field.
    pub field: &'static str,
    /// Where the object is.
    pub object: ObjectRef,
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.object)
    }
}
