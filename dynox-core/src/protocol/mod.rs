//! The two-store protocol: the one engine every write path runs for models whose files live
//! in another store ([`FileStore`](crate::files::FileStore)). Save, create, delete, update,
//! transactions and `save_all`/`delete_all` all go through these steps; the operations
//! (`ops/`) only build and send their request.
//!
//! 1. **plan** (`put.rs`, with `partial.rs` for a save of only what changed, `delete.rs`,
//!    `update.rs`): expect the item's current file
//!    references (`expect.rs`: what the client remembers of it, `memory.rs`; else none, for
//!    an item that looks new; else a consistent read, `read.rs`; `create` expects no item),
//!    upload the pending files under fresh, never reused keys, and build the item and its
//!    condition (`conditions.rs`, after the checks of `guards.rs`): the file attributes (and
//!    version) are the expected ones, so a concurrent writer's objects are never
//!    re-referenced or lost;
//! 2. **write** (`driver.rs`, [`drive`]): send the request; a refusal that shows a remembered
//!    or guessed expectation was stale plans step 1 again from the stored item it carried
//!    back, and writes once more;
//! 3. **judge** a failed write (`driver.rs`, with `failure.rs` and `attempts.rs`): a request
//!    that never reached the server did not commit; a refusal is definite only when no
//!    earlier attempt of the same request can have taken effect; otherwise the stored item
//!    (carried by the failed condition, or read back) tells whether this write committed
//!    after all. The outcome is a [`WriteOutcome`](crate::WriteOutcome);
//! 4. **finish** (`cleanup.rs` and each plan's `finish`): committed, delete the objects the
//!    write replaced or deleted; not committed, delete what step 1 uploaded, undo kept marks
//!    and make the files pending again; unknown, keep everything and say so
//!    ([`Error::CleanupFailed`](crate::Error::CleanupFailed) with
//!    [`WriteOutcome::Unknown`](crate::WriteOutcome::Unknown)).
//!
//! An object is therefore deleted only after the item that stopped referencing it committed,
//! and an item never references an object that was not fully uploaded.

mod attempts;
mod cleanup;
mod conditions;
mod delete;
mod driver;
mod expect;
mod failure;
mod guards;
mod memory;
mod partial;
mod put;
mod read;
mod update;

pub use attempts::{Attempts, CountAttempts};
pub(crate) use cleanup::cleanup_failures;
pub(crate) use conditions::with_user_condition;
pub(crate) use delete::{plan_delete, DeletePlan, DeleteWrite};
pub(crate) use driver::{drive, transaction_item_committed, Request, Write};
pub(crate) use expect::forget;
pub(crate) use failure::{send_counted, Failure};
pub(crate) use memory::Memory;
pub use memory::REMEMBERED_ITEMS;
pub(crate) use partial::Changes;
pub(crate) use put::{plan_put, PutPlan, PutWrite};
pub(crate) use update::{before_update, UpdatePlan};
