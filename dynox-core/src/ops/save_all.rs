//! `save_all` and `delete_all`: many items, at most `concurrency` operations in flight.
//!
//! Each item goes through the same path as [`Client::save`] / [`Model`] deletes (files and
//! all: uploads, conditional writes, cleanup), so the two-store promise holds per item. One
//! item's failure does not stop the others; the result has one entry per item, in order.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures::stream::{self, StreamExt};
use futures::FutureExt;

use crate::error::Result;
use crate::model::{Key, Model};
use crate::ops::delete::Unversioned;
use crate::Client;

/// Operations in flight at once by default.
pub const BULK_CONCURRENCY: usize = 16;

/// Many saves: [`Client::save_all`]. Await it for one result per item.
#[must_use = "a save does nothing until awaited"]
pub struct SaveAll<'a, M: Model> {
    pub(crate) client: &'a Client,
    pub(crate) items: &'a mut [M],
    pub(crate) concurrency: usize,
}

impl<M: Model> SaveAll<'_, M> {
    /// At most `n` saves in flight at once (at least 1). Each save with large files also
    /// uploads their parts with the S3 settings' own concurrency.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

impl<'a, M: Model> IntoFuture for SaveAll<'a, M> {
    type Output = Vec<Result<()>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Vec<Result<()>>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let SaveAll {
            client,
            items,
            concurrency,
        } = self;
        let saves: Vec<Boxed<'a>> = items
            .iter_mut()
            .map(|item| client.save(item).into_future())
            .collect();
        Box::pin(in_order(saves, concurrency))
    }
}

/// Many deletes: [`Client::delete_all`]. Await it for one result per key.
#[must_use = "a delete does nothing until awaited"]
pub struct DeleteAll<M: Model> {
    pub(crate) client: Client,
    pub(crate) keys: Vec<Key<M>>,
    pub(crate) concurrency: usize,
}

impl<M: Unversioned> DeleteAll<M> {
    /// At most `n` deletes in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

impl<M: Unversioned> IntoFuture for DeleteAll<M> {
    type Output = Vec<Result<()>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Vec<Result<()>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let DeleteAll {
            client,
            keys,
            concurrency,
        } = self;
        let deletes: Vec<Boxed<'static>> = keys
            .into_iter()
            .map(|key| client.delete(key).into_future())
            .collect();
        Box::pin(in_order(deletes, concurrency))
    }
}

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Runs `futures` at most `concurrency` at once (a slow one does not hold back the rest);
/// their outputs in the order given.
async fn in_order(futures: Vec<Boxed<'_>>, concurrency: usize) -> Vec<Result<()>> {
    // Collected, so no iterator closure is held across the await (which would make the
    // future's `Send` bound too general for the compiler to prove).
    let numbered: Vec<_> = futures
        .into_iter()
        .enumerate()
        .map(|(index, future)| future.map(move |output| (index, output)))
        .collect();
    let mut outputs: Vec<(usize, Result<()>)> = stream::iter(numbered)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    outputs.sort_unstable_by_key(|(index, _)| *index);
    outputs.into_iter().map(|(_, output)| output).collect()
}
