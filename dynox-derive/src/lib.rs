//! `#[derive(DynamoModel)]`: use it through `dynox_core::DynamoModel`.
//!
//! The macro works in three steps: [`attr`] parses `#[dynamo(...)]` attributes into typed
//! values, [`ast`] builds a model of the struct (every node keeps its span), [`check`] applies
//! cross-field rules, and [`expand`] generates code. Every error of every step is collected in
//! a [`ctxt::Ctxt`] and reported at once, each with the span of the code at fault.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `dynox_core::Model` and the typed `get`, `delete`, `query` and `key_of` functions.
/// See the `dynox_core` documentation for the attributes.
#[proc_macro_derive(DynamoModel, attributes(dynamo, s3))]
pub fn derive_dynamo_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `dynox_core::Projection` for a partial type of a model (`#[dynamo(model = Order)]`):
/// reads fetch only its fields' attributes and decode into it.
#[proc_macro_derive(DynamoProjection, attributes(dynamo))]
pub fn derive_dynamo_projection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::projection::derive(&input).into()
}
