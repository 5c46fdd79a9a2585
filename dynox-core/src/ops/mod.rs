//! The operations: one module per family. Each is a builder that is awaited directly
//! (`IntoFuture`), so options chain before the request is sent.

pub(crate) mod backfill;
pub(crate) mod batch;
pub(crate) mod delete;
pub(crate) mod get;
pub(crate) mod query;
pub(crate) mod read;
pub(crate) mod references;
pub(crate) mod save;
pub(crate) mod save_all;
pub(crate) mod scan;
pub(crate) mod transact_get;
pub(crate) mod transact_write;
pub(crate) mod update;

pub(crate) use crate::inflate::{inflate, inflate_all, key_text};
pub(crate) use crate::request::{field_error, random, sdk_error, span, Traced};
