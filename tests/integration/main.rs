//! The integration tests of dynox against real DynamoDB- and S3-compatible servers, as one
//! test binary: linking the AWS SDK once instead of once per area is what keeps the build of
//! the suite short. Each module is one area (its own doc comment says what it covers); the
//! shared set-up is the package's library, `support.rs` (`dynox_tests`).
//!
//! Run one area with a filter on its module path, e.g.
//! `cargo test -p dynox-tests --test integration files::download`.
//!
//! Every test of the binary shares one process, hence one pair of embedded servers
//! (`dynox_local::shared`): each test uses its own table prefix and buckets, and nothing here
//! sets process-wide state (environment variables, a global tracing subscriber other than
//! `observability`'s, which only records spans on the threads of its own tests).

mod backfill;
mod batch;
mod bench_features;
mod browser;
mod checksums;
mod compression;
mod conditions;
mod consistency;
mod conversion;
mod crud;
mod direct_uploads;
mod errors;
mod files;
mod hooks;
mod indexes;
mod interop;
mod metrics;
mod named_clients;
mod observability;
mod partial_saves;
mod progress;
mod query;
mod retention;
mod round_trips;
mod scan;
mod send;
mod shared;
mod single_table;
mod single_table_files;
mod streams;
mod sweep;
mod throttling;
mod timestamps;
mod transactions;
mod ttl;
mod updates;
mod upload_sources;
mod validation;
mod values;
