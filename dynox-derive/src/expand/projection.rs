//! `#[derive(DynamoProjection)]`: a partial type of a model, read through the model's
//! field readers (see `readers`), so names and types cannot drift apart.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use super::readers::reader_ident;
use super::{dummy, private, unreachable, Mode};
use crate::ast::Model;
use crate::ctxt::Ctxt;

/// The whole expansion of `#[derive(DynamoProjection)]`, or every error found and a stub.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let (model, mode, errors) = super::parse(input, check);
    let (Some(model), Some(source)) = (
        model.as_ref(),
        model.as_ref().and_then(|m| m.source.as_ref()),
    ) else {
        return errors;
    };
    let ident = model.ident;
    let private = private();
    let names = model.fields.iter().map(|f| {
        let reader = reader_ident(f.ident);
        quote_spanned!(f.ident.span()=> <#source>::#reader.name)
    });
    let takes = model.fields.iter().map(|f| {
        let member = f.ident;
        let reader = reader_ident(f.ident);
        let ty = f.ty;
        // Typed by the partial field, so a type that differs from the model's is reported on
        // this field.
        quote_spanned! {ty.span()=>
            #member: {
                let __value: #ty = (<#source>::#reader.take)(&mut __item)?;
                __value
            },
        }
    });
    let (attributes, item, from_item) = match mode {
        Mode::Full => (
            quote!(::core::option::Option::Some(&[#(#names),*])),
            quote!(mut __item),
            quote!(#private::Result::Ok(Self { #(#takes)* })),
        ),
        Mode::Stub => (
            quote!(::core::option::Option::None),
            quote!(_),
            unreachable(),
        ),
    };
    let items = dummy::wrap(quote! {
        #[automatically_derived]
        impl #private::Projection<#source> for #ident {
            const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> = #attributes;

            fn from_item(
                #item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                #from_item
            }
        }

        #[automatically_derived]
        impl #private::Variant for #ident {
            type Model = #source;
            const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> =
                <Self as #private::Projection<#source>>::ATTRIBUTES;

            fn from_item(
                __item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                <Self as #private::Projection<#source>>::from_item(__item)
            }
        }
    });
    quote! {
        #errors
        #items
    }
}

/// A projection names its model, has fields, and takes everything else from the model.
fn check(cx: &mut Ctxt, model: &Model<'_>) {
    if model.source.is_none() {
        cx.error_spanned_by(
            model.ident,
            format!(
                "missing model: add `#[dynamo(model = Order)]` to `{}`, naming the model it reads from",
                model.ident
            ),
        );
    }
    if let Some(table) = &model.table {
        cx.syn_error(syn::Error::new(
            table.span,
            "a projection reads its model's table: remove `table` (name the model with `model = ...`)",
        ));
    }
    if let Some(span) = model.hooks {
        cx.syn_error(syn::Error::new(
            span,
            "hooks run around a model's operations: declare them on the model, not on a projection",
        ));
    }
    if let Some(index) = model.indexes.first() {
        cx.syn_error(syn::Error::new(
            index.span,
            "indexes are declared on the model, not on a projection",
        ));
    }
    if model.fields.is_empty() {
        cx.error_spanned_by(
            model.ident,
            "a projection needs at least one field of its model",
        );
    }
    // Every attribute of the role table, so a new one cannot be forgotten here.
    for f in &model.fields {
        for (key, span) in f.attrs.given() {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "`{key}` does not belong on a projection field: `{}` takes its attribute name, conversion and role from the model's field of the same name; remove it",
                    f.ident
                ),
            ));
        }
    }
}
