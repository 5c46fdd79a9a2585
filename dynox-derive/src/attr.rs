//! Parsing of `#[dynamo(...)]` attributes into typed values.
//!
//! Unknown keys are errors that list the valid ones; a key given twice is an error; a key that
//! needs a value says which form it takes.

use std::fmt::Display;

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr};

use crate::ctxt::Ctxt;

/// Keys valid on the struct, with the form each takes.
const CONTAINER_KEYS: [(&str, &str); 10] = [
    ("table", "`table = \"...\"`"),
    ("entity", "`entity = \"...\"`"),
    ("entity_attribute", "`entity_attribute = \"...\"`"),
    ("pk", "`pk = \"TEMPLATE#{field}\"`"),
    ("sk", "`sk = \"TEMPLATE#{field}\"`"),
    ("global_index", "`global_index(...)`"),
    ("local_index", "`local_index(...)`"),
    ("crate", "`crate = \"path::to::dynox\"`"),
    ("new", "`new = false`"),
    ("hooks", "`hooks`"),
];
/// Keys valid in `global_index(...)` / `local_index(...)`.
const INDEX_KEYS: &str = "`name = \"...\"`, `hash_key = field`, `range_key = field`, `pk = \"TEMPLATE#{field}\"`, `sk = \"TEMPLATE#{field}\"`, `projection = \"all\" | \"keys_only\"`, `include(field, ...)`";

/// A flag on a field (`#[dynamo(hash_key)]`). With [`FIELD_KEYS`] this is the one table of
/// field attributes: the parser, its messages, the checks, the projection derive and the code
/// generation all read it, so a new role cannot be forgotten in one of them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    HashKey,
    RangeKey,
    Set,
    Skip,
    Ttl,
    Version,
    CreatedAt,
    UpdatedAt,
}

/// How many roles there are (the size of [`Field`]'s flag table).
const ROLES: usize = Role::UpdatedAt as usize + 1;

impl Role {
    /// The roles that say how a field is stored; a lifecycle role needs a field with none.
    pub const STORAGE: [Role; 4] = [Role::HashKey, Role::RangeKey, Role::Set, Role::Skip];
    /// The roles the runtime maintains, at most one field each, in the order they are checked.
    pub const LIFECYCLE: [Role; 4] = [Role::Version, Role::Ttl, Role::CreatedAt, Role::UpdatedAt];

    /// The key that sets the role: `#[dynamo(NAME)]`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::HashKey => "hash_key",
            Role::RangeKey => "range_key",
            Role::Set => "set",
            Role::Skip => "skip",
            Role::Ttl => "ttl",
            Role::Version => "version",
            Role::CreatedAt => "created_at",
            Role::UpdatedAt => "updated_at",
        }
    }
}

/// A key of `#[dynamo(...)]` on a field.
#[derive(Clone, Copy)]
enum FieldKey {
    Flag(Role),
    Rename,
    Validate,
}

/// Every key valid in `#[dynamo(...)]` on a field, in the order messages list them.
const FIELD_KEYS: [FieldKey; ROLES + 2] = [
    FieldKey::Flag(Role::HashKey),
    FieldKey::Flag(Role::RangeKey),
    FieldKey::Rename,
    FieldKey::Validate,
    FieldKey::Flag(Role::Set),
    FieldKey::Flag(Role::Skip),
    FieldKey::Flag(Role::Ttl),
    FieldKey::Flag(Role::Version),
    FieldKey::Flag(Role::CreatedAt),
    FieldKey::Flag(Role::UpdatedAt),
];

impl FieldKey {
    fn name(self) -> &'static str {
        match self {
            FieldKey::Flag(role) => role.name(),
            FieldKey::Rename => "rename",
            FieldKey::Validate => "validate",
        }
    }

    fn form(self) -> String {
        match self {
            FieldKey::Flag(role) => format!("`{}`", role.name()),
            FieldKey::Rename => "`rename = \"...\"`".to_owned(),
            FieldKey::Validate => "`validate(...)`".to_owned(),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        FIELD_KEYS.into_iter().find(|key| key.name() == name)
    }
}

