//! What a client last saw stored for each item with files: the item's file references and
//! version, as its reads returned them and its writes left them. A save or delete of an item
//! the client remembers writes on condition that the item still holds those references,
//! instead of reading them first; a refused condition carries the stored item back
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) and the write is planned again from it.
//! What is remembered is therefore only ever a guess that saves a request: a wrong one costs
//! the request it was meant to save, never a promise.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use lru::LruCache;

use crate::files::{FileStore, OVERFLOW_KEY};
use crate::item::Item;
use crate::model::Model;

/// Items a client remembers by default ([`ClientBuilder::remembered_items`](crate::ClientBuilder::remembered_items)).
pub const REMEMBERED_ITEMS: usize = 4096;

/// The stored file state of recently read or written items, least recently used first out.
pub(crate) struct Memory {
    items: Option<Mutex<LruCache<String, Item>>>,
}

impl Memory {
    /// A memory of at most `capacity` items (0: none; every save and delete reads first).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, LruCache<String, Item>>> {
        // Entries are whole values: a panic elsewhere cannot leave one half written.
        let items = self.items.as_ref()?;
        Some(
            items
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The file state remembered for `id`, if any.
    pub(crate) fn recall(&self, id: &str) -> Option<Item> {
        self.lock()?.get(id).cloned()
    }

    /// Remembers `state` (from [`file_state`]) for `id`.
    pub(crate) fn remember(&self, id: String, state: Item) {
        if let Some(mut items) = self.lock() {
            items.put(id, state);
        }
    }

    /// Remembers the file state of every item of a page of `M` just read from `table`, under
    /// one lock.
    pub(crate) fn remember_all<M: Model>(&self, table: &str, items: &[Item]) {
        if !M::Files::ENABLED || items.is_empty() {
            return;
        }
        let Some(mut memory) = self.lock() else {
            return;
        };
        for item in items {
            if let Some(id) = item_id::<M>(table, item) {
                memory.put(id, file_state::<M>(item));
            }
        }
    }

    /// Forgets `id`: its stored state is no longer known.
    pub(crate) fn forget(&self, id: &str) {
        if let Some(mut items) = self.lock() {
            items.pop(id);
        }
    }
}

/// The identity of item `item` (holding at least its key attributes) of `table`: the table
/// and the key's typed values. `None` for a key attribute that is missing or of a type no key
/// has.
pub(crate) fn item_id<M: Model>(table: &str, item: &Item) -> Option<String> {
    let mut id = String::with_capacity(table.len() + 48);
    id.push_str(table);
    let range = M::SCHEMA.range.map(|r| r.name);
    for name in std::iter::once(M::SCHEMA.hash.name).chain(range) {
        id.push('\0');
        match item.get(name)? {
            AttributeValue::S(s) => {
                id.push('S');
                id.push_str(s);
            }
            AttributeValue::N(n) => {
                id.push('N');
                id.push_str(n);
            }
            AttributeValue::B(b) => {
                id.push('B');
                for byte in b.as_ref() {
                    id.push_str(&format!("{byte:02x}"));
                }
            }
            _ => return None,
        }
    }
    Some(id)
}

/// The part of a stored item of `M` the protocol conditions on: its file attributes (an
/// overflow field's only when its value is in the store, as its reference) and its version.
pub(crate) fn file_state<M: Model>(item: &Item) -> Item {
    let mut state = Item::new();
    for name in M::Files::attribute_names() {
        let Some(value) = item.get(name) else {
            continue;
        };
        if M::Files::overflow(name) {
            if let AttributeValue::M(map) = value {
                if let Some(reference) = map.get(OVERFLOW_KEY) {
                    let only = [(OVERFLOW_KEY.to_owned(), reference.clone())].into();
                    state.insert(name.to_owned(), AttributeValue::M(only));
                }
            }
        } else {
            state.insert(name.to_owned(), value.clone());
        }
    }
    if let Some(version) = M::VERSION.and_then(|v| Some((v, item.get(v)?))) {
        state.insert(version.0.to_owned(), version.1.clone());
    }
    state
}

/// Whether the file references of `a` and `b` (file states or whole items) are the same;
/// `None` is no item, which holds no files.
pub(crate) fn same_files<M: Model>(a: Option<&Item>, b: Option<&Item>) -> bool {
    let mut a = a.map(file_state::<M>).unwrap_or_default();
    let mut b = b.map(file_state::<M>).unwrap_or_default();
    if let Some(version) = M::VERSION {
        a.remove(version);
        b.remove(version);
    }
    crate::item::same_item(&a, &b)
}

/// The version a stored item (or file state) of `M` is at: 0 when it has none.
pub(crate) fn version_of<M: Model>(item: Option<&Item>) -> u64 {
    M::VERSION
        .and_then(|v| item?.get(v))
        .and_then(|v| v.as_n().ok()?.parse().ok())
        .unwrap_or(0)
}
