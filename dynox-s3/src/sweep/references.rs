//! Step 2: every object the table references, read by core's file-reference scan (one scan
//! for every swept model: the key, entity and file attributes only, each item read by the
//! model of its entity type, consistent, in parallel segments), into a sorted spill (memory
//! bounded whatever the table's size).

use dynox_core::Client;
use futures::TryStreamExt;

use super::listing::lookup;
use super::spill::{Sorted, Spill};
use super::SweepError;
use crate::models::{FileModels, Visit};
use crate::store::{S3Files, S3Model};
use dynox_core::__private::ReferenceReader;

/// The objects the items of the table reference.
pub(super) struct References {
    /// `bucket\0key` of every referenced object, sorted.
    pub objects: Sorted,
    /// Items read.
    pub items: u64,
}

/// Reads every item's file references; an item whose file attribute cannot be read stops the
/// sweep (its object could not be told apart from an orphan).
pub(super) async fn collect<T: FileModels>(
    client: &Client,
    segments: u32,
    memory: usize,
) -> Result<References, SweepError> {
    /// Every model's reader of references.
    struct Readers(Vec<ReferenceReader>);
    impl Visit for Readers {
        fn model<M: S3Model>(&mut self) {
            self.0.push(ReferenceReader::of::<M, S3Files<M>>());
        }
    }
    let mut readers = Readers(Vec::new());
    T::visit(&mut readers);
    let table = client.table_name::<T::Table>();
    let mut stream = dynox_core::__private::file_references_of(client, table, readers.0, segments);
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