/// `a, b, c`: the forms of a key table, for "expected ..." messages.
fn listing(forms: impl IntoIterator<Item = impl Display>) -> String {
    forms
        .into_iter()
        .map(|form| form.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

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
    /// `crate = "path"`: where generated code finds the `dynox` crate, when it is not a
    /// dependency of that name (re-exported by another crate, say).
    pub krate: Option<syn::Path>,
    /// `new = false`: no generated `new` (the struct has a `new` of its own).
    pub new: Option<bool>,
    /// `hooks`: the model implements `Hooks`, which its operations run.
    pub hooks: Option<proc_macro2::Span>,
    /// `entity = "..."`: the entity type recorded in every item.
    pub entity: Option<Spanned<String>>,
    /// `entity_attribute = "..."`: the attribute holding it.
    pub entity_attribute: Option<Spanned<String>>,
    /// `pk = "..."` or `pk(attribute = "...", template = "...")`.
    pub pk: Option<TemplateAttr>,
    /// `sk = ...`, likewise.
    pub sk: Option<TemplateAttr>,
}

/// A key template: `pk = "CUSTOMER#{customer_id}"`, or with the attribute named,
/// `pk(attribute = "PK", template = "CUSTOMER#{customer_id}")`.
pub struct TemplateAttr {
    /// The span of `pk` / `sk`.
    pub span: proc_macro2::Span,
    pub attribute: Option<Spanned<String>>,
    pub template: Spanned<String>,
}

/// Parses `key = "template"` or `key(attribute = "...", template = "...")`.
fn template(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<TemplateAttr> {
    let span = meta
        .path
        .get_ident()
        .map_or_else(proc_macro2::Span::call_site, |i| i.span());
    if !meta.input.peek(syn::token::Paren) {
        let template = string_value(meta, key)?;
        return Ok(TemplateAttr {
            span,
            attribute: None,
            template,
        });
    }
    let mut attribute = None;
    let mut template = None;
    meta.parse_nested_meta(|inner| {
        match path_name(&inner).as_str() {
            "attribute" => {
                let v = string_value(&inner, "attribute")?;
                set_once(cx, &mut attribute, v, &inner);
            }
            "template" => {
                let v = string_value(&inner, "template")?;
                set_once(cx, &mut template, v, &inner);
            }
            other => {
                cx.error_spanned_by(
                    &inner.path,
                    format!("unknown `{key}` attribute `{other}`; expected `attribute = \"...\"`, `template = \"...\"`"),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    let template = template
        .ok_or_else(|| syn::Error::new(span, format!("`{key}(...)` needs `template = \"...\"`")))?;
    Ok(TemplateAttr {
        span,
        attribute,
        template,
    })
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
    /// `pk = "..."`: the index's hash key built by a template.
    pub pk: Option<TemplateAttr>,
    /// `sk = "..."`: its range key built by a template.
    pub sk: Option<TemplateAttr>,
}

/// `#[dynamo(...)]` and `#[s3(...)]` on a field.
#[derive(Default)]
pub struct Field {
    /// Where each [`Role`] was given, indexed by the role.
    flags: [Option<proc_macro2::Span>; ROLES],
    pub rename: Option<Spanned<String>>,
    /// `validate(...)`: the rules, and where `validate` was given.
    pub validate: Option<Spanned<Vec<Rule>>>,
    pub s3: Option<S3>,
}

/// One rule of `validate(...)`.
#[allow(clippy::large_enum_variant)] // a few per model, parsed once
pub enum Rule {
    /// `length(min = .., max = ..)`.
    Length {
        span: proc_macro2::Span,
        min: Option<syn::LitInt>,
        max: Option<syn::LitInt>,
    },
    /// `range(min = .., max = ..)`: bounds are literals or constant expressions.
    Range {
        span: proc_macro2::Span,
        min: Option<syn::Expr>,
        max: Option<syn::Expr>,
    },
    /// `pattern = "..."`.
    Pattern(LitStr),
    /// `with = path`.
    With(syn::Path),
}

/// The rules `validate(...)` takes, in the order messages list them.
const RULES: &str = "`length(min = .., max = ..)`, `range(min = .., max = ..)`, `pattern = \"...\"`, `with = function`";

/// Whether `meta` continues with `()`, which `parse_nested_meta` refuses; consumed if so.
fn empty_parens(meta: &ParseNestedMeta<'_>) -> bool {
    let empty = |input: syn::parse::ParseStream<'_>| -> syn::Result<bool> {
        let content;
        syn::parenthesized!(content in input);
        Ok(content.is_empty())
    };
    if empty(&meta.input.fork()).unwrap_or(false) {
        let _ = empty(meta.input);
        true
    } else {
        false
    }
}

/// Parses the inside of `validate(...)`.
fn validate_rules(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    if empty_parens(meta) {
        return Ok(rules);
    }
    meta.parse_nested_meta(|rule| {
        let name = path_name(&rule);
        let span = syn::spanned::Spanned::span(&rule.path);
        match name.as_str() {
            "length" | "range" => {
                let (mut min, mut max) = (None::<syn::Expr>, None::<syn::Expr>);
                let empty = empty_parens(&rule);
                (!empty).then(|| rule.parse_nested_meta(|bound| {
                    let slot = if bound.path.is_ident("min") {
                        &mut min
                    } else if bound.path.is_ident("max") {
                        &mut max
                    } else {
                        cx.error_spanned_by(
                            &bound.path,
                            format!("unknown `{name}` bound `{}`; expected `min = ..`, `max = ..`", path_name(&bound)),
                        );
                        return skip_value(&bound);
                    };
                    let value: syn::Expr = bound.value()?.parse()?;
                    set_once(cx, slot, value, &bound);
                    Ok(())
                })).transpose()?;
                if name == "length" {
                    let lit = |e: Option<syn::Expr>, cx: &mut Ctxt| match e {
                        Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. })) => Some(i),
                        Some(other) => {
                            cx.error_spanned_by(&other, "a `length` bound is an integer literal");
                            None
                        }
                        None => None,
                    };
                    let (min, max) = (lit(min, cx), lit(max, cx));
                    rules.push(Rule::Length { span, min, max });
                } else {
                    rules.push(Rule::Range { span, min, max });
                }
            }
            "pattern" => {
                let value = rule.value()?;
                let lit: LitStr = value.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected `pattern = \"...\"`: a string literal")
                })?;
                rules.push(Rule::Pattern(lit));
            }
            "with" => {
                let value = rule.value()?;
                let path: syn::Path = value.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected `with = function`: the path of a function taking the field by reference and returning `Result<(), E>` (`E` displays)")
                })?;
                rules.push(Rule::With(path));
            }
            _ => {
                cx.error_spanned_by(
                    &rule.path,
                    format!("unknown validation rule `{name}`; expected one of {RULES}"),
                );
                skip_value(&rule)?;
            }
        }
        Ok(())
    })?;
    Ok(rules)
}

