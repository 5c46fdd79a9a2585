//! Inherent functions whose parameters follow the key: `Order::get(&client, "c", 42)` for a
//! model with a range key, `User::get(&client, "u1")` for one without.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{private, Mode};
use crate::ast::{Field, Model};

fn param_name(f: &Field<'_>) -> Ident {
    format_ident!("{}", syn::ext::IdentExt::unraw(f.ident))
}

/// Which key parts a function takes.
#[derive(Clone, Copy)]
enum Takes {
    /// The whole key.
    Key,
    /// The hash key.
    Hash,
    /// Nothing but the client.
    Client,
}

pub fn expand(model: &Model<'_>, mode: Mode) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let hash = model.hash_key();
    let range = model.range_key();
    let keys: Vec<&Field<'_>> = hash.into_iter().chain(range).collect();

    let client = if keys.iter().any(|k| param_name(k) == "client") {
        format_ident!("__client")
    } else {
        format_ident!("client")
    };
    // Key values are `impl IntoKey<T>`, so `&str` works for `String` keys and integer literals
    // infer the key's integer type. A stub takes anything, one value per key field given (the
    // hash key counted even when missing), so a call is not reported on top of the errors.
    let params: Vec<TokenStream> = match mode {
        Mode::Full => keys
            .iter()
            .map(|k| {
                let name = param_name(k);
                let ty = k.ty;
                quote!(#name: impl #private::IntoKey<#ty>)
            })
            .collect(),
        Mode::Stub => (0..1 + usize::from(range.is_some()))
            .map(|_| quote!(_: impl ::core::marker::Sized))
            .collect(),
    };
    let client_param = match mode {
        Mode::Full => quote!(#client),
        Mode::Stub => quote!(_),
    };
    let hash_name = hash.map(param_name);
    let hash_arg = quote!(#hash_name);
    let range_value = match range {
        Some(r) => {
            let n = param_name(r);
            quote!(#private::IntoKey::into_key(#n))
        }
        None => quote!(#private::NoRangeKey),
    };
    let key = quote! {
        #private::Key::<Self>::new(#private::IntoKey::into_key(#hash_name), #range_value)
    };
    let key_doc = keys
        .iter()
        .map(|k| format!("`{}`", k.name))
        .collect::<Vec<_>>()
        .join(" and ");
    let hash_doc = hash.map(|h| h.name.as_str()).unwrap_or_default();

    // Each function: its name, the builder it returns, its doc, what it takes, and the
    // argument it passes on to the client's function of the same name.
    let no_args = TokenStream::new();
    let functions = [
        ("get", "Get", format!("Reads the `{ident}` with key {key_doc} (GetItem); `None` if there is none."), Takes::Key, &key),
        ("delete", "Delete", format!("Deletes the `{ident}` with key {key_doc} (DeleteItem)."), Takes::Key, &key),
        ("update", "Update", format!("Updates attributes of the `{ident}` with key {key_doc} (UpdateItem): add changes from `{ident}::fields()`."), Takes::Key, &key),
        ("scan", "Scan", format!("Scans every `{ident}` item (Scan): filter, segments, count."), Takes::Client, &no_args),
        ("query", "Query", format!("Queries the `{ident}` items with hash key `{hash_doc}`, in sort-key order."), Takes::Hash, &hash_arg),
    ];
    let functions = functions
        .into_iter()
        .map(|(name, builder, doc, takes, arg)| {
            let name = format_ident!("{name}");
            let builder = format_ident!("{builder}");
            let ret = quote!(#private::#builder<Self>);
            let body = mode.body(quote!(#client.#name(#arg)));
            let params = match takes {
                Takes::Key => &params[..],
                Takes::Hash => &params[..1],
                Takes::Client => &[],
            };
            quote! {
                #[doc = #doc]
                #vis fn #name(#client_param: &#private::Client, #(#params),*) -> #ret {
                    #body
                }
            }
        });
    let key_of_doc = format!("The key {key_doc} of a `{ident}`.");
    let key_of_body = mode.body(key.clone());

    quote! {
        #[automatically_derived]
        impl #ident {
            #(#functions)*

            #[doc = #key_of_doc]
            #vis fn key_of(#(#params),*) -> #private::Key<Self> {
                #key_of_body
            }
        }
    }
}
