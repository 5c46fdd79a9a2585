//! Presigned GET links: a URL that downloads a stored object without credentials.

use std::time::Duration;

use dynox_core::Client;

use super::presigning;
use crate::error::FromSdk;
use crate::error::S3Error;
use crate::object::StoredObject;
use crate::settings::Runtime;

pub(crate) async fn presigned_get(
    client: &Client,
    object: &StoredObject,
    expires: Duration,
) -> Result<String, S3Error> {
    let config = presigning(expires)?;
    let request = Runtime::of(client)
        .client_named(object.client.as_deref(), object.region.as_deref())?
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        // Stored with `Content-Encoding: gzip` already; asked again so the browser decodes
        // it whatever the stored metadata says. zstd: see `Compression`.
        .set_response_content_encoding(
            (object.encoding == Some(crate::Compression::Gzip)).then(|| "gzip".to_owned()),
        )
        .presigned(config)
        .await
        .map_err(|e| S3Error::from_sdk(e, "GetObject", &object.bucket, &object.key))?;
    Ok(request.uri().to_owned())
}
