//! The upload rules: what a direct upload may be ([`UploadRules`]: sizes, content types,
//! lifetime, checksum) and what its uploader declares about it ([`DeclaredFile`]).

use std::time::Duration;

use base64::Engine;

use crate::error::UploadRefusal;

/// What a direct upload may be. S3 enforces the size range and the content type through the
/// POST policy [`presign_upload`](crate::presign_upload) signs, and [`attach`](crate::attach)
/// checks both again on what arrived.
///
/// ```
/// use std::time::Duration;
/// use dynox_s3::UploadRules;
///
/// let rules = UploadRules::new(20 << 20) // at most 20 MiB
///     .min_size(1)
///     .content_types(["application/pdf", "image/*"])
///     .expires(Duration::from_secs(600));
/// assert!(rules.allows("image/png"));
/// assert!(!rules.allows("text/html"));
/// assert_eq!(rules.max_size(), 20 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    pub(super) min_size: u64,
    pub(super) max_size: u64,
    content_types: Vec<String>,
    pub(super) expires: Duration,
    pub(super) require_sha256: bool,
}

impl UploadRules {
    /// Uploads of at most `max_size` bytes, of any content type, with forms valid for 15
    /// minutes.
    pub fn new(max_size: u64) -> Self {
        Self {
            min_size: 0,
            max_size,
            content_types: Vec::new(),
            expires: Duration::from_secs(15 * 60),
            require_sha256: false,
        }
    }

    /// Requires every upload to declare its SHA-256 ([`DeclaredFile::sha256`]), which S3
    /// checks on arrival and the item then records, so every later download is verified
    /// against what the uploader had. Off by default.
    pub fn require_sha256(mut self) -> Self {
        self.require_sha256 = true;
        self
    }

    /// The smallest size accepted, in bytes (0 by default).
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes;
        self
    }

    /// The content types accepted: exact (`application/pdf`) or a whole top-level type
    /// (`image/*`). None given: any type.
    pub fn content_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.content_types = types
            .into_iter()
            .map(|t| t.into().trim().to_ascii_lowercase())
            .collect();
        self
    }

    /// How long a presigned form stays valid (1 second to 7 days; 15 minutes by default).
    pub fn expires(mut self, expires: Duration) -> Self {
        self.expires = expires;
        self
    }

    /// The largest size accepted, in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// `content_type` without parameters, if the rules accept it.
    pub(super) fn check_content_type(&self, content_type: &str) -> Result<String, UploadRefusal> {
        let essence = essence(content_type);
        if self.allows(&essence) {
            Ok(essence)
        } else {
            Err(UploadRefusal::ContentType {
                found: essence,
                allowed: self.content_types.clone(),
            })
        }
    }

    /// Whether the rules accept `size` bytes.
    pub(super) fn check_size(&self, size: u64) -> Result<(), UploadRefusal> {
        if size > self.max_size {
            Err(UploadRefusal::TooLarge {
                size,
                max: self.max_size,
            })
        } else if size < self.min_size {
            Err(UploadRefusal::TooSmall {
                size,
                min: self.min_size,
            })
        } else {
            Ok(())
        }
    }

    /// Whether `content_type` (parameters such as `; charset=` ignored) is accepted.
    pub fn allows(&self, content_type: &str) -> bool {
        let essence = essence(content_type);
        self.content_types.is_empty()
            || self
                .content_types
                .iter()
                .any(|allowed| match allowed.strip_suffix("/*") {
                    Some(top) => essence
                        .split_once('/')
                        .is_some_and(|(t, sub)| t == top && !sub.is_empty()),
                    None => *allowed == essence,
                })
    }
}

/// A content type without parameters, lowercase.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// What the uploader says about the file before sending it. The name and content type are
/// needed; a declared size narrows the size range S3 accepts to exactly that size, and a
/// declared SHA-256 makes S3 refuse other bytes and lets the item record the checksum.
///
/// ```
/// use dynox_s3::DeclaredFile;
///
/// let file = DeclaredFile::new("scan.pdf", "application/pdf")
///     .size(52_431)
///     .sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// assert_eq!(file.file_name(), "scan.pdf");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredFile {
    pub(super) file_name: String,
    pub(super) content_type: String,
    pub(super) size: Option<u64>,
    pub(super) sha256: Option<String>,
}

impl DeclaredFile {
    /// A file named `file_name` (the last segment of its object key) of `content_type`.
    pub fn new(file_name: impl Into<String>, content_type: impl Into<String>) -> Self {
        Self {
            file_name: file_name.into(),
            content_type: content_type.into(),
            size: None,
            sha256: None,
        }
    }

    /// Its exact size in bytes.
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// Its SHA-256, base64 as S3 writes checksums (a browser: `crypto.subtle.digest`).
    pub fn sha256(mut self, base64: impl Into<String>) -> Self {
        self.sha256 = Some(base64.into());
        self
    }

    /// The file name.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
}

/// Whether `text` is the base64 of 32 bytes.
pub(super) fn is_sha256_base64(text: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .is_ok_and(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_exactly_or_by_top_level_type() {
        let rules = UploadRules::new(10).content_types(["Application/PDF", "image/*"]);
        assert!(rules.allows("application/pdf"));
        assert!(rules.allows("application/pdf; charset=binary"));
        assert!(rules.allows("image/png"));
        assert!(!rules.allows("image/"));
        assert!(!rules.allows("image"));
        assert!(!rules.allows("application/pdfx"));
        assert!(!rules.allows("text/html"));
        assert!(UploadRules::new(10).allows("anything/at-all"));
    }
}
