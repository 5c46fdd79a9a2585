//! `#[derive(DynamoProjection)]`: a partial type of a model, read through the model's
//! field readers (see `readers`), so names and types cannot drift apart.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::Model;
use crate::ctxt::Ctxt;
use crate::expand::readers::reader_ident;

/// The whole expansion of `#[derive(DynamoProjection)]`, or every error found.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Model::from_input(&mut cx, input);
    if let Some(model) = &model {
        check(&mut cx, model);
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    let (Some(model), Some(source)) = (
        model.as_ref(),
        model.as_ref().and_then(|m| m.source.as_ref()),
    ) else {
        return TokenStream::new();
    };
    let ident = model.ident;
    let private = quote!(::dynox_core::__private);
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
    quote! {
        #[automatically_derived]
        impl #private::Projection<#source> for #ident {
            const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#names),*]);

            fn from_item(
                mut __item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                #private::Result::Ok(Self {
                    #(#takes)*
                })
            }
        }
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
    for f in &model.fields {
        let a = &f.attrs;
        let flagged = a.hash_key.is_some()
            || a.range_key.is_some()
            || a.set.is_some()
            || a.skip.is_some()
            || a.version.is_some()
            || a.ttl.is_some()
            || a.rename.is_some()
            || a.s3.is_some();
        if flagged {
            cx.syn_error(syn::Error::new(
                f.ty.span(),
                format!(
                    "`{}` takes its attribute name and conversion from the model's field of the same name: remove its attributes",
                    f.ident
                ),
            ));
        }
    }
}
