//! `impl S3Model` for models with `#[s3]` fields: each field's settings and its slot.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{s3_private, Mode};
use crate::ast::Model;
use crate::attr::compression_variant;

/// `impl S3Model`, for a model with files; a stub lists no field.
pub fn expand(model: &Model<'_>, mode: Mode) -> TokenStream {
    if model.files().next().is_none() {
        return TokenStream::new();
    }
    let ident = model.ident;
    let s3 = s3_private();
    let fields: Vec<TokenStream> = model
        .files()
        .filter(|_| mode == Mode::Full)
        .filter_map(|f| {
            let spec = f.attrs.s3.as_ref()?;
            let name = &f.name;
            let bucket = spec
                .bucket
                .as_ref()
                .map(|b| b.value.clone())
                .unwrap_or_default();
            let prefix = spec
                .prefix
                .as_ref()
                .map(|p| p.value.clone())
                .unwrap_or_default();
            let option = |v: &Option<crate::attr::Spanned<String>>| match v {
                Some(v) => {
                    let v = &v.value;
                    quote!(::core::option::Option::Some(#v))
                }
                None => quote!(::core::option::Option::None),
            };
            let region = option(&spec.region);
            let template = option(&spec.key);
            let client = option(&spec.client);
            let shared = spec.shared.is_some();
            // Checked to be a retention before expansion.
            let retain = match spec
                .retain
                .as_ref()
                .and_then(|r| crate::attr::retention_secs(&r.value).ok())
            {
                Some(secs) => quote!(::core::option::Option::Some(
                    ::core::time::Duration::from_secs(#secs)
                )),
                None => quote!(::core::option::Option::None),
            };
            // Checked to be one of `COMPRESSIONS` before expansion.
            // The codec's feature must be on: the check is spanned on `compress = "..."`.
            let compress = match spec
                .compress
                .as_ref()
                .and_then(|c| Some((c, compression_variant(&c.value)?)))
            {
                Some((attr, variant)) => {
                    let marker = format_ident!("{variant}Codec");
                    let variant = format_ident!("{variant}");
                    let check = quote_spanned!(attr.span=> #s3::require_codec::<#s3::#marker>());
                    quote!({
                        #check;
                        ::core::option::Option::Some(#s3::Compression::#variant)
                    })
                }
                None => quote!(::core::option::Option::None),
            };
            let member = f.ident;
            let overflow = spec.overflow.is_some();
            let sha256 = spec.sha256.is_some();
            let slot = format_ident!("__slot");
            // Spanned on the field's type: a type that is not a file (`S3Object`, `S3Value`,
            // or an `Option` of one) is reported there. An overflow field is an ordinary
            // attribute, with no file.
            let call = if overflow {
                quote!({
                    let _ = model;
                    ::core::option::Option::None
                })
            } else {
                let ty = f.ty;
                quote_spanned!(f.ty.span()=> <#ty as #s3::FileSlot>::slot(&mut model.#member))
            };
            Some(quote! {
                #s3::S3Field {
                    name: #name,
                    bucket: #bucket,
                    prefix: #prefix,
                    region: #region,
                    key_template: #template,
                    compress: #compress,
                    client: #client,
                    shared: #shared,
                    overflow: #overflow,
                    retain: #retain,
                    sha256: #sha256,
                    slot: {
                        fn #slot(model: &mut #ident) -> ::core::option::Option<&mut #s3::S3Object> {
                            #call
                        }
                        #slot
                    },
                },
            })
        })
        .collect();
    super::s3_gated(quote! {
        #[automatically_derived]
        impl #s3::S3Model for #ident {
            const S3_FIELDS: &'static [#s3::S3Field<Self>] = &[#(#fields)*];
        }
    })
}
