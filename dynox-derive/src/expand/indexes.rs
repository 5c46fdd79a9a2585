//! Secondary indexes: `Model::INDEXES` (for `create_table`) and `Model::indexes()`, a typed
//! [`Index`] handle per index whose key types come from the fields' types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{private, Mode};
use crate::ast::{handle_ident, index_templates, Conv, Model};
use crate::attr::{Index, IndexKind};

/// `const INDEXES` inside `impl Model`.
pub fn schema(model: &Model<'_>) -> TokenStream {
    if model.indexes.is_empty() {
        return TokenStream::new();
    }
    let private = private();
    let entries = model.indexes.iter().filter_map(|index| {
        let name = &index.name.as_ref()?.value;
        let key = |ident: &syn::Ident| {
            let f = model.field(ident)?;
            let ty = f.ty;
            let attr = &f.name;
            Some(quote_spanned!(ty.span()=> #private::index_key_attr::<#ty>(#attr)))
        };
        let (pk, sk) = index_templates(index);
        let string_attr = |attr: &str| {
            quote!(#private::KeyAttr { name: #attr, scalar: #private::ScalarType::String })
        };
        let (kind, hash) = match index.kind {
            IndexKind::Global => match &pk {
                Some(pk) => (quote!(Global), string_attr(&pk.attribute)),
                None => (quote!(Global), key(index.hash_key.as_ref()?)?),
            },
            IndexKind::Local => (
                quote!(Local),
                quote!(<Self as #private::Model>::SCHEMA.hash),
            ),
        };
        let range = match (&index.range_key, &sk) {
            (_, Some(sk)) => {
                let r = string_attr(&sk.attribute);
                quote!(::core::option::Option::Some(#r))
            }
            (Some(r), None) => {
                let r = key(r)?;
                quote!(::core::option::Option::Some(#r))
            }
            (None, None) => quote!(::core::option::Option::None),
        };
        let projection = projection(model, index);
        Some(quote! {
            #private::IndexSchema {
                name: #name,
                kind: #private::IndexKind::#kind,
                hash: #hash,
                range: #range,
                projection: #projection,
            }
        })
    });
    quote! {
        const INDEXES: &'static [#private::IndexSchema] = &[#(#entries),*];
    }
}

/// The index's projection; key attributes (always projected) are left out of `include`.
fn projection(model: &Model<'_>, index: &Index) -> TokenStream {
    let private = private();
    if let Some(include) = &index.include {
        let keys = [
            model.hash_key().map(|f| f.ident),
            model.range_key().map(|f| f.ident),
            index.hash_key.as_ref(),
            index.range_key.as_ref(),
        ];
        let names = include
            .iter()
            .filter(|i| !keys.contains(&Some(*i)))
            .filter_map(|i| model.field(i))
            .map(|f| &f.name);
        return quote!(#private::IndexProjection::Include(&[#(#names),*]));
    }
    match index.projection.as_ref().map(|p| p.value.as_str()) {
        Some("keys_only") => quote!(#private::IndexProjection::KeysOnly),
        _ => quote!(#private::IndexProjection::All),
    }
}

/// `{Model}Indexes` (at module level: it is what `indexes()` returns, documented and nameable
/// by the user) and `impl {Model} { fn indexes() }`. A stub has a handle for each index whose
/// name and keys resolve, and no body.
pub fn handles(model: &Model<'_>, mode: Mode) -> (TokenStream, TokenStream) {
    if model.indexes.is_empty() {
        return (TokenStream::new(), TokenStream::new());
    }
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let struct_ident = format_ident!("{}Indexes", ident);
    let mut members = Vec::new();
    let mut values = Vec::new();
    let mut seen = Vec::new();
    for (i, index) in model.indexes.iter().enumerate() {
        let Some(name) = &index.name else { continue };
        let Some(member) = handle_ident(&name.value).filter(|m| !seen.contains(m)) else {
            continue;
        };
        // `check` refuses sets, files and skipped fields as keys: a stub leaves their index out.
        let key_ty = |ident: &syn::Ident| {
            let f = model.field(ident)?;
            (!matches!(f.conv, Conv::Set | Conv::File | Conv::Skip)).then(|| {
                let ty = f.ty;
                quote_spanned!(ty.span()=> <#ty as #private::IndexKeyField>::Key)
            })
        };
        let string = quote!(::std::string::String);
        let hash_ty = match index.kind {
            IndexKind::Global if index.pk.is_some() => Some(string.clone()),
            IndexKind::Global => index.hash_key.as_ref().and_then(key_ty),
            IndexKind::Local => Some(quote!(<#ident as #private::Model>::HashKey)),
        };
        let Some(hash_ty) = hash_ty else { continue };
        let range_ty = match &index.range_key {
            _ if index.sk.is_some() => string,
            Some(r) => match key_ty(r) {
                Some(t) => t,
                None => continue,
            },
            None => quote!(#private::NoRangeKey),
        };
        let kind = match index.kind {
            IndexKind::Global => "global",
            IndexKind::Local => "local",
        };
        let doc = format!("The {kind} secondary index `{}`.", name.value);
        members.push(quote! {
            #[doc = #doc]
            #vis #member: #private::Index<#ident, #hash_ty, #range_ty>,
        });
        values.push(quote! {
            #member: #private::Index::new(&<#ident as #private::Model>::INDEXES[#i]),
        });
        seen.push(member);
    }
    let struct_doc = format!("The secondary indexes of `{ident}`: `{ident}::indexes()`.");
    let fn_doc = format!("Typed handles on the secondary indexes of `{ident}`, to query them.");
    let body = mode.body(quote! {
        #struct_ident {
            #(#values)*
        }
    });
    let ty = quote! {
        #[doc = #struct_doc]
        #[automatically_derived]
        #[allow(dead_code, non_snake_case)]
        #vis struct #struct_ident {
            #(#members)*
        }
    };
    let constructor = quote! {
        #[automatically_derived]
        impl #ident {
            #[doc = #fn_doc]
            #vis fn indexes() -> #struct_ident {
                #body
            }
        }
    };
    (ty, constructor)
}
