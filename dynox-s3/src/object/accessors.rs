//! The accessors of [`S3Object`]: one per piece of a file's metadata, read from the item
//! (no S3 request), or from the pending file for what is known before its upload.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::S3Object;

impl S3Object {
    /// The file name: given at creation (or taken from the path), and kept in the item.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// assert_eq!(S3Object::from_path("/tmp/scans/page 1.png").file_name(), "page 1.png");
    /// ```
    pub fn file_name(&self) -> &str {
        match self.state.record() {
            Ok(s) => &s.file_name,
            Err(p) => &p.file_name,
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
        match self.state.record() {
            Ok(s) => Some(&s.content_type),
            Err(p) => p.content_type.as_deref(),
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
        match self.state.record() {
            Ok(s) => Some(s.size),
            Err(p) => p.source.size(),
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
    /// second, as S3 dates objects
    /// ([`StoredObject::last_modified`](crate::StoredObject::last_modified) has the details).
    /// `None` while pending, and for an item that records no time (or one not in RFC 3339).
    /// In the item it is an RFC 3339 string. See the [example above](Self#metadata).
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
        match self.state.record() {
            Ok(s) => &s.metadata,
            Err(p) => &p.metadata,
        }
    }

    /// The base64 CRC-64/NVME of the content (before any compression), computed while
    /// uploading; S3 checked it when the bytes arrived and every full download checks it.
    /// `None` while pending, for items written before it was recorded (they verify with
    /// their [`sha256`](Self::sha256)), and for an [`attach`](crate::attach)ed object S3
    /// kept no CRC-64 of.
    ///
    /// ```
    /// use dynox_s3::S3Object;
    ///
    /// let pending = S3Object::from_bytes(b"...".to_vec(), "a.txt");
    /// assert_eq!(pending.crc64nvme(), None);
    /// ```
    pub fn crc64nvme(&self) -> Option<&str> {
        self.stored().and_then(|s| s.crc64nvme.as_deref())
    }

    /// The base64 SHA-256 of the content (before any compression), where it is recorded:
    /// a field with `#[s3(sha256)]` or `shared`, an overflow value, an
    /// [`attach`](crate::attach)ed upload that declared one, or an item written before
    /// CRC-64 was the default. Every full download checks it where recorded.
    pub fn sha256(&self) -> Option<&str> {
        self.stored().and_then(|s| s.sha256.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::super::stored::tests::{jan_1_2026, object};
    use crate::S3Object;

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
        assert_eq!(file.crc64nvme(), Some("Ygx0ps3GAWo="));
        assert_eq!(file.sha256(), None);
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
        assert_eq!(file.crc64nvme(), None);
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
}