impl Field {
    /// Where `role` was given, if it was.
    pub fn flag(&self, role: Role) -> Option<proc_macro2::Span> {
        self.flags[role as usize]
    }

    /// Whether the field has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.flag(role).is_some()
    }

    /// Every attribute given on the field (`#[s3]` included), with where it was given.
    pub fn given(&self) -> impl Iterator<Item = (&'static str, proc_macro2::Span)> + '_ {
        let keys = FIELD_KEYS.into_iter().filter_map(|key| match key {
            FieldKey::Flag(role) => self.flag(role).map(|span| (role.name(), span)),
            FieldKey::Rename => self.rename.as_ref().map(|r| ("rename", r.span)),
            FieldKey::Validate => self.validate.as_ref().map(|v| ("validate", v.span)),
        });
        keys.chain(self.s3.as_ref().map(|s3| ("s3", s3.span)))
    }
}

/// Keys valid in `#[s3(...)]`, each `key = "..."`, in the order of [`S3::slots`].
const S3_KEYS: [&str; 7] = [
    "bucket", "prefix", "region", "key", "compress", "client", "retain",
];

/// The flag valid in `#[s3(...)]`: content-addressed objects shared between items.
const S3_SHARED: &str = "shared";

/// The flag valid in `#[s3(...)]`: an ordinary attribute, moved to S3 only when the item would
/// not fit DynamoDB's 400 KB.
const S3_OVERFLOW: &str = "overflow";

/// The flag valid in `#[s3(...)]`: record each file's SHA-256 as well as its CRC-64/NVME.
const S3_SHA256: &str = "sha256";

/// The values of `#[s3(compress = "...")]`, each with the `dynox_s3::Compression` variant it
/// names, in the order of `Compression::ALL` (kept in step with `Compression::name`): `check`
/// accepts these and no other, `expand` generates the variant.
pub const COMPRESSIONS: [(&str, &str); 2] = [("zstd", "Zstd"), ("gzip", "Gzip")];

