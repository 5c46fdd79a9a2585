//! Hooks: the application's own code around a model's writes and reads, `async` allowed.
//!
//! Put `#[dynamo(hooks)]` on the model and implement [`Hooks`] for it; every method has a
//! default that does nothing, so implement only the ones you need.
//!
//! | hook | runs | an error |
//! |---|---|---|
//! | [`before_save`](Hooks::before_save) | before a save or create (also through `save_all` and in a transaction, where every item's hook runs before any item is validated or uploads), before validation and before anything is uploaded or written; it may change the item | stops the write (the whole transaction): nothing uploaded or written |
//! | [`after_save`](Hooks::after_save) | once the write (the transaction) committed | is returned; the write stays |
//! | [`before_delete`](Hooks::before_delete) | before a delete (by key or item, also through `delete_all` and in a transaction) | stops the delete (the transaction) |
//! | [`after_delete`](Hooks::after_delete) | once the delete call (the transaction) succeeded | is returned; the delete stays |
//! | [`after_load`](Hooks::after_load) | after `get`, `query`, `scan` and `batch_get` decoded the whole model (also as a collection's variant); not for partial types | fails the read |
//!
//! Batch writes (unconditional bulk loading), updates (which change attributes, not a model
//! value) and transactional reads (taken out of the result synchronously) run no hooks.
//!
//! ```no_run
//! use dynox_core::{Client, DynamoModel, Hooks, HookResult};
//!
//! #[derive(DynamoModel)]
//! #[dynamo(table = "articles", hooks)]
//! struct Article {
//!     #[dynamo(hash_key)]
//!     slug: String,
//!     title: String,
//!     words: u32,
//! }
//!
//! impl Hooks for Article {
//!     async fn before_save(&mut self, _client: &Client) -> HookResult {
//!         if self.slug.is_empty() {
//!             self.slug = self.title.to_lowercase().replace(' ', "-");
//!         }
//!         Ok(())
//!     }
//!
//!     async fn after_load(&mut self, _client: &Client) -> HookResult {
//!         tracing::debug!(slug = %self.slug, "article read");
//!         Ok(())
//!     }
//! }
//! ```

use std::future::{ready, Future};

use futures::future::BoxFuture;

use crate::error::{BoxError, Error};
use crate::model::{Key, Model};
use crate::Client;

/// What a hook returns: `Err` stops a `before_*` operation, and is returned by an `after_*`
/// one, as [`Error::Hook`].
pub type HookResult = std::result::Result<(), BoxError>;

/// A model's hooks (`#[dynamo(hooks)]`): see the [module documentation](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `#[dynamo(hooks)]` but does not implement `Hooks`",
    label = "no `Hooks` implementation",
    note = "write `impl Hooks for {Self} {{ ... }}` with the hooks you need (each has a default that does nothing), or remove `hooks`"
)]
pub trait Hooks: Sized + Send + Sync + 'static {
    /// Before a save or create: may change the item.
    fn before_save(&mut self, client: &Client) -> impl Future<Output = HookResult> + Send {
        let _ = client;
        ready(Ok(()))
    }

    /// After a save or create committed.
    fn after_save(&self, client: &Client) -> impl Future<Output = HookResult> + Send {
        let _ = client;
        ready(Ok(()))
    }

    /// Before a delete of the item with `key`.
    fn before_delete(key: &Key<Self>, client: &Client) -> impl Future<Output = HookResult> + Send
    where
        Self: Model,
    {
        let _ = (key, client);
        ready(Ok(()))
    }

    /// After a delete of the item with `key` succeeded.
    fn after_delete(key: &Key<Self>, client: &Client) -> impl Future<Output = HookResult> + Send
    where
        Self: Model,
    {
        let _ = (key, client);
        ready(Ok(()))
    }

    /// After a read decoded the item: may change it.
    fn after_load(&mut self, client: &Client) -> impl Future<Output = HookResult> + Send {
        let _ = client;
        ready(Ok(()))
    }
}

/// The hooks of model `M`, as generated code reaches them: each a boxed future, `None` for a
/// model without hooks (nothing allocated, nothing awaited).
#[doc(hidden)]
pub struct HookFns<M: Model> {
    pub before_save: for<'a> fn(&'a mut M, &'a Client) -> BoxFuture<'a, HookResult>,
    pub after_save: for<'a> fn(&'a M, &'a Client) -> BoxFuture<'a, HookResult>,
    pub before_delete: for<'a> fn(&'a Key<M>, &'a Client) -> BoxFuture<'a, HookResult>,
    pub after_delete: for<'a> fn(&'a Key<M>, &'a Client) -> BoxFuture<'a, HookResult>,
    pub after_load: for<'a> fn(&'a mut M, &'a Client) -> BoxFuture<'a, HookResult>,
}

impl<M: Model + Hooks> HookFns<M> {
    /// The hooks of `M`'s [`Hooks`] implementation.
    pub const fn of() -> Self {
        Self {
            before_save: |item, client| Box::pin(item.before_save(client)),
            after_save: |item, client| Box::pin(item.after_save(client)),
            before_delete: |key, client| Box::pin(M::before_delete(key, client)),
            after_delete: |key, client| Box::pin(M::after_delete(key, client)),
            after_load: |item, client| Box::pin(item.after_load(client)),
        }
    }
}

/// The hooks of `M` (generated code: a missing `impl Hooks` is reported with `Hooks`'s
/// message).
#[doc(hidden)]
pub const fn hook_fns<M: Model + Hooks>() -> HookFns<M> {
    HookFns::of()
}

/// The error of hook `hook` of `T` (a model, or the collection it was read into) on item `key`
/// of `table`.
pub(crate) fn hook_error<T>(
    hook: &'static str,
    table: &str,
    key: String,
    source: BoxError,
) -> Error {
    let model = std::any::type_name::<T>();
    Error::Hook {
        model: model.rsplit("::").next().unwrap_or(model),
        hook,
        table: table.to_owned(),
        key,
        source,
    }
}
