//! Benchmarks of dynox (see `BENCHMARKS.md` at the repository root and `scripts/bench`).
//!
//! The library half holds what the criterion bench and the `dynox-bench` binary share: the
//! benchmark model and its hand-written conversion ([`model`]), and the measuring helpers
//! ([`measure`]).

#![warn(missing_docs)]

pub mod measure;
pub mod model;
