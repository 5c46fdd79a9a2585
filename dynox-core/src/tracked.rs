//! [`Tracked`]: an item together with the state it was loaded in, so that
//! [`Client::save_changes`](crate::Client::save_changes) writes only what changed.

use std::ops::{Deref, DerefMut};

use crate::item::Item;
use crate::model::Model;
use crate::protocol::Changes;

/// An item of model `M` with the attributes it had when it was loaded (or last saved), so
/// that [`Client::save_changes`](crate::Client::save_changes) writes only the attributes that
/// changed since (an UpdateItem with `SET` and `REMOVE`) instead of the whole item.
///
/// Wrap an item right after reading it; use it as the item itself (it dereferences to `M`).
/// Two writers that change different fields of the same item then both keep their change,
/// where two whole-item saves would have the second overwrite the first (a model with
/// `#[dynamo(version)]` refuses the second with a version conflict instead). Attributes the
/// model does not know (written by another application) are left as they are.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel, Tracked};
/// # #[derive(DynamoModel)] #[dynamo(table = "docs")]
/// # struct Doc { #[dynamo(hash_key)] id: String, title: String, views: u64 }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let Some(doc) = client.get(Doc::key_of("d1")).await? else { return Ok(()) };
/// let mut doc = Tracked::new(doc);
/// doc.title = "Renamed".into();
/// assert_eq!(doc.changed(), ["title"]);
/// client.save_changes(&mut doc).await?; // UpdateItem: SET title
/// # Ok(()) }
/// ```
pub struct Tracked<M: Model> {
    pub(crate) item: M,
    /// The item's attributes as loaded or last saved; `None` when they could not be
    /// converted (`save_changes` then refuses it: what changed cannot be told).
    pub(crate) loaded: Option<Item>,
}

impl<M: Model> Tracked<M> {
    /// Tracks `item` from its current state: wrap an item just read from the table (a
    /// [`get`](crate::Client::get), a query or scan page), so that what it holds now is
    /// what is stored.
    ///
    /// ```
    /// # use dynox_core::{DynamoModel, Tracked};
    /// # #[derive(DynamoModel)] #[dynamo(table = "docs")]
    /// # struct Doc { #[dynamo(hash_key)] id: String, title: String }
    /// let mut doc = Tracked::new(Doc { id: "d1".into(), title: "Draft".into() });
    /// assert!(doc.changed().is_empty());
    /// doc.title = "Final".into();
    /// assert_eq!(doc.changed(), ["title"]);
    /// ```
    pub fn new(item: M) -> Self {
        let loaded = item.to_item().ok();
        Self { item, loaded }
    }

    /// The names of the attributes that changed since the item was loaded or last saved,
    /// sorted (set or removed): what [`save_changes`](crate::Client::save_changes) writes,
    /// with `updated_at` and the version where the model has them. Empty when nothing
    /// changed, and when the item cannot be converted (a file not uploaded yet); every
    /// attribute of the item when its loaded state is unknown.
    pub fn changed(&self) -> Vec<String> {
        let Ok(now) = self.item.to_item() else {
            return Vec::new();
        };
        match &self.loaded {
            Some(loaded) => {
                let changes = Changes::between(loaded, &now);
                let mut names = changes.set;
                names.extend(changes.remove);
                names.sort_unstable();
                names
            }
            None => {
                let mut names: Vec<String> = now.into_keys().collect();
                names.sort_unstable();
                names
            }
        }
    }

    /// The item, no longer tracked.
    pub fn into_inner(self) -> M {
        self.item
    }
}

impl<M: Model> From<M> for Tracked<M> {
    fn from(item: M) -> Self {
        Self::new(item)
    }
}

impl<M: Model> Deref for Tracked<M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.item
    }
}

impl<M: Model> DerefMut for Tracked<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.item
    }
}

impl<M: Model + std::fmt::Debug> std::fmt::Debug for Tracked<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("item", &self.item)
            .field("changed", &self.changed())
            .finish()
    }
}

impl<M: Model + Clone> Clone for Tracked<M> {
    fn clone(&self) -> Self {
        Self {
            item: self.item.clone(),
            loaded: self.loaded.clone(),
        }
    }
}
