//! `new`: the model from the fields a caller must give, in declaration order; the rest start
//! empty. `Invoice::new("acme", 7, "open", 1999, pdf)` instead of a literal that spells
//! `version: 0`, every `None` and every timestamp.
//!
//! Left out (and their start): an `Option` field (`None`), the version (0), `created_at` and
//! `updated_at` (unset: the first save stamps them), a set (empty) and a skipped field
//! (`Default`, as a read gives it). A `String` field takes `impl Into<String>`, so `&str`
//! works; every other field takes its own type. `#[dynamo(new = false)]` turns it off, for a
//! struct with a `new` of its own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{private, Mode};
use crate::ast::{is_plain, option_inner, Field, Model};
use crate::attr::Role;

/// The value a left-out field starts with, or `None` for a field the caller gives.
fn start(f: &Field<'_>) -> Option<TokenStream> {
    let ty = f.ty;
    let private = private();
    if f.attrs.has(Role::CreatedAt) || f.attrs.has(Role::UpdatedAt) {
        return Some(quote_spanned!(ty.span()=> <#ty as #private::Timestamp>::unset()));
    }
    if f.attrs.has(Role::Version) || f.attrs.has(Role::Set) || f.attrs.has(Role::Skip) {
        return Some(quote_spanned!(ty.span()=> ::core::default::Default::default()));
    }
    option_inner(ty).map(|_| quote!(::core::option::Option::None))
}

pub fn expand(model: &Model<'_>, mode: Mode) -> TokenStream {
    if mode != Mode::Full || !model.constructor {
        return TokenStream::new();
    }
    let ident = model.ident;
    let vis = model.vis;
    let mut params = Vec::new();
    let mut inits = Vec::new();
    let mut given = Vec::new();
    for f in &model.fields {
        let member = f.ident;
        match start(f) {
            Some(value) => inits.push(quote!(#member: #value)),
            None => {
                // The field's own identifier (`r#type` stays raw: a keyword is no parameter).
                let name = member;
                let ty = f.ty;
                if is_plain(ty, "String") {
                    params.push(quote!(#name: impl ::core::convert::Into<#ty>));
                    inits.push(quote!(#member: ::core::convert::Into::into(#name)));
                } else {
                    params.push(quote!(#name: #ty));
                    inits.push(quote!(#member));
                }
                given.push(format!("`{}`", syn::ext::IdentExt::unraw(member)));
            }
        }
    }
    let doc = format!(
        "A new `{ident}` from {}; every other field starts empty (`None`, version 0, timestamps unset until the first save, empty sets).",
        if given.is_empty() {
            "nothing".to_owned()
        } else {
            given.join(", ")
        }
    );
    quote! {
        #[automatically_derived]
        impl #ident {
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
        }
    }
}
