//! [`S3Settings`]: per-client options of file fields, and the S3 clients built from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_types::region::Region;
use aws_types::service_config::ServiceConfigKey;
use aws_types::SdkConfig;
use dynox_core::__private::CountAttempts;

/// Options for file fields, given to a dynox client with
/// `Client::builder(&config).s3(S3Settings::default()...)`. Without them, defaults apply.
///
/// Only the settings value itself is accepted; a wrapper the client would never look up does
/// not compile:
///
/// ```compile_fail
/// # fn demo(config: &aws_types::SdkConfig) {
/// let client = dynox_core::Client::builder(config)
///     .s3(std::sync::Arc::new(dynox_s3::S3Settings::default())) // not the settings
///     .build();
/// # }
/// ```
///
/// ```
/// use dynox_s3::S3Settings;
///
/// let settings = S3Settings::default()
///     .multipart_threshold(16 * 1024 * 1024)
///     .part_size(8 * 1024 * 1024)
///     .concurrency(4)
///     .bucket("company-docs", "company-docs-staging"); // per-environment bucket
/// # fn demo(config: &aws_types::SdkConfig, settings: dynox_s3::S3Settings) {
/// let client = dynox_core::Client::builder(config).s3(settings).build();
/// # }
/// ```
#[derive(Clone)]
pub struct S3Settings {
    pub(crate) multipart_threshold: u64,
    pub(crate) part_size: u64,
    pub(crate) concurrency: usize,
    pub(crate) buckets: HashMap<String, String>,
    pub(crate) client: Option<aws_sdk_s3::Client>,
    pub(crate) named: HashMap<String, aws_sdk_s3::Client>,
    pub(crate) path_style: Option<bool>,
    pub(crate) retain: std::time::Duration,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("buckets", &self.buckets)
            .field("custom_client", &self.client.is_some())
            .field("named_clients", &{
                let mut names: Vec<&String> = self.named.keys().collect();
                names.sort();
                names
            })
            .field("path_style", &self.path_style)
            .field("retain", &self.retain)
            .finish()
    }
}

impl dynox_core::Extension for S3Settings {}
impl dynox_core::FileSettings for S3Settings {}
impl dynox_core::Extension for Runtime {}

/// S3's smallest part size (except the last part).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part size.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's largest number of parts.
pub const MAX_PARTS: u64 = 10_000;
/// S3's largest object.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            multipart_threshold: 10 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
            concurrency: 4,
            buckets: HashMap::new(),
            client: None,
            named: HashMap::new(),
            path_style: None,
            retain: std::time::Duration::ZERO,
        }
    }
}

impl S3Settings {
    /// Files larger than this go by multipart upload (default 10 MiB). Smaller files are
    /// sent in one PutObject, buffered in memory up to this size.
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes.max(1);
        self
    }

    /// The size of multipart parts (default 8 MiB, at least 5 MiB). It grows as needed to
    /// stay within 10,000 parts.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
        self
    }

    /// How many parts are uploaded or downloaded at once (default 4). Memory in use is about
    /// part size × concurrency, whatever the file size.
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// How long a file stays readable after a committed write stopped referencing it (a save
    /// that replaced it or cleared it with `delete_cleared_files`, a delete of its item, a
    /// transaction doing either; overflow values a save or update replaced too; a cleared
    /// file that is kept is never deleted anyway), for every file field that sets no
    /// `#[s3(retain = "...")]` of its own. Default: none, the object is deleted right after
    /// the commit.
    ///
    /// Without a retention, a reader that read the item a moment before (an eventually
    /// consistent query, a presigned link already handed to a browser) gets `NoSuchKey`. With
    /// one, the object stays until the retention has passed and the [sweep](crate::sweep())
    /// deletes it: set it to at least your presigned links' lifetime and your readers' longest
    /// read. It costs one empty PutObject (the retention mark) in place of the DeleteObject,
    /// and the storage of the old objects until a sweep runs after the retention.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dynox_s3::S3Settings;
    ///
    /// // Links are presigned for 15 minutes: replaced files outlive them.
    /// let settings = S3Settings::default().retain(Duration::from_secs(20 * 60));
    /// ```
    pub fn retain(mut self, retention: std::time::Duration) -> Self {
        self.retain = retention;
        self
    }

    /// Use bucket `actual` wherever a field declares bucket `declared` (per-environment
    /// buckets: the declared name is the default).
    pub fn bucket(mut self, declared: impl Into<String>, actual: impl Into<String>) -> Self {
        self.buckets.insert(declared.into(), actual.into());
        self
    }

    /// Use this S3 client instead of one built from the dynox client's `SdkConfig` (custom
    /// interceptors, HTTP client or credentials). Fields with a `region` still get their own
    /// client, built from its configuration with the region changed. Against a local
    /// endpoint (an explicit endpoint URL in the `SdkConfig`, or [`path_style`](Self::path_style))
    /// it is switched to path-style requests, as the client dynox builds is. dynox sends
    /// through a copy of it (same connection pool) with one interceptor of its own added,
    /// which counts the SDK's attempts of the requests whose failure it must judge.
    pub fn s3_client(mut self, client: aws_sdk_s3::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Registers an S3 client under `name`, for the file fields that name it with
    /// `#[s3(client = "name")]`: other credentials, another account, another endpoint. Every
    /// request for such a field's objects (upload, download, presigned link, delete, sweep)
    /// uses it; the item records the name, so a loaded file downloads with it too. A field
    /// whose client is not registered fails with [`S3Error::UnknownClient`](crate::S3Error::UnknownClient),
    /// naming it, before any request. Against a local endpoint it is switched to path-style
    /// requests, and it gets dynox's attempt-counting interceptor, as
    /// [`s3_client`](Self::s3_client) does.
    ///
    /// ```
    /// # fn demo(archive_config: &aws_types::SdkConfig) {
    /// use dynox_s3::S3Settings;
    ///
    /// let archive = aws_sdk_s3::Client::new(archive_config); // another account's credentials
    /// let settings = S3Settings::default().named_client("archive", archive);
    /// # let _ = settings;
    /// # }
    /// ```
    pub fn named_client(mut self, name: impl Into<String>, client: aws_sdk_s3::Client) -> Self {
        self.named.insert(name.into(), client);
        self
    }

    /// Force path-style (`endpoint/bucket/key`) addressing on or off. By default it is on
    /// exactly when the configuration has an explicit S3 endpoint (local servers).
    pub fn path_style(mut self, path_style: bool) -> Self {
        self.path_style = Some(path_style);
        self
    }
}

