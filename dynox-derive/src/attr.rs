//! Parsing of `#[dynamo(...)]` attributes into typed values.
//!
//! Unknown keys are errors that list the valid ones; a key given twice is an error; a key that
//! needs a value says which form it takes.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr};

use crate::ctxt::Ctxt;

/// Keys valid on the struct.
const CONTAINER_KEYS: &str = "`table = \"...\"`, `global_index(...)`, `local_index(...)`";
/// Keys valid in `global_index(...)` / `local_index(...)`.
const INDEX_KEYS: &str = "`name = \"...\"`, `hash_key = field`, `range_key = field`, `projection = \"all\" | \"keys_only\"`, `include(field, ...)`";
/// Keys valid on a field.
const FIELD_KEYS: &str =
    "`hash_key`, `range_key`, `rename = \"...\"`, `set`, `skip`, `ttl`, `version`, `created_at`, `updated_at`";

/// A value given in an attribute, with the span of where it was given.
pub struct Spanned<T> {
    pub value: T,
    pub span: proc_macro2::Span,
}

/// `#[dynamo(...)]` on the struct.
#[derive(Default)]
pub struct Container {
    pub table: Option<Spanned<String>>,
    pub indexes: Vec<Index>,
    /// `model = Path`: the model a `DynamoProjection` reads from.
    pub model: Option<syn::Path>,
}

/// Global or local secondary index.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Global,
    Local,
}

/// `global_index(...)` or `local_index(...)` on the struct.
pub struct Index {
    pub kind: IndexKind,
    /// The span of `global_index` / `local_index`.
    pub span: proc_macro2::Span,
    pub name: Option<Spanned<String>>,
    pub hash_key: Option<syn::Ident>,
    pub range_key: Option<syn::Ident>,
    /// `"all"` or `"keys_only"`.
    pub projection: Option<Spanned<String>>,
    pub include: Option<Vec<syn::Ident>>,
}

/// `#[dynamo(...)]` and `#[s3(...)]` on a field.
#[derive(Default)]
pub struct Field {
    pub hash_key: Option<proc_macro2::Span>,
    pub range_key: Option<proc_macro2::Span>,
    pub rename: Option<Spanned<String>>,
    pub set: Option<proc_macro2::Span>,
    pub skip: Option<proc_macro2::Span>,
    pub version: Option<proc_macro2::Span>,
    pub ttl: Option<proc_macro2::Span>,
    pub created_at: Option<proc_macro2::Span>,
    pub updated_at: Option<proc_macro2::Span>,
    pub s3: Option<S3>,
}

/// Keys valid in `#[s3(...)]`.
const S3_KEYS: &str = "`bucket = \"...\"`, `prefix = \"...\"`, `region = \"...\"`, `key = \"...\"`";

/// `#[s3(...)]` on a field: a file kept in S3.
pub struct S3 {
    /// The attribute's span, for errors about the field as a whole.
    pub span: proc_macro2::Span,
    pub bucket: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
}

fn set_once<T>(cx: &mut Ctxt, slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) {
    if slot.is_some() {
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate `{}`: give it once", path_name(meta)),
        );
    } else {
        *slot = Some(value);
    }
}

fn path_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| "attribute".into())
}

/// Reads `key = "string"`, reporting the expected form on any other shape.
fn string_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Spanned<String>> {
    let form = format!("expected `{key} = \"...\"`");
    let value = meta.value().map_err(|e| syn::Error::new(e.span(), &form))?;
    let lit: LitStr = value.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{form}: the value must be a string literal"),
        )
    })?;
    Ok(Spanned {
        value: lit.value(),
        span: lit.span(),
    })
}

/// Rejects `key = value` or `key(...)` on a flag key.
fn flag(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<proc_macro2::Span> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{key}` takes no value: write `#[dynamo({key})]`")));
    }
    Ok(meta
        .path
        .get_ident()
        .map_or_else(proc_macro2::Span::call_site, |i| i.span()))
}

fn is_dynamo(attr: &Attribute) -> bool {
    attr.path().is_ident("dynamo")
}

/// Parses every `#[dynamo(...)]` on the struct.
pub fn container(cx: &mut Ctxt, attrs: &[Attribute]) -> Container {
    let mut out = Container::default();
    for attr in attrs.iter().filter(|a| is_dynamo(a)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let v = string_value(&meta, "table")?;
                set_once(cx, &mut out.table, v, &meta);
            } else if meta.path.is_ident("global_index") || meta.path.is_ident("local_index") {
                let kind = if meta.path.is_ident("global_index") {
                    IndexKind::Global
                } else {
                    IndexKind::Local
                };
                out.indexes.push(index(cx, &meta, kind)?);
            } else if meta.path.is_ident("model") {
                let value = meta.value()?;
                let path: syn::Path = value
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), "expected `model = ModelType`"))?;
                set_once(cx, &mut out.model, path, &meta);
            } else {
                let name = path_name(&meta);
                let hint = match name.as_str() {
                    "hash_key" | "range_key" | "rename" | "set" | "skip" | "version" | "ttl"
                    | "created_at" | "updated_at" => {
                        format!("; `{name}` belongs on a field")
                    }
                    _ => String::new(),
                };
                cx.error_spanned_by(
                    &meta.path,
                    format!("unknown struct attribute `{name}`{hint}; expected {CONTAINER_KEYS}"),
                );
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    out
}

