//! A hidden `FieldReader` per stored field (`Order::__dynox_field_status`): what a
//! `#[derive(DynamoProjection)]` of the model reads its fields with, so a partial type
//! always agrees with its model on attribute names, conversions and types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::ast::{Conv, Field, Model};

/// The reader's name for field `ident`.
pub fn reader_ident(ident: &syn::Ident) -> syn::Ident {
    format_ident!("__dynox_field_{}", ident.unraw())
}

pub fn expand(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let private = quote!(::dynox_core::__private);
    let readers = model
        .fields
        .iter()
        .filter(|f| f.conv != Conv::Skip)
        .map(|f: &Field<'_>| {
            let name = &f.name;
            let ty = f.ty;
            let take = match f.conv {
                Conv::Key if f.attrs.hash_key.is_some() => quote!(take_hash_key::<#ident>),
                Conv::Key => quote!(take_range_key::<#ident>),
                Conv::Direct | Conv::File => quote!(take_attr),
                Conv::Set => quote!(take_set),
                Conv::Serde | Conv::Skip => quote!(take_serde),
            };
            let reader = reader_ident(f.ident);
            quote_spanned! {ty.span()=>
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                #vis const #reader: #private::FieldReader<#ty> = {
                    fn __take(__item: &mut #private::Item) -> #private::Result<#ty, #private::FieldError> {
                        #private::#take(__item, #name)
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