/// The per-client state of dynox-s3: settings and an S3 client per region.
pub(crate) struct Runtime {
    pub(crate) settings: S3Settings,
    base: aws_sdk_s3::Client,
    /// The named clients, addressed as the base client is.
    named: HashMap<String, aws_sdk_s3::Client>,
    /// Clients for other regions, by (client name, region).
    by_region: Mutex<HashMap<(Option<String>, String), aws_sdk_s3::Client>>,
}

impl Runtime {
    pub(crate) fn of(client: &dynox_core::Client) -> Arc<Runtime> {
        client.extension(|c| {
            let settings = c.extension(|_| S3Settings::default()).as_ref().clone();
            Runtime::new(settings, c.sdk_config())
        })
    }

    fn new(settings: S3Settings, sdk_config: &SdkConfig) -> Self {
        let path_style = settings
            .path_style
            .unwrap_or_else(|| has_explicit_endpoint(sdk_config));
        // A custom client gets the same addressing as one dynox builds (a local endpoint
        // needs path-style requests whoever built the client), and the interceptor that
        // counts the attempts of the requests dynox judges (`Attempts`).
        let finish = |config: aws_sdk_s3::config::Builder| {
            let config = if path_style {
                config.force_path_style(true)
            } else {
                config
            };
            aws_sdk_s3::Client::from_conf(config.interceptor(CountAttempts).build())
        };
        let addressed = |client: &aws_sdk_s3::Client| finish(client.config().to_builder());
        let base = match &settings.client {
            Some(client) => addressed(client),
            None => {
                finish(aws_sdk_s3::config::Builder::from(sdk_config).force_path_style(path_style))
            }
        };
        let named = settings
            .named
            .iter()
            .map(|(name, client)| (name.clone(), addressed(client)))
            .collect();
        Self {
            settings,
            base,
            named,
            by_region: Mutex::new(HashMap::new()),
        }
    }

    /// The default S3 client for `region` (the configuration's region when `None`).
    pub(crate) fn client(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        self.in_region(None, &self.base, region)
    }

    /// The S3 client registered as `name` (the default client when `None`) for `region`.
    pub(crate) fn client_named(
        &self,
        name: Option<&str>,
        region: Option<&str>,
    ) -> Result<aws_sdk_s3::Client, crate::S3Error> {
        let Some(name) = name else {
            return Ok(self.client(region));
        };
        let client = self
            .named
            .get(name)
            .ok_or_else(|| crate::S3Error::UnknownClient {
                name: name.to_owned(),
            })?;
        Ok(self.in_region(Some(name), client, region))
    }

    fn in_region(
        &self,
        name: Option<&str>,
        client: &aws_sdk_s3::Client,
        region: Option<&str>,
    ) -> aws_sdk_s3::Client {
        let Some(region) = region else {
            return client.clone();
        };
        if client.config().region().map(Region::as_ref) == Some(region) {
            return client.clone();
        }
        let mut clients = self
            .by_region
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry((name.map(str::to_owned), region.to_owned()))
            .or_insert_with(|| {
                let config = client
                    .config()
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .clone()
    }

    /// The bucket to use for a field declaring `declared`.
    pub(crate) fn bucket<'a>(&'a self, declared: &'a str) -> &'a str {
        self.settings
            .buckets
            .get(declared)
            .map_or(declared, String::as_str)
    }
}

fn has_explicit_endpoint(config: &SdkConfig) -> bool {
    if config.endpoint_url().is_some() {
        return true;
    }
    let key = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    match (config.service_config(), key) {
        (Some(service_config), Ok(key)) => service_config.load_config(key).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_10_mib_go_by_multipart_by_default() {
        let settings = S3Settings::default();
        assert_eq!(settings.multipart_threshold, 10 * 1024 * 1024);
        assert_eq!(
            S3Settings::default()
                .multipart_threshold(0)
                .multipart_threshold,
            1
        );
    }
}
