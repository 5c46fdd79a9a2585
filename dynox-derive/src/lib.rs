//! `#[derive(DynamoModel)]`: use it through `dynox::DynamoModel` (the `dynox` crate).
//!
//! The macro works in three steps: `attr` parses `#[dynamo(...)]` attributes into typed
//! values, `ast` builds a model of the struct (every node keeps its span), `check` applies
//! cross-field rules, and `expand` generates code. Every error of every step is collected in
//! a `ctxt::Ctxt` and reported at once, each with the span of the code at fault, next to a
//! stub of the generated impls so that uses of the model add no errors of their own.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::DeriveInput;

/// Derives `dynox_core::Model` and the typed `get`, `delete`, `query` and `key_of` functions.
/// See the `dynox_core` documentation for the attributes.
#[proc_macro_derive(DynamoModel, attributes(dynamo, s3))]
pub fn derive_dynamo_model(input: TokenStream) -> TokenStream {
    dynamo_model(input.into()).into()
}

/// Derives `dynox_core::Projection` for a partial type of a model (`#[dynamo(model = Order)]`):
/// reads fetch only its fields' attributes and decode into it.
#[proc_macro_derive(DynamoProjection, attributes(dynamo))]
pub fn derive_dynamo_projection(input: TokenStream) -> TokenStream {
    dynamo_projection(input.into()).into()
}

/// Derives `dynox_core::Collection` for an enum whose variants each hold one model of a
/// shared table: reads dispatch each item to its variant by its entity type.
#[proc_macro_derive(DynamoCollection, attributes(dynamo))]
pub fn derive_dynamo_collection(input: TokenStream) -> TokenStream {
    dynamo_collection(input.into()).into()
}

/// `#[derive(DynamoCollection)]` on `proc_macro2` tokens, so unit tests can call it.
fn dynamo_collection(input: TokenStream2) -> TokenStream2 {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => expand::collection::derive(&input),
        Err(e) => e.to_compile_error(),
    }
}

/// `#[derive(DynamoModel)]` on `proc_macro2` tokens, so unit tests can call it.
fn dynamo_model(input: TokenStream2) -> TokenStream2 {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => expand::derive(&input),
        Err(e) => e.to_compile_error(),
    }
}

/// `#[derive(DynamoProjection)]` on `proc_macro2` tokens, so unit tests can call it.
fn dynamo_projection(input: TokenStream2) -> TokenStream2 {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => expand::projection::derive(&input),
        Err(e) => e.to_compile_error(),
    }
}
