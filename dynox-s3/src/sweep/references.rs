//! Step 2: every object the table references, read by core's file-reference scan (the key
//! and file attributes only, consistent, in parallel segments).

use std::collections::HashSet;

use dynox_core::Client;
use futures::TryStreamExt;

use crate::store::{S3Files, S3Model};

/// The objects the items of the table reference.
#[derive(Debug, Default)]
pub(super) struct References {
    /// The (bucket, key) of every referenced object.
    pub objects: HashSet<(String, String)>,
    /// Items read.
    pub items: u64,
}

impl References {
    /// Whether an item references the object at `bucket`/`key`.
    pub fn contains(&self, bucket: &str, key: &str) -> bool {
        self.objects.contains(&(bucket.to_owned(), key.to_owned()))
    }
}

/// Reads every item's file references; an item whose file attribute cannot be read stops the
/// sweep (its object could not be told apart from an orphan).
pub(super) async fn collect<M: S3Model>(
    client: &Client,
    segments: u32,
) -> Result<References, dynox_core::Error> {
    let mut stream = dynox_core::__private::file_references::<M, S3Files<M>>(client, segments);
    let mut references = References::default();
    while let Some(files) = stream.try_next().await? {
        references.items += 1;
        references
            .objects
            .extend(files.into_iter().map(|f| (f.object.bucket, f.object.key)));
    }
    Ok(references)
}
