//! Steps 2 to 4 for every write path: [`drive`] sends a planned write, plans it again when a
//! refusal shows its expectation was stale, judges a failure ([`judge`]) and hands the one
//! outcome ([`WriteOutcome`]) to the write's own finish. Save, create, delete, update and
//! transactions all run this loop; each brings only its request and its evidence.

use std::future::Future;

use super::read::{read_files, read_item};
use super::{Attempts, Failure};
use crate::error::{Error, Result, WriteOutcome};
use crate::item::Item;
use crate::model::Model;
use crate::Client;

/// A single-item request, as the operation that owns it builds and sends it (`ops/save.rs`,
/// `ops/delete.rs`, `ops/update.rs`): the protocol plans and judges, the operation sends.
pub(crate) trait Request: Sync {
    /// What the request answers when it succeeds (the returned item, if asked for).
    type Answer: Send;

    /// Sends the request once, its attempts counted by `attempts`.
    fn send(
        &self,
        client: &Client,
        attempts: &Attempts,
    ) -> impl Future<Output = std::result::Result<Self::Answer, Failure>> + Send;
}

/// A planned write, as the driver runs it.
pub(crate) trait Write: Sized + Send {
    /// What a refusal carries back (the stored item, or one per item of a transaction).
    type Carried: Send + Sync;
    /// The answer of a request that succeeded.
    type Sent: Send;
    /// What the write returns to its caller.
    type Done: Default + Send;

    /// Sends the write's request once (the SDK may make several attempts, which `attempts`
    /// counts), as `Failure` when it fails.
    fn send(
        &self,
        client: &Client,
        attempts: &Attempts,
    ) -> impl Future<Output = std::result::Result<Self::Sent, Failure<Self::Carried>>> + Send;

    /// After a refusal: the stored item to plan again from (`Some(None)`: there is none),
    /// when the refusal was the fault of an expectation that was remembered or guessed, not
    /// read. `None`: the refusal stands, or this write cannot be planned again.
    fn stale(
        &self,
        client: &Client,
        failure: &Failure<Self::Carried>,
    ) -> impl Future<Output = Option<Option<Item>>> + Send {
        let _ = (client, failure);
        async { None }
    }

    /// Plans the write again from the stored item `stored` that [`stale`](Self::stale)
    /// found; `None` when nothing is left to write.
    fn rebase(
        self,
        client: &Client,
        stored: Option<Item>,
    ) -> impl Future<Output = Result<Option<Self>>> + Send {
        let _ = (client, stored);
        async { Ok(Some(self)) }
    }

    /// The error of a failed write, in this write's terms (a failed condition of dynox's
    /// own is a version conflict, of a `create` an existing item, ...).
    fn write_error(&self, error: Error) -> Error {
        error
    }

    /// Whether the write took effect after all, as the stored item tells (carried back by a
    /// refusal, or read back); `None` when that cannot tell.
    fn committed(
        &self,
        client: &Client,
        failure: &Failure<Self::Carried>,
    ) -> impl Future<Output = Option<bool>> + Send;

    /// Whether the write moves objects, so that not knowing its fate must keep and name
    /// them rather than take it as not committed.
    fn tracks_files(&self) -> bool;

    /// Step 4, given the write's outcome and the answer (`Err`: the error of a write whose
    /// request failed, whatever its outcome).
    fn finish(
        self,
        client: &Client,
        outcome: WriteOutcome,
        answer: std::result::Result<Self::Sent, Error>,
    ) -> impl Future<Output = Result<Self::Done>> + Send;
}

/// Inside `impl Write for` a wrapper of a single-item plan (`self.plan`: [`PutWrite`],
/// [`DeleteWrite`]): the steps that are the plan's own, forwarded to it.
///
/// [`PutWrite`]: super::PutWrite
/// [`DeleteWrite`]: super::DeleteWrite
macro_rules! forward_to_plan {
    () => {
        async fn send(
            &self,
            client: &Client,
            attempts: &Attempts,
        ) -> std::result::Result<Self::Sent, Failure> {
            self.plan.send(client, attempts).await
        }

        async fn stale(&self, client: &Client, failure: &Failure) -> Option<Option<Item>> {
            self.plan.stale(client, failure).await
        }

        fn write_error(&self, error: Error) -> Error {
            self.plan.write_error(error)
        }

        async fn committed(&self, client: &Client, failure: &Failure) -> Option<bool> {
            super::driver::item_committed(&self.plan, client, failure).await
        }

        fn tracks_files(&self) -> bool {
            self.plan.tracks_files()
        }
    };
}
pub(crate) use forward_to_plan;