/// Reads `key = field_name`.
fn ident_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<syn::Ident> {
    let form = format!("expected `{key} = field_name`");
    let value = meta.value().map_err(|e| syn::Error::new(e.span(), &form))?;
    value.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{form}: the value is a field of the struct"),
        )
    })
}

/// Parses `global_index(...)` / `local_index(...)`.
fn index(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, kind: IndexKind) -> syn::Result<Index> {
    let mut out = Index {
        kind,
        span: meta
            .path
            .get_ident()
            .map_or_else(proc_macro2::Span::call_site, |i| i.span()),
        name: None,
        hash_key: None,
        range_key: None,
        projection: None,
        include: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("expected `{}({INDEX_KEYS})`", path_name(meta))));
    }
    meta.parse_nested_meta(|inner| {
        let name = path_name(&inner);
        match name.as_str() {
            "name" => {
                let v = string_value(&inner, "name")?;
                set_once(cx, &mut out.name, v, &inner);
            }
            "hash_key" => {
                let v = ident_value(&inner, "hash_key")?;
                set_once(cx, &mut out.hash_key, v, &inner);
            }
            "range_key" => {
                let v = ident_value(&inner, "range_key")?;
                set_once(cx, &mut out.range_key, v, &inner);
            }
            "projection" => {
                let v = string_value(&inner, "projection")?;
                set_once(cx, &mut out.projection, v, &inner);
            }
            "include" => {
                let mut fields = Vec::new();
                inner.parse_nested_meta(|field| {
                    match field.path.get_ident() {
                        Some(ident) => fields.push(ident.clone()),
                        None => cx.error_spanned_by(&field.path, "expected a field name"),
                    }
                    Ok(())
                })?;
                set_once(cx, &mut out.include, fields, &inner);
            }
            _ => {
                cx.error_spanned_by(
                    &inner.path,
                    format!("unknown index attribute `{name}`; expected {INDEX_KEYS}"),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Parses every `#[dynamo(...)]` and `#[s3(...)]` on a field.
pub fn field(cx: &mut Ctxt, attrs: &[Attribute]) -> Field {
    let mut out = Field::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("s3")) {
        if out.s3.is_some() {
            cx.error_spanned_by(
                attr,
                "duplicate `#[s3(...)]`: give the field's S3 settings once",
            );
            continue;
        }
        let mut s3 = S3 {
            span: attr
                .path()
                .get_ident()
                .map_or_else(proc_macro2::Span::call_site, |i| i.span()),
            bucket: None,
            prefix: None,
            region: None,
            key: None,
        };
        let result = attr.parse_nested_meta(|meta| {
            let name = path_name(&meta);
            let slot = match name.as_str() {
                "bucket" => &mut s3.bucket,
                "prefix" => &mut s3.prefix,
                "region" => &mut s3.region,
                "key" => &mut s3.key,
                _ => {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("unknown `s3` attribute `{name}`; expected one of {S3_KEYS}"),
                    );
                    return skip_value(&meta);
                }
            };
            let v = string_value(&meta, &name)?;
            set_once(cx, slot, v, &meta);
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
        out.s3 = Some(s3);
    }
    for attr in attrs.iter().filter(|a| is_dynamo(a)) {
        let result = attr.parse_nested_meta(|meta| {
            let name = path_name(&meta);
            match name.as_str() {
                "hash_key" => {
                    let span = flag(&meta, "hash_key")?;
                    set_once(cx, &mut out.hash_key, span, &meta);
                }
                "range_key" => {
                    let span = flag(&meta, "range_key")?;
                    set_once(cx, &mut out.range_key, span, &meta);
                }
                "set" => {
                    let span = flag(&meta, "set")?;
                    set_once(cx, &mut out.set, span, &meta);
                }
                "skip" => {
                    let span = flag(&meta, "skip")?;
                    set_once(cx, &mut out.skip, span, &meta);
                }
                "version" => {
                    let span = flag(&meta, "version")?;
                    set_once(cx, &mut out.version, span, &meta);
                }
                "ttl" => {
                    let span = flag(&meta, "ttl")?;
                    set_once(cx, &mut out.ttl, span, &meta);
                }
                "created_at" => {
                    let span = flag(&meta, "created_at")?;
                    set_once(cx, &mut out.created_at, span, &meta);
                }
                "updated_at" => {
                    let span = flag(&meta, "updated_at")?;
                    set_once(cx, &mut out.updated_at, span, &meta);
                }
                "rename" => {
                    let v = string_value(&meta, "rename")?;
                    set_once(cx, &mut out.rename, v, &meta);
                }
                _ => {
                    let hint = if name == "table" {
                        "; `table` belongs on the struct"
                    } else {
                        ""
                    };
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "unknown field attribute `{name}`{hint}; expected one of {FIELD_KEYS}"
                        ),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    out
}

/// Consumes the value of an unknown key so parsing can go on to the next key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let value = meta.value()?;
        value.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}
