//! Compile-time checks of `#[derive(DynamoModel)]` and the typed API, as trybuild snapshots.
//!
//! Compiler wording changes between releases: the toolchain is pinned in
//! `rust-toolchain.toml`. After a deliberate toolchain or message change, regenerate with
//! `TRYBUILD=overwrite cargo test -p dynox-tests --test compile_fail` and review the diff.

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/keys/*.rs");
    cases.compile_fail("ui/attributes/*.rs");
    cases.compile_fail("ui/input/*.rs");
    cases.compile_fail("ui/calls/[!m]*.rs");
    cases.compile_fail("ui/s3/*.rs");
    cases.compile_fail("ui/expressions/*.rs");
    cases.compile_fail("ui/indexes/[!m]*.rs");
    cases.compile_fail("ui/projections/[!m]*.rs");
    cases.compile_fail("ui/templates/*.rs");
    cases.compile_fail("ui/collections/*.rs");
    cases.compile_fail("ui/validation/*.rs");
    cases.compile_fail("ui/hooks/*.rs");
}
