//! Inherent functions whose parameters follow the key: `Order::get(&client, "c", 42)` for a
//! model with a range key, `User::get(&client, "u1")` for one without.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast::{Field, Model};

/// The parameter type of a key value: `impl IntoKey<T>`, so `&str` works for `String` keys
/// and integer literals infer the key's integer type.
fn param_type(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    quote!(impl ::dynox_core::__private::IntoKey<#ty>)
}

fn param_name(f: &Field<'_>) -> Ident {
    format_ident!("{}", syn::ext::IdentExt::unraw(f.ident))
}

pub fn expand(model: &Model<'_>, hash: &Field<'_>) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let private = quote!(::dynox_core::__private);
    let range = model.range_key();

    let mut keys = vec![hash];
    keys.extend(range);
    let client = if keys.iter().any(|k| param_name(k) == "client") {
        format_ident!("__client")
    } else {
        format_ident!("client")
    };
    let params: Vec<TokenStream> = keys
        .iter()
        .map(|k| {
            let name = param_name(k);
            let ty = param_type(k);
            quote!(#name: #ty)
        })
        .collect();
    let hash_name = param_name(hash);
    let hash_param = &params[0];
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

    let get_doc =
        format!("Reads the `{ident}` with key {key_doc} (GetItem); `None` if there is none.");
    let delete_doc = format!("Deletes the `{ident}` with key {key_doc} (DeleteItem).");
    let update_doc = format!(
        "Updates attributes of the `{ident}` with key {key_doc} (UpdateItem): add changes from `{ident}::fields()`."
    );
    let query_doc = format!(
        "Queries the `{ident}` items with hash key `{}`, in sort-key order.",
        hash.name
    );
    let scan_doc = format!("Scans every `{ident}` item (Scan): filter, segments, count.");
    let key_of_doc = format!("The key {key_doc} of a `{ident}`.");

    quote! {
        #[automatically_derived]
        impl #ident {
            #[doc = #get_doc]
            #vis fn get(#client: &#private::Client, #(#params),*) -> #private::Get<Self> {
                #client.get(#key)
            }

            #[doc = #delete_doc]
            #vis fn delete(#client: &#private::Client, #(#params),*) -> #private::Delete<Self> {
                #client.delete(#key)
            }

            #[doc = #update_doc]
            #vis fn update(#client: &#private::Client, #(#params),*) -> #private::Update<Self> {
                #client.update(#key)
            }

            #[doc = #scan_doc]
            #vis fn scan(#client: &#private::Client) -> #private::Scan<Self> {
                #client.scan()
            }

            #[doc = #query_doc]
            #vis fn query(#client: &#private::Client, #hash_param) -> #private::Query<Self> {
                #client.query(#hash_name)
            }

            #[doc = #key_of_doc]
            #vis fn key_of(#(#params),*) -> #private::Key<Self> {
                #key
            }
        }
    }
}