/// The `dynox_s3::Compression` variant that `#[s3(compress = "...")]` value `name` names.
pub fn compression_variant(name: &str) -> Option<&'static str> {
    COMPRESSIONS
        .iter()
        .find(|(value, _)| *value == name)
        .map(|(_, variant)| *variant)
}

/// `#[s3(...)]` on a field: a file kept in S3.
pub struct S3 {
    /// The attribute's span, for errors about the field as a whole.
    pub span: proc_macro2::Span,
    pub bucket: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
    /// `compress = "..."`: one of [`COMPRESSIONS`] (checked in `check`).
    pub compress: Option<Spanned<String>>,
    /// `client = "..."`: the name of an S3 client registered with the settings.
    pub client: Option<Spanned<String>>,
    /// `retain = "..."`: how long a replaced or deleted object stays readable (checked and
    /// read by [`retention_secs`] in `check`).
    pub retain: Option<Spanned<String>>,
    /// `shared`: content-addressed objects, stored once and shared between items.
    pub shared: Option<proc_macro2::Span>,
    /// `overflow`: an ordinary attribute kept inline until the item would be too large.
    pub overflow: Option<proc_macro2::Span>,
    /// `sha256`: record a SHA-256 of each file too (a cryptographic digest).
    pub sha256: Option<proc_macro2::Span>,
}

impl S3 {
    /// The settings, in the order of [`S3_KEYS`].
    fn slots(&mut self) -> [&mut Option<Spanned<String>>; 7] {
        [
            &mut self.bucket,
            &mut self.prefix,
            &mut self.region,
            &mut self.key,
            &mut self.compress,
            &mut self.client,
            &mut self.retain,
        ]
    }
}

