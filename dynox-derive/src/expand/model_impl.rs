//! `impl Model`: table, key schema and item conversion.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{private, s3_files_type, unreachable, Mode};
use crate::ast::{Conv, Field, Model};
use crate::attr::Role;

/// The field's type, spanned on it.
fn spanned_ty(f: &Field<'_>) -> TokenStream {
    let ty = f.ty;
    quote_spanned!(ty.span()=> #ty)
}

/// The runtime function that reads stored field `f` of model `model` out of an item.
pub fn take_fn(f: &Field<'_>, model: &TokenStream) -> TokenStream {
    match f.conv {
        Conv::Key if f.attrs.has(Role::HashKey) => quote!(take_hash_key::<#model>),
        Conv::Key => quote!(take_range_key::<#model>),
        Conv::Direct | Conv::File => quote!(take_attr),
        Conv::Set => quote!(take_set),
        Conv::Serde | Conv::Skip => quote!(take_serde),
    }
}

/// `impl Model`; for a stub, the same types with no table, no lifecycle fields and
/// `unreachable!()` conversions.
pub fn expand(model: &Model<'_>, mode: Mode) -> TokenStream {
    let ident = model.ident;
    let private = private();
    let hash = model.hash_key();
    let range = model.range_key();

    // Spanned on the fields' types so "cannot be a key attribute" points at them. A stub uses
    // `String` for a key it has no type for: no key field, or one that `check` has refused
    // (a file or a set), so that it is not reported again as "cannot be a key attribute".
    let key_ty = |f: &Field<'_>| match mode {
        Mode::Stub if f.conv != Conv::Key || f.attrs.has(Role::Set) => {
            quote!(::std::string::String)
        }
        _ => spanned_ty(f),
    };
    let hash_key_ty = hash.map_or_else(|| quote!(::std::string::String), key_ty);
    let range_key_ty = range.map_or_else(|| quote!(#private::NoRangeKey), key_ty);
    let has_files = model.files().next().is_some();
    let files_ty = if has_files {
        s3_files_type()
    } else {
        quote!(#private::NoFiles)
    };
    // Only a model without files or a version may be batch-written, and only one without a
    // version deleted by key alone; for the others, the traits' `on_unimplemented` messages
    // name the alternatives.
    let versioned = model.with_role(Role::Version).is_some();
    let mut batch_writable = TokenStream::new();
    if !versioned {
        batch_writable.extend(quote! {
            #[automatically_derived]
            impl #private::Unversioned for #ident {}
        });
        if !has_files {
            batch_writable.extend(quote! {
                #[automatically_derived]
                impl #private::BatchWritable for #ident {}
            });
        }
    }
    let (Mode::Full, Some(hash), Some(table)) = (mode, hash, &model.table) else {
        let unreachable = unreachable();
        return quote! {
            #[automatically_derived]
            impl #private::Model for #ident {
                type HashKey = #hash_key_ty;
                type RangeKey = #range_key_ty;
                type Files = #files_ty;
                const TABLE: &'static str = "";
                const SCHEMA: #private::KeySchema = #private::KeySchema {
                    hash: #private::hash_key_attr::<Self>(""),
                    range: ::core::option::Option::None,
                };
                fn to_item(&self) -> #private::Result<#private::Item, #private::FieldError> {
                    #unreachable
                }
                fn from_item(
                    _: #private::Item,
                ) -> #private::Result<Self, #private::FieldError> {
                    #unreachable
                }
                fn key(&self) -> #private::Key<Self> {
                    #unreachable
                }
            }
            // A stub allows every call, so that no error cascades from the one reported.
            #[automatically_derived]
            impl #private::Unversioned for #ident {}
            #[automatically_derived]
            impl #private::BatchWritable for #ident {}
        };
    };
    let table = &table.value;

    // Key code goes through generic helpers over `Self`, so an unsupported key type is
    // reported once, at `type HashKey`, instead of at every use.
    let hash_name = &hash.name;
    let range_attr = match range {
        Some(r) => {
            let name = &r.name;
            quote!(::core::option::Option::Some(#private::range_key_attr::<Self>(#name)))
        }
        None => quote!(::core::option::Option::None),
    };

    let stored: Vec<&Field<'_>> = model
        .fields
        .iter()
        .filter(|f| f.conv != Conv::Skip)
        .collect();
    let capacity = stored.len();
    let puts = stored.iter().map(|f| {
        let member = f.ident;
        let name = &f.name;
        let put = match f.conv {
            Conv::Key if f.attrs.has(Role::HashKey) => quote!(put_hash_key::<Self>),
            Conv::Key => quote!(put_range_key::<Self>),
            Conv::Direct | Conv::File => quote!(put_attr),
            Conv::Set => quote!(put_set),
            _ => quote!(put_serde),
        };
        let ty = f.ty;
        quote_spanned! {ty.span()=>
            #private::#put(&mut __item, #name, &self.#member)?;
        }
    });
    let takes = model.fields.iter().map(|f| {
        let member = f.ident;
        let name = &f.name;
        let ty = f.ty;
        if f.conv == Conv::Skip {
            return quote_spanned! {ty.span()=>
                #member: ::core::default::Default::default(),
            };
        }
        let take = take_fn(f, &quote!(Self));
        quote_spanned! {ty.span()=>
            #member: #private::#take(&mut __item, #name)?,
        }
    });
    let hash_member = hash.ident;
    let range_value = match range {
        Some(r) => {
            let m = r.ident;
            quote!(::core::clone::Clone::clone(&self.#m))
        }
        None => quote!(#private::NoRangeKey),
    };

    let version = match model.with_role(Role::Version) {
        Some(f) => {
            let name = &f.name;
            let member = f.ident;
            let ty = f.ty;
            let to = quote_spanned!(ty.span()=> <#ty as #private::VersionNumber>::to_version(self.#member));
            let from = quote_spanned!(ty.span()=> <#ty as #private::VersionNumber>::from_version(__version));
            quote! {
                const VERSION: ::core::option::Option<&'static str> = ::core::option::Option::Some(#name);
                fn version(&self) -> u64 {
                    #to
                }
                fn set_version(&mut self, __version: u64) {
                    self.#member = #from;
                }
            }
        }
        None => TokenStream::new(),
    };

    let ttl = match model.with_role(Role::Ttl) {
        Some(f) => {
            let name = &f.name;
            let ty = f.ty;
            let check = quote_spanned!(ty.span()=> #private::assert_ttl::<#ty>());
            quote! {
                const TTL: ::core::option::Option<&'static str> = {
                    #check;
                    ::core::option::Option::Some(#name)
                };
            }
        }
        None => TokenStream::new(),
    };

    let indexes = super::indexes::schema(model);

    let mut stamps = Vec::new();
    let mut stamp_consts = Vec::new();
    for (role, konst) in [
        (Role::CreatedAt, quote!(CREATED_AT)),
        (Role::UpdatedAt, quote!(UPDATED_AT)),
    ] {
        let Some(f) = model.with_role(role) else {
            continue;
        };
        let name = &f.name;
        let member = f.ident;
        let ty = f.ty;
        stamp_consts.push(quote! {
            const #konst: ::core::option::Option<&'static str> = ::core::option::Option::Some(#name);
        });
        stamps.push(if role == Role::CreatedAt {
            quote_spanned! {ty.span()=>
                if <#ty as #private::Timestamp>::is_unset(&self.#member) {
                    <#ty as #private::Timestamp>::stamp(&mut self.#member, __now);
                }
            }
        } else {
            quote_spanned! {ty.span()=>
                <#ty as #private::Timestamp>::stamp(&mut self.#member, __now);
            }
        });
    }
    let stamp = if stamps.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            #(#stamp_consts)*
            fn stamp(&mut self, __now: ::std::time::SystemTime) {
                #(#stamps)*
            }
        }
    };

    quote! {
        #[automatically_derived]
        impl #private::Model for #ident {
            #ttl
            #indexes
            #stamp
            type HashKey = #hash_key_ty;
            type RangeKey = #range_key_ty;
            type Files = #files_ty;
            const TABLE: &'static str = #table;
            const SCHEMA: #private::KeySchema = #private::KeySchema {
                hash: #private::hash_key_attr::<Self>(#hash_name),
                range: #range_attr,
            };

            #version

            fn to_item(&self) -> #private::Result<#private::Item, #private::FieldError> {
                let mut __item = #private::Item::with_capacity(#capacity);
                #(#puts)*
                #private::Result::Ok(__item)
            }

            fn from_item(
                mut __item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                #private::Result::Ok(Self {
                    #(#takes)*
                })
            }

            fn key(&self) -> #private::Key<Self> {
                #private::Key::new(::core::clone::Clone::clone(&self.#hash_member), #range_value)
            }
        }
        #batch_writable
    }
}
