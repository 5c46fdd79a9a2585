//! SHA-256 of file contents, computed while bytes stream through.
//!
//! SHA-256 rather than a CRC: the recorded checksum is a fingerprint of the content the item
//! refers to, so it must not collide for different content (a CRC only detects accidental
//! corruption); S3 verifies it natively (`x-amz-checksum-sha256`); and hardware SHA extensions
//! make it fast enough not to limit multi-gigabyte transfers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A running SHA-256.
#[derive(Default, Clone)]
pub(crate) struct Hasher(Sha256);

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest, base64-encoded as S3 expects it.
    pub(crate) fn finish(self) -> String {
        STANDARD.encode(self.0.finalize())
    }
}

/// The base64 SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> String {
    let mut h = Hasher::default();
    h.update(data);
    h.finish()
}

/// The base64 CRC32 (big-endian, as S3's `x-amz-checksum-crc32` carries it) of a running
/// [`crc32fast::Hasher`].
pub(crate) fn crc32_header(crc: crc32fast::Hasher) -> String {
    STANDARD.encode(crc.finalize().to_be_bytes())
}

/// The base64 CRC32 of `data`, as S3 carries it.
pub(crate) fn crc32(data: &[u8]) -> String {
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    crc32_header(crc)
}
