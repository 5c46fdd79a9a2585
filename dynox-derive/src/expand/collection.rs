//! `#[derive(DynamoCollection)]`: an enum whose variants each hold one model of a shared
//! table. Parsed and checked here (the input is small: variants and one attribute), then
//! expanded into the `Collection` impl, one `Projection` impl per model (reads dispatch each
//! item by its entity type) and the typed `query` and `batch_get`.
//!
//! What the macro cannot see (the models' tables, entity types and entity attributes) is
//! checked by constant assertions in the generated code, each spanned on the variant's type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Type};

use super::{dummy, private, set_root};
use crate::ctxt::Ctxt;

/// One variant: a model, or the `#[dynamo(other)]` variant that takes unknown items raw.
struct Variant<'a> {
    ident: &'a syn::Ident,
    ty: &'a Type,
    other: bool,
}

/// The whole expansion, or every error found.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::new();
    let krate = container_attrs(&mut cx, input);
    set_root(krate.as_ref());
    let variants = variants(&mut cx, input);
    if let Err(errors) = cx.check() {
        return errors.to_compile_error();
    }
    expand(input, &variants)
}

/// `#[dynamo(crate = "...")]` is the only container attribute.
fn container_attrs(cx: &mut Ctxt, input: &DeriveInput) -> Option<syn::Path> {
    let mut krate = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("dynamo")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: syn::LitStr = meta.value()?.parse()?;
                krate = Some(path.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown collection attribute: expected `crate = \"...\"` (a collection takes its table and entity attribute from its models)",
                ))
            }
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    krate
}

/// The variants, each checked: one unnamed field; at most one `#[dynamo(other)]`; at least
/// one model; no generics.
fn variants<'a>(cx: &mut Ctxt, input: &'a DeriveInput) -> Vec<Variant<'a>> {
    let Data::Enum(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`DynamoCollection` derives on an enum whose variants each hold one model, e.g. `enum CustomerItems { Customer(Customer), Order(Order) }`",
        );
        return Vec::new();
    };
    // A collection is read into as a whole; generic parameters would need bounds per model.
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "a collection cannot be generic: name its models",
        );
    }
    let mut out = Vec::new();
    for variant in &data.variants {
        let other = variant_other(cx, variant);
        let field = match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => &fields.unnamed[0],
            _ => {
                let ty = match variant.fields.iter().next() {
                    Some(field) if variant.fields.len() == 1 => type_name(&field.ty),
                    _ => "Model".to_owned(),
                };
                let hint = if other {
                    format!("`{}(dynox::item::Item)`", variant.ident)
                } else {
                    format!("`{}({ty})`, one model per variant", variant.ident)
                };
                cx.error_spanned_by(
                    variant,
                    format!("a collection variant holds exactly one unnamed field: write {hint}"),
                );
                continue;
            }
        };
        out.push(Variant {
            ident: &variant.ident,
            ty: &field.ty,
            other,
        });
    }
    // One place for items of unknown types; more would be ambiguous.
    for extra in out.iter().filter(|v| v.other).skip(1) {
        cx.error_spanned_by(
            extra.ident,
            "only one variant can be `#[dynamo(other)]`: it receives every item of an entity type the collection does not list",
        );
    }
    // A collection reads the table of its first model.
    if out.iter().all(|v| v.other) && !data.variants.is_empty() {
        cx.error_spanned_by(
            &input.ident,
            "a collection needs at least one variant holding a model",
        );
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(
            &input.ident,
            "a collection needs at least one variant holding a model",
        );
    }
    out
}

/// Whether `variant` is marked `#[dynamo(other)]`; other keys are errors.
fn variant_other(cx: &mut Ctxt, variant: &syn::Variant) -> bool {
    let mut other = false;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("dynamo")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("other") {
                other = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown variant attribute: expected `other` (the variant that receives items of entity types the collection does not list, as `dynox::item::Item`)",
                ))
            }
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    other
}

