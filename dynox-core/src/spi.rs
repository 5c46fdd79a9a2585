//! The service-provider interface for companion crates: what a crate that stores file
//! content outside DynamoDB implements (`dynox-s3` for `#[s3]` fields).
//!
//! Application code does not use this module. A model's file fields name their store through
//! [`Model::Files`](crate::Model::Files): [`NoFiles`] for models without file fields, or a
//! companion crate's [`FileStore`]. dynox-core runs the two-store protocol (the order of the
//! steps, the rollback after a failed write, every error the caller sees); a store only
//! uploads, reads references out of items, and deletes objects when told to.
//!
//! [`FileRef`] and [`ObjectRef`] also appear in [`Error`](crate::Error) (objects left behind)
//! and are re-exported at the crate root.
//!
//! ```
//! use dynox_core::spi::{FileRef, ObjectRef};
//!
//! let left = FileRef { field: "scan", object: ObjectRef::new("docs", "invoices/a.pdf") };
//! assert_eq!(left.to_string(), "scan: s3://docs/invoices/a.pdf");
//! ```

pub use crate::files::{BoxFuture, FileStore, NoFiles, UploadFailure, Uploads, OVERFLOW_KEY};
pub use crate::reference::{FileRef, ObjectRef};
