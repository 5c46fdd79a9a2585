//! `impl Model`: table, key schema and item conversion.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Conv, Field, Model};

pub fn expand(model: &Model<'_>, table: &str, hash: &Field<'_>) -> TokenStream {
    let ident = model.ident;
    let range = model.range_key();
    let private = quote!(::dynox_core::__private);

    let hash_ty = hash.ty;
    // Spanned on the field's type so "cannot be a key attribute" points at it.
    let hash_key_ty = quote_spanned!(hash_ty.span()=> #hash_ty);
    let range_key_ty = match range {
        Some(r) => {
            let ty = r.ty;
            quote_spanned!(ty.span()=> #ty)
        }
        None => quote!(#private::NoRangeKey),
    };
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
            Conv::Key if f.attrs.hash_key.is_some() => quote!(put_hash_key::<Self>),
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
        let take = match f.conv {
            Conv::Skip => {
                return quote_spanned! {ty.span()=>
                    #member: ::core::default::Default::default(),
                }
            }
            Conv::Key if f.attrs.hash_key.is_some() => quote!(take_hash_key::<Self>),
            Conv::Key => quote!(take_range_key::<Self>),
            Conv::Direct | Conv::File => quote!(take_attr),
            Conv::Set => quote!(take_set),
            Conv::Serde => quote!(take_serde),
        };
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

    let files_ty = if model.files().next().is_some() {
        quote!(::dynox_s3::__private::S3Files<Self>)
    } else {
        quote!(#private::NoFiles)
    };

    let version = match model.fields.iter().find(|f| f.attrs.version.is_some()) {
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

    let ttl = match model.fields.iter().find(|f| f.attrs.ttl.is_some()) {
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
        ("created_at", quote!(CREATED_AT)),
        ("updated_at", quote!(UPDATED_AT)),
    ] {
        let found = model.fields.iter().find(|f| {
            if role == "created_at" {
                f.attrs.created_at.is_some()
            } else {
                f.attrs.updated_at.is_some()
            }
        });
        let Some(f) = found else { continue };
        let name = &f.name;
        let member = f.ident;
        let ty = f.ty;
        stamp_consts.push(quote! {
            const #konst: ::core::option::Option<&'static str> = ::core::option::Option::Some(#name);
        });
        stamps.push(if role == "created_at" {
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
    }
}
