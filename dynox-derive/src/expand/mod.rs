//! Code generation: one file per generated piece.
//!
//! Generated code names everything through `::dynox_core::__private` and prefixes its locals
//! with `__`; the logic lives in generic runtime functions, so each model adds little code.

mod fields;
mod files;
mod indexes;
mod methods;
mod model_impl;
pub mod projection;
mod readers;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Model;
use crate::check;
use crate::ctxt::Ctxt;

/// The whole expansion of `#[derive(DynamoModel)]`, or every error found.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Model::from_input(&mut cx, input);
    if let Some(model) = &model {
        check::check(&mut cx, model);
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    let Some(model) = model else {
        // `from_input` only returns `None` after recording an error.
        return TokenStream::new();
    };
    let (Some(table), Some(hash)) = (&model.table, model.hash_key()) else {
        return TokenStream::new();
    };
    let model_impl = model_impl::expand(&model, &table.value, hash);
    let methods = methods::expand(&model, hash);
    let files = files::expand(&model);
    let fields = fields::expand(&model);
    let indexes = indexes::handles(&model);
    let readers = readers::expand(&model);
    quote! {
        #model_impl
        #methods
        #files
        #fields
        #indexes
        #readers
    }
}
