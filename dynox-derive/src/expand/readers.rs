//! A hidden `FieldReader` per stored field (`Order::__dynox_field_status`): what a
//! `#[derive(DynamoProjection)]` of the model reads its fields with, so a partial type
//! always agrees with its model on attribute names, conversions and types.
//!
//! They are associated constants of the model, not free items, because a projection derived
//! in another module (or crate) must reach them by the model's path alone.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::model_impl::take_fn;
use super::{private, unreachable, Mode};
use crate::ast::{Conv, Field, Model};

/// The reader's name for field `ident`.
pub fn reader_ident(ident: &syn::Ident) -> syn::Ident {
    format_ident!("__dynox_field_{}", ident.unraw())
}

pub fn expand(model: &Model<'_>, mode: Mode) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let model_ty = quote!(#ident);
    let readers = model
        .fields
        .iter()
        .filter(|f| f.conv != Conv::Skip)
        .map(|f: &Field<'_>| {
            let name = &f.name;
            let ty = f.ty;
            let take = take_fn(f, &model_ty);
            let (param, body) = match mode {
                Mode::Full => (quote!(__item), quote!(#private::#take(__item, #name))),
                Mode::Stub => (quote!(_), unreachable()),
            };
            let reader = reader_ident(f.ident);
            quote_spanned! {ty.span()=>
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                #vis const #reader: #private::FieldReader<#ty> = {
                    fn __take(#param: &mut #private::Item) -> #private::Result<#ty, #private::FieldError> {
                        #body
                    }
                    #private::FieldReader { name: #name, take: __take }
                };
            }
        });
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#readers)*
        }
    }
}