/// Runs a planned write to its end: send, plan again while a refusal shows a stale
/// expectation, judge a failure, finish.
pub(crate) async fn drive<W: Write>(client: &Client, mut write: W) -> Result<W::Done> {
    loop {
        let attempts = Attempts::default();
        let failure = match write.send(client, &attempts).await {
            Ok(sent) => {
                return write
                    .finish(client, WriteOutcome::Committed, Ok(sent))
                    .await
            }
            Err(failure) => failure,
        };
        if let Some(stored) = write.stale(client, &failure).await {
            match write.rebase(client, stored).await? {
                Some(again) => {
                    write = again;
                    continue;
                }
                None => return Ok(W::Done::default()),
            }
        }
        let outcome = judge(&write, client, &failure).await;
        let error = write.write_error(failure.error);
        return write.finish(client, outcome, Err(error)).await;
    }
}

/// Step 3: what became of a write whose request failed. A request that never reached the
/// server did not commit; a refusal of the only attempt is definite; anything else (a
/// refusal after an SDK retry, which its own commit may have caused, a lost or failed
/// answer) is judged by the stored item, and is unknown when that cannot tell and the write
/// moves objects.
pub(crate) async fn judge<W: Write>(
    write: &W,
    client: &Client,
    failure: &Failure<W::Carried>,
) -> WriteOutcome {
    if !failure.reached || (failure.refused.is_some() && !failure.retried) {
        return WriteOutcome::NotCommitted;
    }
    match write.committed(client, failure).await {
        Some(true) => WriteOutcome::Committed,
        Some(false) => WriteOutcome::NotCommitted,
        None if write.tracks_files() => WriteOutcome::Unknown,
        None => WriteOutcome::NotCommitted,
    }
}

/// What one item can tell about whether a write of it committed.
pub(crate) trait Evidence: Sync {
    /// Whether the stored item `stored` is this write's result.
    fn holds_this_write(&self, stored: &Item) -> bool;

    /// Reads the item back: `Some(committed)`, or `None` if the read failed or cannot tell
    /// (`may_have_retried` false: no earlier attempt can have taken effect).
    fn read_back(
        &self,
        client: &Client,
        may_have_retried: bool,
    ) -> impl Future<Output = Option<bool>> + Send;
}

/// Whether a single-item write committed: the stored item a refusal of an SDK retry carried
/// back tells; otherwise the item read back.
pub(crate) async fn item_committed(
    evidence: &impl Evidence,
    client: &Client,
    failure: &Failure,
) -> Option<bool> {
    match &failure.refused {
        Some(Some(stored)) => Some(evidence.holds_this_write(stored)),
        _ => evidence.read_back(client, failure.retried).await,
    }
}

/// Whether one item of a transaction shows that the transaction committed: from `refused`,
/// the stored item its cancellation reason carried, or else by reading it back.
pub(crate) async fn transaction_item_committed(
    evidence: &impl Evidence,
    client: &Client,
    refused: Option<&Item>,
) -> Option<bool> {
    match refused {
        Some(stored) => Some(evidence.holds_this_write(stored)),
        None => evidence.read_back(client, true).await,
    }
}

/// Reads back the item `key_item` of `table` (only its file attributes when `files_only`).
pub(crate) async fn read_back<M: Model>(
    client: &Client,
    table: &str,
    key_item: &Item,
    key: &str,
    files_only: bool,
) -> Option<Option<Item>> {
    let read = match files_only {
        true => read_files::<M>(client, table, key_item, key).await,
        false => read_item(client, table, key_item, key).await,
    };
    read.ok()
}