fn expand(input: &DeriveInput, variants: &[Variant<'_>]) -> TokenStream {
    let private = private();
    let ident = &input.ident;
    let vis = &input.vis;
    let models: Vec<&Variant<'_>> = variants.iter().filter(|v| !v.other).collect();
    let first_ty = models[0].ty;
    let first = quote!(<#first_ty as #private::Variant>::Model);
    // The attributes read: every attribute if a variant holds a model, else the union of the
    // partial types' and the entity attribute.
    let parts = models.iter().map(|v| {
        let ty = v.ty;
        quote!(<#ty as #private::Variant>::ATTRIBUTES)
    });
    let attributes = quote! {
        const __PARTS: &[::core::option::Option<&'static [&'static str]>] = &[#(#parts),*];
        const __LEN: usize = #private::attributes_len(__PARTS);
        const __MERGED: ([&'static str; __LEN], ::core::option::Option<usize>) =
            #private::merge_attributes(__PARTS, #private::entity_attribute::<#first>());
        const __ATTRIBUTES: ::core::option::Option<&'static [&'static str]> =
            #private::merged(&__MERGED.0, __MERGED.1);
    };
    let checks = checks(ident, &models);
    // Each item goes to the variant of its entity type.
    let arms = models.iter().map(|v| {
        let (variant, ty) = (v.ident, v.ty);
        let model = quote!(<#ty as #private::Variant>::Model);
        quote! {
            if __entity == ::core::option::Option::Some(#private::entity_name::<#model>()) {
                return #private::Result::Ok(#private::Reader::of::<#model>(|__item| {
                    <#ty as #private::Variant>::from_item(__item).map(Self::#variant)
                }));
            }
        }
    });
    let unknown = match variants.iter().find(|v| v.other) {
        Some(v) => {
            let variant = v.ident;
            quote_spanned! {v.ty.span()=>
                #private::Result::Ok(#private::Reader::raw(|__item| #private::Result::Ok(Self::#variant(__item))))
            }
        }
        None => quote! {
            #private::Result::Err(#private::unknown_entity::<Self>(__attribute, __item))
        },
    };
    // The `after_load` hook of the variant read.
    let hook_arms = variants.iter().map(|v| {
        let (variant, ty) = (v.ident, v.ty);
        if v.other {
            quote!(Self::#variant(_) => ::core::option::Option::None,)
        } else {
            quote!(Self::#variant(__value) => <#ty as #private::Variant>::after_load(__value, __client),)
        }
    });
    let after_load = quote! {
        fn after_load<'__a>(
            &'__a mut self,
            __client: &'__a #private::Client,
        ) -> ::core::option::Option<#private::BoxFuture<'__a, #private::HookResult>> {
            match self {
                #(#hook_arms)*
            }
        }
    };
    let projections = models.iter().map(|v| {
        let ty = v.ty;
        let model = quote_spanned!(ty.span()=> <#ty as #private::Variant>::Model);
        quote_spanned! {ty.span()=>
            #[automatically_derived]
            impl #private::Member<#model> for #ident {}

            #[automatically_derived]
            impl #private::Projection<#model> for #ident {
                const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> = __ATTRIBUTES;
                const EVERY_ENTITY: bool = true;

                fn from_item(
                    __item: #private::Item,
                ) -> #private::Result<Self, #private::FieldError> {
                    Self::__reader(&__item)?.decode(__item)
                }

                fn reader(
                    __item: &#private::Item,
                ) -> #private::Result<#private::Reader<Self>, #private::FieldError> {
                    Self::__reader(__item)
                }

                #after_load
            }
        }
    });
    let names = models
        .iter()
        .map(|v| format!("`{}`", v.ident))
        .collect::<Vec<_>>()
        .join(", ");
    let query_doc = format!(
        "Queries a partition (`Customer::partition(..)`, or an index's) for the items of every entity type, each read into its variant ({names})."
    );
    let batch_doc = format!(
        "Reads the items with `keys`, of any of the collection's models ({names}), each into its variant (BatchGetItem, 100 keys a request)."
    );
    let items = dummy::wrap(quote! {
        #checks
        #attributes

        #[automatically_derived]
        impl #private::Collection for #ident {
            type Table = #first;
            const ENTITIES: &'static str = #names;
        }

        #(#projections)*

        #[automatically_derived]
        impl #ident {
            fn __reader(
                __item: &#private::Item,
            ) -> #private::Result<#private::Reader<Self>, #private::FieldError> {
                let __attribute = #private::entity_attribute::<#first>();
                let __entity = #private::item_entity(__item, __attribute);
                #(#arms)*
                #unknown
            }
        }
    });
    quote! {
        #items

        #[automatically_derived]
        impl #ident {
            #[doc = #query_doc]
            #vis fn query<__M: #private::Model, __R>(
                __client: &#private::Client,
                __partition: #private::Partition<__M, __R>,
            ) -> #private::Query<__M, __R, Self>
            where
                Self: #private::Member<__M>,
            {
                #private::collection_query(__client, __partition)
            }

            #[doc = #batch_doc]
            #vis fn batch_get(
                __client: &#private::Client,
                __keys: impl ::core::iter::IntoIterator<Item = #private::CollectionKey<Self>>,
            ) -> #private::CollectionBatchGet<Self> {
                #private::collection_batch_get(__client, __keys)
            }
        }
    }
}

