//! # dynox-streams: files follow their items, whoever removes them
//!
//! Part of [dynox](https://docs.rs/dynox): depend on the `dynox` crate with its `streams`
//! feature (`lambda` for the handler), which re-exports this crate as `dynox::streams`.
//!
//! dynox's own writes keep DynamoDB and S3 consistent. Items also leave by roads dynox never
//! sees: DynamoDB's time to live expires them, an operator deletes them in the console,
//! another service deletes or overwrites them with the raw SDK. This crate consumes the
//! table's DynamoDB stream and runs the file cascade ([`dynox_s3::cascade()`]) on every
//! record: the objects an item's old image referenced and its new image does not are
//! deleted, except shared (content-addressed) objects, files the user chose to keep, and
//! objects another model stored. Each record gets a report (deleted, skipped with the
//! reason, failed); time-to-live expiries are told apart.
//!
//! - [`Poller`]: a long-running consumer over the Streams API (shards followed by lineage,
//!   per-shard checkpoints, a failed record retried before the shard moves on).
//! - [`lambda::handle`] (feature `lambda`): the cascade as an AWS Lambda handler with partial
//!   batch failures; `examples/stream_cascade_lambda.rs` is a deployable function.
//! - [`change_record`]: a Streams API record as a [`ChangeRecord`], which
//!   [`StreamRecord<M>`](dynox_core::stream::StreamRecord) decodes into the model for your
//!   own handlers.
//!
//! The table's stream must carry old images:
//! `client.create_table::<M>().stream(StreamView::NewAndOldImages)`.
//!
//! [`ChangeRecord`]: dynox_core::stream::ChangeRecord

#![warn(missing_docs)]

mod convert;
mod error;
#[cfg(feature = "lambda")]
pub mod lambda;
mod poller;

pub use convert::{change_record, value};
pub use error::StreamError;
pub use poller::{Checkpoints, DrainReport, FileCheckpoints, MemoryCheckpoints, Poller};
