//! Step 2: every object the table references, read by core's file-reference scan (the key
//! and file attributes only, consistent, in parallel segments), into a sorted spill (memory
//! bounded whatever the table's size).

use dynox_core::Client;
use futures::TryStreamExt;

use super::listing::lookup;
use super::spill::{Sorted, Spill};
use super::SweepError;
use crate::store::{S3Files, S3Model};

/// The objects the items of the table reference.
pub(super) struct References {
    /// `bucket\0key` of every referenced object, sorted.
    pub objects: Sorted,
    /// Items read.
    pub items: u64,
}

/// Reads every item's file references; an item whose file attribute cannot be read stops the
/// sweep (its object could not be told apart from an orphan).
pub(super) async fn collect<M: S3Model>(
    client: &Client,
    segments: u32,
    memory: usize,
) -> Result<References, SweepError> {
    let mut stream = dynox_core::__private::file_references::<M, S3Files<M>>(client, segments);
    let mut objects = Spill::new(memory);
    let mut items = 0;
    while let Some(files) = stream.try_next().await? {
        items += 1;
        for file in files {
            objects.push(lookup(&file.object.bucket, &file.object.key))?;
        }
    }
    Ok(References {
        objects: objects.into_sorted()?,
        items,
    })
}
