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
    let range_key_ty = match range {
        Some(range) => key_ty(range),
        None if model.sk.is_some() => quote!(::std::string::String),
        None => quote!(#private::NoRangeKey),
    };
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
    if let (Mode::Full, true, Some(table)) = (mode, model.templated(), &model.table) {
        return templated(
            model,
            &table.value,
            &files_ty,
            &hash_key_ty,
            &range_key_ty,
            batch_writable,
        );
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

    let capacity = model.fields.len() + 1;
    let puts = puts(model);
    let takes = takes(model, &[]);
    let hash_member = hash.ident;
    let range_value = match range {
        Some(r) => {
            let m = r.ident;
            quote!(::core::clone::Clone::clone(&self.#m))
        }
        None => quote!(#private::NoRangeKey),
    };

    let lifecycle = lifecycle(model);

    quote! {
        #[automatically_derived]
        impl #private::Model for #ident {
            #lifecycle
            type HashKey = #hash_key_ty;
            type RangeKey = #range_key_ty;
            type Files = #files_ty;
            const TABLE: &'static str = #table;
            const SCHEMA: #private::KeySchema = #private::KeySchema {
                hash: #private::hash_key_attr::<Self>(#hash_name),
                range: #range_attr,
            };

            fn to_item(&self) -> #private::Result<#private::Item, #private::FieldError> {
                let mut __item = #private::Item::with_capacity(#capacity);
                #(#puts)*
                #private::put_entity::<Self>(&mut __item);
                #private::Result::Ok(__item)
            }

            fn from_item(
                mut __item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                #private::check_entity::<Self>(&__item)?;
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

/// The takes of the fields out of `__item`; a field of `key_fields` (a templated key's) the
/// item does not store is read back from the key (`__keys`).
fn takes(model: &Model<'_>, key_fields: &[&str]) -> Vec<TokenStream> {
    let private = private();
    model
        .fields
        .iter()
        .map(|f| {
            let member = f.ident;
            let name = &f.name;
            let ty = f.ty;
            if f.conv == Conv::Skip {
                return quote_spanned! {ty.span()=>
                    #member: ::core::default::Default::default(),
                };
            }
            let take = take_fn(f, &quote!(Self));
            if key_fields.iter().any(|k| f.ident == k) {
                quote_spanned! {ty.span()=>
                    #member: if __item.contains_key(#name) {
                        #private::#take(&mut __item, #name)?
                    } else {
                        #private::field_from_key::<#ty>(&__keys, #name)?
                    },
                }
            } else {
                quote_spanned! {ty.span()=>
                    #member: #private::#take(&mut __item, #name)?,
                }
            }
        })
        .collect()
}

/// The puts of the stored fields into `__item`.
fn puts(model: &Model<'_>) -> Vec<TokenStream> {
    let private = private();
    model
        .fields
        .iter()
        .filter(|f| f.conv != Conv::Skip)
        .map(|f| {
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
        })
        .collect()
}

/// The runtime's `KeyTemplate` of `template`, its fields named by their attributes.
pub fn template_const(model: &Model<'_>, template: &crate::ast::Template) -> TokenStream {
    let private = private();
    let attribute = &template.attribute;
    let parts = template.parts.iter().map(|part| match part {
        crate::ast::Part::Lit(text) => quote!(#private::Part::Lit(#text)),
        crate::ast::Part::Field(name) => {
            let attr = model
                .field_named(name)
                .map_or(name.as_str(), |f| f.name.as_str());
            quote!(#private::Part::Field(#attr))
        }
    });
    quote!(#private::KeyTemplate { attribute: #attribute, parts: &[#(#parts),*] })
}

/// Writes key template `source` (an expression of `&'static KeyTemplate`) from `values`, one
/// expression per template field, each a reference to its value; `index`: `Option<String>`.
pub fn write_key(
    template: &crate::ast::Template,
    source: TokenStream,
    values: impl Fn(&str) -> TokenStream,
    index: bool,
) -> TokenStream {
    let segments = template.fields().map(|name| {
        let value = values(name);
        if index {
            quote!(__w.index_segment(#value);)
        } else {
            quote!(__w.segment(#value);)
        }
    });
    let finish = if index {
        quote!(__w.finish_index())
    } else {
        quote!(__w.finish())
    };
    quote! {{
        let mut __w = #source.writer();
        #(#segments)*
        #finish
    }}
}

/// A value of field `name` of `self`, spanned on its type so a type that is no key segment is
/// reported there.
fn self_value(model: &Model<'_>, name: &str) -> TokenStream {
    match model.field_named(name) {
        Some(f) => {
            let member = f.ident;
            let ty = f.ty;
            quote_spanned!(ty.span()=> &self.#member)
        }
        None => quote!(&()),
    }
}

/// `impl Model` of a model whose keys are built by templates.
fn templated(
    model: &Model<'_>,
    table: &str,
    files_ty: &TokenStream,
    hash_key_ty: &TokenStream,
    range_key_ty: &TokenStream,
    batch_writable: TokenStream,
) -> TokenStream {
    let ident = model.ident;
    let private = private();
    let templates = model.key_templates();
    let key_consts = templates.iter().map(|t| template_const(model, t));
    let (index_templates, index_consts): (Vec<_>, Vec<_>) = model
        .indexes
        .iter()
        .flat_map(|index| {
            let (pk, sk) = crate::ast::index_templates(index);
            [pk, sk]
        })
        .flatten()
        .map(|t| {
            let c = template_const(model, &t);
            (t, c)
        })
        .unzip();
    // How an update that sets a field of an index template writes the index key: one reader
    // per field, once.
    let mut segment_fields: Vec<&Field<'_>> = Vec::new();
    for name in index_templates.iter().flat_map(|t| t.fields()) {
        if let Some(f) = model.field_named(name) {
            if !segment_fields.iter().any(|s| s.ident == f.ident) {
                segment_fields.push(f);
            }
        }
    }
    let segment_readers = segment_fields.iter().map(|f| {
        let attr = &f.name;
        let reader = super::readers::reader_ident(f.ident);
        quote! {
            #private::SegmentReader {
                attribute: #attr,
                text: |__value| #private::segment_text(&#ident::#reader, __value),
            }
        }
    });
    let hash_attr = &templates[0].attribute;
    let range_attr = match templates.get(1) {
        Some(t) => {
            let a = &t.attribute;
            quote!(::core::option::Option::Some(#private::KeyAttr { name: #a, scalar: #private::ScalarType::String }))
        }
        None => quote!(::core::option::Option::None),
    };
    let key_writes: Vec<TokenStream> = templates
        .iter()
        .enumerate()
        .map(|(i, t)| {
            write_key(
                t,
                quote!(<Self as #private::Model>::KEY_TEMPLATES[#i]),
                |name| self_value(model, name),
                false,
            )
        })
        .collect();
    let key_puts = templates.iter().zip(&key_writes).map(|(t, write)| {
        let a = &t.attribute;
        quote!(#private::put_key(&mut __item, #a, ::core::option::Option::Some(#write));)
    });
    let index_puts = index_templates.iter().enumerate().map(|(i, t)| {
        let a = &t.attribute;
        let write = write_key(
            t,
            quote!(<Self as #private::Model>::INDEX_TEMPLATES[#i]),
            |name| self_value(model, name),
            true,
        );
        quote!(#private::put_key(&mut __item, #a, #write);)
    });
    let hash_write = &key_writes[0];
    let range_write = match key_writes.get(1) {
        Some(w) => w.clone(),
        None => quote!(#private::NoRangeKey),
    };
    let puts = puts(model);
    let capacity = model.fields.len() + templates.len() + index_templates.len() + 1;
    let key_fields: Vec<&str> = templates.iter().flat_map(|t| t.fields()).collect();
    let takes = takes(model, &key_fields);
    let lifecycle = lifecycle(model);
    quote! {
        #[automatically_derived]
        impl #private::Model for #ident {
            #lifecycle
            const KEY_TEMPLATES: &'static [#private::KeyTemplate] = &[#(#key_consts),*];
            const INDEX_TEMPLATES: &'static [#private::KeyTemplate] = &[#(#index_consts),*];
            const INDEX_SEGMENTS: &'static [#private::SegmentReader] = &[#(#segment_readers),*];
            type HashKey = #hash_key_ty;
            type RangeKey = #range_key_ty;
            type Files = #files_ty;
            const TABLE: &'static str = #table;
            const SCHEMA: #private::KeySchema = #private::KeySchema {
                hash: #private::KeyAttr { name: #hash_attr, scalar: #private::ScalarType::String },
                range: #range_attr,
            };

            fn to_item(&self) -> #private::Result<#private::Item, #private::FieldError> {
                let mut __item = #private::Item::with_capacity(#capacity);
                #(#puts)*
                #(#key_puts)*
                #(#index_puts)*
                #private::put_entity::<Self>(&mut __item);
                #private::Result::Ok(__item)
            }

            fn from_item(
                mut __item: #private::Item,
            ) -> #private::Result<Self, #private::FieldError> {
                #private::check_entity::<Self>(&__item)?;
                let __keys = #private::template_keys::<Self>(&__item);
                #private::Result::Ok(Self {
                    #(#takes)*
                })
            }

            fn key(&self) -> #private::Key<Self> {
                #private::Key::new(#hash_write, #range_write)
            }
        }
        #batch_writable
    }
}

/// Version, time to live, timestamps, indexes and entity type: what any model declares in
/// `impl Model` besides its keys and conversions.
fn lifecycle(model: &Model<'_>) -> TokenStream {
    let private = private();
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

    let entity = match &model.entity {
        Some(entity) => {
            let name = &entity.value;
            let attribute = model.entity_attribute();
            quote! {
                const ENTITY: ::core::option::Option<#private::Entity> =
                    ::core::option::Option::Some(#private::Entity { attribute: #attribute, name: #name });
            }
        }
        None => TokenStream::new(),
    };
    let validate = validate(model);
    let hooks = match model.hooks {
        Some(span) => {
            let ident = model.ident;
            quote_spanned! {span=>
                const HOOKS: ::core::option::Option<#private::HookFns<#ident>> =
                    ::core::option::Option::Some(#private::hook_fns::<#ident>());
            }
        }
        None => TokenStream::new(),
    };
    quote! {
        #hooks
        #ttl
        #indexes
        #stamp
        #version
        #entity
        #validate
    }
}

/// `Model::validate` for a model with `#[dynamo(validate(...))]` rules: each rule of each
/// field in order, the first broken one returned. Trait bounds are spanned on the field's type,
/// a `with` function's signature on its path.
fn validate(model: &Model<'_>) -> TokenStream {
    use crate::attr::Rule;
    let private = private();
    let mut checks = Vec::new();
    let mut field_rules = Vec::new();
    for f in &model.fields {
        let Some(rules) = &f.attrs.validate else {
            continue;
        };
        let member = f.ident;
        let ty = f.ty;
        let name = f.ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        let some = |v: Option<TokenStream>| match v {
            Some(v) => quote!(::core::option::Option::Some(#v)),
            None => quote!(::core::option::Option::None),
        };
        // The field's rules on the value `value` (an expression of type `&#ty`).
        let rules_on = |value: TokenStream| -> Vec<TokenStream> {
            rules
                .value
                .iter()
                .map(|rule| match rule {
                    Rule::Length { min, max, .. } => {
                        let (min, max) = (
                            some(min.as_ref().map(|m| quote!(#m))),
                            some(max.as_ref().map(|m| quote!(#m))),
                        );
                        quote_spanned! {ty.span()=>
                            #private::validate::length::<#ty>(#name, #value, #min, #max)?;
                        }
                    }
                    Rule::Range { min, max, .. } => {
                        let (min, max) = (
                            some(min.as_ref().map(|m| quote!(#m))),
                            some(max.as_ref().map(|m| quote!(#m))),
                        );
                        quote_spanned! {ty.span()=>
                            #private::validate::range::<#ty>(#name, #value, #min, #max)?;
                        }
                    }
                    Rule::Pattern(lit) => quote_spanned! {ty.span()=>
                        {
                            static __PATTERN: #private::LazyLock<#private::Regex> =
                                #private::LazyLock::new(|| {
                                    #private::Regex::new(#lit).expect("the derive checked the pattern")
                                });
                            #private::validate::pattern::<#ty>(#name, #value, &__PATTERN)?;
                        }
                    },
                    Rule::With(path) => quote_spanned! {path.span()=>
                        #private::validate::with(#name, #path(#value))?;
                    },
                })
                .collect()
        };
        checks.extend(rules_on(quote!(&self.#member)));
        // The same rules on a value an update sets, decoded by the field's reader.
        let reader = super::readers::reader_ident(f.ident);
        let ident = model.ident;
        let on_value = rules_on(quote!(&__value));
        let attribute = &f.name;
        field_rules.push(quote! {
            #private::validate::FieldRules {
                attribute: #attribute,
                check: |__attribute| {
                    let __value: #ty = #private::validate::decode(#name, &#ident::#reader, __attribute)?;
                    #(#on_value)*
                    #private::Result::Ok(())
                },
            }
        });
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const FIELD_RULES: &'static [#private::validate::FieldRules] = &[#(#field_rules),*];

        fn validate(&self) -> #private::Result<(), #private::validate::Violation> {
            #(#checks)*
            #private::Result::Ok(())
        }
    }
}
