//! `Model::fields()`: a typed [`Path`] per stored field, for conditions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::private;
use crate::ast::{option_inner, Conv, Model};

/// `{Model}Fields` (at module level: it is what `fields()` returns, documented and nameable
/// by the user) and `impl {Model} { fn fields() }`. Neither depends on the attributes being
/// valid, so a stub uses them as they are.
pub fn expand(model: &Model<'_>) -> (TokenStream, TokenStream) {
    let ident = model.ident;
    let vis = model.vis;
    let private = private();
    let fields_ident = format_ident!("{}Fields", ident);
    let mut members = Vec::new();
    let mut values = Vec::new();
    for f in &model.fields {
        let (ty, codec) = match f.conv {
            Conv::Skip => continue,
            Conv::File => (quote!(()), quote!(File)),
            Conv::Set => {
                let ty = f.ty;
                (quote!(#ty), quote!(Set))
            }
            Conv::Key => {
                let ty = f.ty;
                (quote!(#ty), quote!(Direct))
            }
            Conv::Direct | Conv::Serde => {
                let inner = option_inner(f.ty).unwrap_or(f.ty);
                let codec = if f.conv == Conv::Direct {
                    quote!(Direct)
                } else {
                    quote!(Serde)
                };
                (quote!(#inner), codec)
            }
        };
        let member = f.ident;
        let name = &f.name;
        let doc = if f.conv == Conv::File {
            format!("The `{name}` file attribute (for `exists` / `not_exists`).")
        } else {
            format!("The `{name}` attribute.")
        };
        members.push(quote! {
            #[doc = #doc]
            #vis #member: #private::Path<#ident, #ty, #private::#codec>,
        });
        values.push(quote!(#member: #private::Path::attribute(#name),));
    }
    let struct_doc =
        format!("Typed attribute paths of `{ident}`, for conditions: `{ident}::fields()`.");
    let fn_doc = format!("Typed attribute paths of `{ident}`, for conditions and filters.");
    let ty = quote! {
        #[doc = #struct_doc]
        #[automatically_derived]
        #[allow(dead_code)]
        #vis struct #fields_ident {
            #(#members)*
        }
    };
    let constructor = quote! {
        #[automatically_derived]
        impl #ident {
            #[doc = #fn_doc]
            #vis fn fields() -> #fields_ident {
                #fields_ident {
                    #(#values)*
                }
            }
        }
    };
    (ty, constructor)
}
