//! Step 1's first question: what does the write expect the stored item's file references
//! (and version) to be? And, after a refusal, was that expectation stale (plan again from the
//! stored item) or does the refusal stand?

use super::memory;
use super::partial::only;
use super::read::read_files;
use super::Failure;
use crate::error::Result;
use crate::files::FileStore;
use crate::item::Item;
use crate::model::{Key, Model};
use crate::Client;

/// What a write expects the stored item's file references (and version) to be: the
/// condition it is sent with.
pub(crate) enum Expected {
    /// Read from the server for this write, or carried back by its refused condition:
    /// certain at the time (`None`: no item).
    Observed(Option<Item>),
    /// The file state the client remembers from its last read or write of the item.
    Remembered(Item),
    /// Nothing known, and the item looks new (version 0, no stored file): no files. (An
    /// item that holds a stored file, or a version, was loaded: its references are read.)
    Guessed,
}

impl Expected {
    /// The expectation of a write of the item `key_item` of `table`: what the client
    /// remembers, when it agrees with the `version` the caller expects; else a guess, or a
    /// read when `read` (transactions: a refused one cannot be planned again).
    pub(crate) async fn of<M: Model>(
        client: &Client,
        table: &str,
        key_item: &Item,
        key: &str,
        version: u64,
        read: bool,
    ) -> Result<Self> {
        if read {
            return Ok(Expected::Observed(
                read_files::<M>(client, table, key_item, key).await?,
            ));
        }
        let remembered = memory::item_id::<M>(table, key_item)
            .and_then(|id| client.memory().recall(&id))
            .filter(|state| memory::version_of::<M>(Some(state)) == version);
        Ok(match remembered {
            Some(state) => Expected::Remembered(state),
            None if version == 0 => Expected::Guessed,
            None => Expected::Observed(read_files::<M>(client, table, key_item, key).await?),
        })
    }

    /// Whether the expectation came from the server for this write: a refusal then is
    /// the caller's (version, condition) or a concurrent writer's, never a wrong guess.
    pub(crate) fn observed(&self) -> bool {
        matches!(self, Expected::Observed(_))
    }

    /// The stored file state expected (`None`: no item). A guess expects an item without
    /// files: one that holds a stored file is then "foreign", and its references are read.
    pub(crate) fn into_state(self) -> Option<Item> {
        match self {
            Expected::Observed(current) => current,
            Expected::Remembered(state) => Some(state),
            Expected::Guessed => Some(Item::new()),
        }
    }
}

/// The stored item after `failure`, for a write whose expectation may be stale: the item its
/// refusal carried back (`None` if the failure is no refusal, or the item is `own`: this
/// write's own commit), or, when none was carried, read (`Some(None)`: there is no item).
/// `None` also when an SDK retry was refused without an item: an earlier attempt may have
/// committed, which the judge finds out.
pub(crate) async fn stored_after_refusal<M: Model>(
    client: &Client,
    key_item: &Item,
    table: &str,
    key: &str,
    failure: &Failure,
    own: impl Fn(&Item) -> bool,
) -> Option<Option<Item>> {
    match failure.refused.as_ref()? {
        Some(stored) if own(stored) => None,
        Some(stored) => Some(Some(stored.clone())),
        None if failure.retried => None,
        // No item, or a server that does not carry it back.
        None => read_files::<M>(client, table, key_item, key).await.ok(),
    }
}

/// `Some(stored)` when the expectation `expected` was stale: `stored`'s file references
/// (all of them, or only those of `fields`: the file fields a partial save writes) differ
/// from it while the version is the expected one (`same_version`); a different version is
/// the caller's conflict, not a stale memory.
pub(crate) fn stale_files<M: Model>(
    expected: Option<&Item>,
    stored: Option<Item>,
    same_version: bool,
    fields: Option<&[&str]>,
) -> Option<Option<Item>> {
    let files_differ = match fields {
        None => !memory::same_files::<M>(expected, stored.as_ref()),
        Some(fields) => {
            let expected = only(expected, fields);
            !memory::same_files::<M>(expected.as_ref(), only(stored.as_ref(), fields).as_ref())
        }
    };
    (files_differ && same_version).then_some(stored)
}

/// Forgets what `client` remembers of the item `key` of `table` (before a write that does
/// not go through a plan: an update).
pub(crate) fn forget<M: Model>(client: &Client, table: &str, key: &Key<M>) {
    if !M::Files::ENABLED {
        return;
    }
    if let Some(id) = key
        .to_item()
        .ok()
        .and_then(|k| memory::item_id::<M>(table, &k))
    {
        client.memory().forget(&id);
    }
}

/// Records the stored file state `stored` (or its absence) as what `client` knows of the item
/// `key_item` of `table`.
pub(crate) fn remember<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    stored: Option<&Item>,
) {
    if let Some(id) = memory::item_id::<M>(table, key_item) {
        match stored {
            Some(stored) => client
                .memory()
                .remember(id, memory::file_state::<M>(stored)),
            None => client.memory().forget(&id),
        }
    }
}
