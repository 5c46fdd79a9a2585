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
    if mode == Mode::Full && model.templated() {
        return templated(model);
    }
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

/// The typed functions of a model keyed by templates: the key's fields are the parameters
/// (`Order::get(&client, customer_id, order_id)`), a query takes the hash template's fields
/// and reads only this model's sort-key prefix, each templated global index gets
/// `query_{index}`, and `sort_key()` builds typed prefixes of the sort key.
fn templated(model: &Model<'_>) -> TokenStream {
    use super::model_impl::write_key;
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let templates = model.key_templates();
    let client = format_ident!("__client");
    // The key's fields, once each, in template order.
    let mut key_fields: Vec<&Field<'_>> = Vec::new();
    for name in templates.iter().flat_map(|t| t.fields()) {
        if let Some(f) = model.field_named(name) {
            if !key_fields.iter().any(|k| k.ident == f.ident) {
                key_fields.push(f);
            }
        }
    }
    let param = |f: &Field<'_>| {
        let name = param_name(f);
        let ty = f.ty;
        quote!(#name: impl #private::IntoSegment<#ty>)
    };
    let convert = |fields: &[&Field<'_>]| {
        let lets = fields.iter().map(|f| {
            let name = param_name(f);
            let ty = f.ty;
            quote!(let #name: #ty = #private::IntoSegment::into_segment(#name);)
        });
        quote!(#(#lets)*)
    };
    let value = |name: &str| match model.field_named(name) {
        Some(f) => {
            let p = param_name(f);
            quote!(&#p)
        }
        None => quote!(&()),
    };
    let key_params: Vec<TokenStream> = key_fields.iter().map(|f| param(f)).collect();
    let key_convert = convert(&key_fields);
    let hash = write_key(
        &templates[0],
        quote!(<Self as #private::Model>::KEY_TEMPLATES[0]),
        value,
        false,
    );
    let range = match templates.get(1) {
        Some(t) => write_key(
            t,
            quote!(<Self as #private::Model>::KEY_TEMPLATES[1]),
            value,
            false,
        ),
        None => quote!(#private::NoRangeKey),
    };
    let key = quote! {{
        #key_convert
        #private::Key::<Self>::new(#hash, #range)
    }};
    let key_doc = key_fields
        .iter()
        .map(|f| format!("`{}`", f.ident))
        .collect::<Vec<_>>()
        .join(", ");
    let functions = [
        ("get", "Get", format!("Reads the `{ident}` with key fields {key_doc} (GetItem); `None` if there is none.")),
        ("delete", "Delete", format!("Deletes the `{ident}` with key fields {key_doc} (DeleteItem).")),
        ("update", "Update", format!("Updates attributes of the `{ident}` with key fields {key_doc} (UpdateItem).")),
    ]
    .into_iter()
    .map(|(name, builder, doc)| {
        let name = format_ident!("{name}");
        let builder = format_ident!("{builder}");
        quote! {
            #[doc = #doc]
            #vis fn #name(#client: &#private::Client, #(#key_params),*) -> #private::#builder<Self> {
                #client.#name(#key)
            }
        }
    });
    // The query: the hash template's fields; this model's fixed sort-key prefix.
    let hash_fields: Vec<&Field<'_>> = templates[0]
        .fields()
        .filter_map(|n| model.field_named(n))
        .collect();
    let hash_params: Vec<TokenStream> = hash_fields.iter().map(|f| param(f)).collect();
    let hash_convert = convert(&hash_fields);
    let query_body = match templates.get(1) {
        Some(_) => quote! {
            #private::template_prefix(#client.query(#hash), &<Self as #private::Model>::KEY_TEMPLATES[1])
        },
        None => quote!(#client.query(#hash)),
    };
    let hash_doc = hash_fields
        .iter()
        .map(|f| format!("`{}`", f.ident))
        .collect::<Vec<_>>()
        .join(", ");
    let query_doc = format!("Queries the `{ident}` items of the partition of {hash_doc}, in sort-key order (only keys this model's sort-key template writes: narrow them with `.sort_key({ident}::sort_key()...)`).");
    let partition_doc = format!("The partition of {hash_doc}: what a collection (`#[derive(DynamoCollection)]`) queries for the items of every entity type.");
    let scan_doc = format!(
        "Scans every `{ident}` item (Scan; only this entity type when the model declares one)."
    );
    let query = quote! {
        #[doc = #scan_doc]
        #vis fn scan(#client: &#private::Client) -> #private::Scan<Self> {
            #client.scan()
        }

        #[doc = #query_doc]
        #vis fn query(#client: &#private::Client, #(#hash_params),*) -> #private::Query<Self> {
            #hash_convert
            #query_body
        }

        #[doc = #partition_doc]
        #vis fn partition(#(#hash_params),*) -> #private::Partition<Self> {
            #hash_convert
            #private::Partition::of(#hash)
        }
    };
    // `query_{index}` for each global index whose hash key is a template.
    let mut index_queries = Vec::new();
    let mut position = 0usize;
    for (i, index) in model.indexes.iter().enumerate() {
        let (pk, sk) = crate::ast::index_templates(index);
        let pk_position = pk.as_ref().map(|_| position);
        position += usize::from(pk.is_some());
        let sk_position = sk.as_ref().map(|_| position);
        position += usize::from(sk.is_some());
        let (Some(pk), Some(pk_position), Some(name)) = (pk, pk_position, &index.name) else {
            continue;
        };
        let Some(handle) = crate::ast::handle_ident(&name.value) else {
            continue;
        };
        let fn_name = format_ident!("query_{}", handle);
        let fields: Vec<&Field<'_>> = pk.fields().filter_map(|n| model.field_named(n)).collect();
        let params: Vec<TokenStream> = fields
            .iter()
            .map(|f| {
                let name = param_name(f);
                let ty = f.ty;
                let ty = crate::ast::option_inner(ty).unwrap_or(ty);
                quote!(#name: impl #private::IntoSegment<#ty>)
            })
            .collect();
        let lets = fields.iter().map(|f| {
            let name = param_name(f);
            let ty = crate::ast::option_inner(f.ty).unwrap_or(f.ty);
            quote!(let #name: #ty = #private::IntoSegment::into_segment(#name);)
        });
        let hash = write_key(
            &pk,
            quote!(<Self as #private::Model>::INDEX_TEMPLATES[#pk_position]),
            value,
            false,
        );
        let range_ty = if sk.is_some() || index.range_key.is_some() {
            match &index.range_key {
                Some(r) => match model.field(r) {
                    Some(f) => {
                        let ty = f.ty;
                        quote!(<#ty as #private::IndexKeyField>::Key)
                    }
                    None => quote!(::std::string::String),
                },
                None => quote!(::std::string::String),
            }
        } else {
            quote!(#private::NoRangeKey)
        };
        let index_query = quote! {
            #private::Index::<Self, ::std::string::String, #range_ty>::new(&<Self as #private::Model>::INDEXES[#i])
                .query(#client, #hash)
        };
        let index_query = match (&sk, sk_position) {
            (Some(_), Some(p)) => quote! {
                #private::template_prefix(#index_query, &<Self as #private::Model>::INDEX_TEMPLATES[#p])
            },
            _ => index_query,
        };
        let doc = format!("Queries index `{}` for the `{ident}` items whose index key is built from these fields, in index sort-key order.", name.value);
        let partition_fn = format_ident!("partition_{}", handle);
        let partition_doc = format!("The partition of index `{}` whose key is built from these fields: what a collection (`#[derive(DynamoCollection)]`) queries for the items of every entity type.", name.value);
        let lets: Vec<TokenStream> = lets.collect();
        index_queries.push(quote! {
            #[doc = #doc]
            #vis fn #fn_name(#client: &#private::Client, #(#params),*) -> #private::Query<Self, #range_ty> {
                #(#lets)*
                #index_query
            }

            #[doc = #partition_doc]
            #vis fn #partition_fn(#(#params),*) -> #private::Partition<Self, #range_ty> {
                #(#lets)*
                #private::Index::<Self, ::std::string::String, #range_ty>::new(&<Self as #private::Model>::INDEXES[#i])
                    .partition(#hash)
            }
        });
    }
    let key_of_doc = format!("The key of the `{ident}` with key fields {key_doc}.");
    let sort_key = sort_key_builder(model, &templates);
    let (sort_types, sort_fn) = sort_key;
    quote! {
        #sort_types
        #[automatically_derived]
        impl #ident {
            #(#functions)*
            #query
            #(#index_queries)*
            #sort_fn

            #[doc = #key_of_doc]
            #vis fn key_of(#(#key_params),*) -> #private::Key<Self> {
                #key
            }
        }
    }
}

/// `{Model}::sort_key()` and its stages `{Model}SortKey{n}`: each takes the next field of the
/// sort-key template, so a prefix is always the template's leading fields, in order.
fn sort_key_builder(
    model: &Model<'_>,
    templates: &[crate::ast::Template],
) -> (TokenStream, TokenStream) {
    let Some(sk) = templates.get(1) else {
        return (TokenStream::new(), TokenStream::new());
    };
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let fields: Vec<&Field<'_>> = sk.fields().filter_map(|n| model.field_named(n)).collect();
    let stage = |k: usize| {
        if k == 0 {
            format_ident!("{}SortKey", ident)
        } else {
            format_ident!("{}SortKey{}", ident, k)
        }
    };
    let mut types = Vec::new();
    for k in 0..=fields.len() {
        let this = stage(k);
        let doc = if k == 0 {
            format!("The sort key of `{ident}`, built field by field: `{ident}::sort_key()`.")
        } else {
            format!("The sort key of `{ident}` with its first {k} field(s) given.")
        };
        let next = fields.get(k).map(|f| {
            let name = param_name(f);
            let ty = f.ty;
            let next = stage(k + 1);
            let doc = format!("Gives `{}`, the next field of the sort key.", f.ident);
            quote! {
                #[doc = #doc]
                pub fn #name(mut self, #name: impl #private::IntoSegment<#ty>) -> #next {
                    let #name: #ty = #private::IntoSegment::into_segment(#name);
                    self.0.segment(&#name);
                    #next(self.0)
                }
            }
        });
        let complete = (k == fields.len()).then(|| {
            quote! {
                /// The whole sort key: the item with exactly these fields.
                pub fn equals(self) -> #private::SortKey<::std::string::String> {
                    #private::SortKey::eq(self.0.finish())
                }
            }
        });
        types.push(quote! {
            #[doc = #doc]
            #[automatically_derived]
            #vis struct #this(#private::KeyWriter);
            #[automatically_derived]
            impl #this {
                #next
                #complete
                /// The items whose sort key starts with the fields given so far.
                pub fn begins_with(self) -> #private::SortKey<::std::string::String> {
                    #private::SortKey::begins_with(self.0.prefix())
                }
                /// The text `begins_with` selects by (for `between` and other comparisons).
                pub fn prefix(self) -> ::std::string::String {
                    self.0.prefix()
                }
            }
        });
    }
    let first = stage(0);
    let f = quote! {
        /// The sort key, built from its fields in template order, for `Query::sort_key`.
        #vis fn sort_key() -> #first {
            #first(<Self as #private::Model>::KEY_TEMPLATES[1].writer())
        }
    };
    (quote!(#(#types)*), f)
}