/// The seconds of a retention such as `"90s"`, `"15m"`, `"1h30m"` or `"7d"` (whole numbers,
/// each followed by `s`, `m`, `h` or `d`; `"0s"` for none), or why it is not one.
pub fn retention_secs(text: &str) -> Result<u64, String> {
    let form = "expected a duration such as `\"90s\"`, `\"15m\"`, `\"1h30m\"` or `\"7d\"`";
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{text}` is not a retention: {form}")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a retention: {form}"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| format!("`{text}`: the retention is too long"))?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(format!("`{text}` is not a retention: {form}"));
    }
    Ok(total)
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
    flag_in(meta, "dynamo", key)
}

/// Rejects `key = value` or `key(...)` on a flag key of `#[attribute(...)]`.
fn flag_in(
    meta: &ParseNestedMeta<'_>,
    attribute: &str,
    key: &str,
) -> syn::Result<proc_macro2::Span> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{key}` takes no value: write `#[{attribute}({key})]`"
        )));
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
            } else if meta.path.is_ident("entity") {
                let v = string_value(&meta, "entity")?;
                set_once(cx, &mut out.entity, v, &meta);
            } else if meta.path.is_ident("entity_attribute") {
                let v = string_value(&meta, "entity_attribute")?;
                set_once(cx, &mut out.entity_attribute, v, &meta);
            } else if meta.path.is_ident("pk") {
                let v = template(cx, &meta, "pk")?;
                set_once(cx, &mut out.pk, v, &meta);
            } else if meta.path.is_ident("sk") {
                let v = template(cx, &meta, "sk")?;
                set_once(cx, &mut out.sk, v, &meta);
            } else if meta.path.is_ident("crate") {
                let v = string_value(&meta, "crate")?;
                let path = syn::parse_str::<syn::Path>(&v.value).map_err(|_| {
                    syn::Error::new(
                        v.span,
                        format!(
                            "`crate = \"{}\"`: expected a path such as `::dynox`",
                            v.value
                        ),
                    )
                })?;
                set_once(cx, &mut out.krate, path, &meta);
            } else if meta.path.is_ident("hooks") {
                let span = flag(&meta, "hooks")?;
                set_once(cx, &mut out.hooks, span, &meta);
            } else if meta.path.is_ident("new") {
                let value: syn::LitBool = meta
                    .value()?
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), "expected `new = false`"))?;
                set_once(cx, &mut out.new, value.value, &meta);
            } else if meta.path.is_ident("model") {
                let value = meta.value()?;
                let path: syn::Path = value
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), "expected `model = ModelType`"))?;
                set_once(cx, &mut out.model, path, &meta);
            } else {
                let name = path_name(&meta);
                let hint = if FieldKey::from_name(&name).is_some() {
                    format!("; `{name}` belongs on a field")
                } else {
                    String::new()
                };
                let expected = listing(CONTAINER_KEYS.map(|(_, form)| form));
                cx.error_spanned_by(
                    &meta.path,
                    format!("unknown struct attribute `{name}`{hint}; expected {expected}"),
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
        pk: None,
        sk: None,
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
            "pk" => {
                let v = template(cx, &inner, "pk")?;
                set_once(cx, &mut out.pk, v, &inner);
            }
            "sk" => {
                let v = template(cx, &inner, "sk")?;
                set_once(cx, &mut out.sk, v, &inner);
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
            compress: None,
            client: None,
            retain: None,
            shared: None,
            overflow: None,
            sha256: None,
        };
        let result = attr.parse_nested_meta(|meta| {
            let name = path_name(&meta);
            if name == S3_SHARED {
                let span = flag_in(&meta, "s3", S3_SHARED)?;
                set_once(cx, &mut s3.shared, span, &meta);
                return Ok(());
            }
            if name == S3_OVERFLOW {
                let span = flag_in(&meta, "s3", S3_OVERFLOW)?;
                set_once(cx, &mut s3.overflow, span, &meta);
                return Ok(());
            }
            if name == S3_SHA256 {
                let span = flag_in(&meta, "s3", S3_SHA256)?;
                set_once(cx, &mut s3.sha256, span, &meta);
                return Ok(());
            }
            let slot = S3_KEYS
                .into_iter()
                .zip(s3.slots())
                .find(|(key, _)| *key == name);
            let Some((_, slot)) = slot else {
                let expected = listing(
                    S3_KEYS
                        .map(|key| format!("`{key} = \"...\"`"))
                        .into_iter()
                        .chain([S3_SHARED, S3_OVERFLOW, S3_SHA256].map(|f| format!("`{f}`"))),
                );
                cx.error_spanned_by(
                    &meta.path,
                    format!("unknown `s3` attribute `{name}`; expected one of {expected}"),
                );
                return skip_value(&meta);
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
            match FieldKey::from_name(&name) {
                Some(FieldKey::Flag(role)) => {
                    let span = flag(&meta, role.name())?;
                    set_once(cx, &mut out.flags[role as usize], span, &meta);
                }
                Some(FieldKey::Rename) => {
                    let v = string_value(&meta, "rename")?;
                    set_once(cx, &mut out.rename, v, &meta);
                }
                Some(FieldKey::Validate) => {
                    let span = syn::spanned::Spanned::span(&meta.path);
                    let rules = validate_rules(cx, &meta)?;
                    set_once(cx, &mut out.validate, Spanned { value: rules, span }, &meta);
                }
                None => {
                    let hint = if CONTAINER_KEYS.iter().any(|(key, _)| *key == name) {
                        format!("; `{name}` belongs on the struct")
                    } else {
                        String::new()
                    };
                    let expected = listing(FIELD_KEYS.map(FieldKey::form));
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "unknown field attribute `{name}`{hint}; expected one of {expected}"
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

#[cfg(test)]
mod tests {
    use super::{retention_secs, FieldKey, Role, FIELD_KEYS, ROLES};

    #[test]
    fn retentions_read_as_seconds() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("1h30m", 5400),
            ("7d", 604_800),
            ("0s", 0),
        ] {
            assert_eq!(retention_secs(text), Ok(secs), "{text}");
        }
        for bad in ["", "15", "1w", "h", "1.5h", "-1s", "99999999999999999999d"] {
            assert!(retention_secs(bad).is_err(), "{bad}");
        }
    }

    /// Every role is a key of `FIELD_KEYS`, once, and parses back from its name.
    #[test]
    fn field_keys_list_every_role_once() {
        let roles: Vec<Role> = FIELD_KEYS
            .iter()
            .filter_map(|key| match key {
                FieldKey::Flag(role) => Some(*role),
                FieldKey::Rename | FieldKey::Validate => None,
            })
            .collect();
        assert_eq!(roles.len(), ROLES);
        for (i, role) in roles.iter().enumerate() {
            assert_eq!(*role as usize, i, "`{}` out of place", role.name());
            assert!(matches!(
                FieldKey::from_name(role.name()),
                Some(FieldKey::Flag(r)) if r == *role
            ));
        }
    }
}