/// Constant assertions, each on a variant's type: its model declares an entity type, shares
/// the first model's table and entity attribute, and no two models declare the same type.
fn checks(collection: &syn::Ident, models: &[&Variant<'_>]) -> TokenStream {
    let private = private();
    let model = |ty: &Type| quote!(<#ty as #private::Variant>::Model);
    let first_ty = models[0].ty;
    let first = model(first_ty);
    let first_name = type_name(first_ty);
    let mut asserts = Vec::new();
    for (i, v) in models.iter().enumerate() {
        let name = type_name(v.ty);
        let ty = model(v.ty);
        let no_entity = format!(
            "`{name}` declares no entity type: every model of collection `{collection}` needs `#[dynamo(entity = \"...\")]`, which reads dispatch on"
        );
        asserts.push(quote_spanned! {v.ty.span()=>
            const _: () = ::core::assert!(<#ty as #private::Model>::ENTITY.is_some(), #no_entity);
        });
        if i > 0 {
            let table = format!(
                "`{name}` is stored in another table than `{first_name}`: the models of collection `{collection}` share one table"
            );
            let attribute = format!(
                "`{name}` records its entity type in another attribute than `{first_name}`: the models of collection `{collection}` share one entity attribute"
            );
            asserts.push(quote_spanned! {v.ty.span()=>
                const _: () = ::core::assert!(
                    #private::same_str(<#ty as #private::Model>::TABLE, <#first as #private::Model>::TABLE),
                    #table
                );
                const _: () = ::core::assert!(
                    <#ty as #private::Model>::ENTITY.is_none()
                        || #private::same_str(#private::entity_attribute::<#ty>(), #private::entity_attribute::<#first>()),
                    #attribute
                );
            });
        }
        for earlier in &models[..i] {
            let other = model(earlier.ty);
            let duplicate = format!(
                "`{name}` and `{}` declare the same entity type: collection `{collection}` could not tell their items apart",
                type_name(earlier.ty)
            );
            asserts.push(quote_spanned! {v.ty.span()=>
                const _: () = ::core::assert!(
                    <#ty as #private::Model>::ENTITY.is_none()
                        || !#private::same_str(#private::entity_name::<#ty>(), #private::entity_name::<#other>()),
                    #duplicate
                );
            });
        }
    }
    quote!(#(#asserts)*)
}

/// A type as the user wrote it, for messages.
fn type_name(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}
