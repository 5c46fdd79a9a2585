//! [`Compression`]: how a file field's objects are encoded in S3.

use std::fmt;

/// The codec a file field compresses its objects with: `#[s3(compress = "zstd")]` or
/// `#[s3(compress = "gzip")]`. Each codec is a feature of the same name (`dynox` features
/// `zstd` and `gzip`; `dynox-s3` has both by default): a model naming a codec whose feature is
/// off does not compile, and an object stored with one is refused on download
/// ([`S3Error::CodecNotEnabled`](crate::S3Error::CodecNotEnabled)).
///
/// The content is compressed while it streams up and decompressed while it streams down
/// (neither holds the whole file in memory). The item records the encoding, the stored
/// (compressed) size, and the size and SHA-256 of the original content; every full download
/// returns the original bytes and checks them against that size and SHA-256.
///
/// - A compressed object cannot be read by byte range: [`S3Object::range`](crate::S3Object::range)
///   returns [`S3Error::RangeOfCompressed`](crate::S3Error::RangeOfCompressed), and
///   [`S3Object::save_to`](crate::S3Object::save_to) streams it whole (one GET) instead of in
///   parallel ranges.
/// - The object is stored with its original content type and `Content-Encoding: gzip` or
///   `zstd`. A [presigned URL](crate::S3Object::presigned_url) of a gzip object also asks S3
///   to answer with `Content-Encoding: gzip`, so a browser decodes it and receives the
///   original. A zstd object is answered with `Content-Encoding: zstd`: browsers that decode
///   zstd (recent Chromium and Firefox) receive the original, others cannot decode it. Use
///   gzip for fields whose links browsers open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Zstandard (level 3, the codec's default): fast, and a good ratio.
    Zstd,
    /// gzip (level 6, the codec's default): decoded by every browser.
    Gzip,
}

impl Compression {
    /// Every codec, in the order `#[s3(compress = "...")]` lists them.
    pub const ALL: [Compression; 2] = [Compression::Zstd, Compression::Gzip];

    /// The name the item records and `#[s3(compress = "...")]` takes (`zstd`, `gzip`); it is
    /// also the HTTP `Content-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }

    /// The file extension of the format (`.zst`, `.gz`), which ends a shared field's
    /// object key when it compresses.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
        }
    }

    /// The codec named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether this build includes the codec (its feature is on).
    pub fn is_enabled(self) -> bool {
        match self {
            Compression::Zstd => cfg!(feature = "zstd"),
            Compression::Gzip => cfg!(feature = "gzip"),
        }
    }
}

/// A codec whose feature is on: what `#[s3(compress = "...")]` requires of its codec's
/// marker ([`ZstdCodec`], [`GzipCodec`]), so that a model naming a codec this build leaves
/// out does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}`: this compression codec's feature is off",
    label = "the codec of this field",
    note = "enable the codec's feature: `dynox = {{ version = \"0.1\", features = [\"zstd\"] }}` (or `\"gzip\"`)"
)]
pub trait EnabledCodec {}

/// The zstd codec, for the compile-time check of `compress = "zstd"`.
pub struct ZstdCodec;
/// The gzip codec, for the compile-time check of `compress = "gzip"`.
pub struct GzipCodec;

#[cfg(feature = "zstd")]
impl EnabledCodec for ZstdCodec {}
#[cfg(feature = "gzip")]
impl EnabledCodec for GzipCodec {}

/// Compiles only for an enabled codec (generated code calls it, spanned on the attribute).
pub const fn require_codec<C: EnabledCodec>() {}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Compression::ALL {
            assert_eq!(Compression::from_name(c.name()), Some(c));
        }
        assert_eq!(Compression::from_name("brotli"), None);
    }
}
