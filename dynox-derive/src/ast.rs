//! A typed model of the derive input. Every node keeps the `syn` node it came from, so later
//! errors point at the user's code.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type, Visibility};

use crate::attr::{self, Role};
use crate::ctxt::Ctxt;

/// The struct being derived.
pub struct Model<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// The table name, with the span it was given at (the struct name when missing).
    pub table: Option<attr::Spanned<String>>,
    /// The secondary indexes, in declaration order.
    pub indexes: Vec<attr::Index>,
    /// `model = Path`: only for `DynamoProjection`.
    pub source: Option<syn::Path>,
    /// `crate = "path"`: where generated code finds `dynox`.
    pub krate: Option<syn::Path>,
    /// Whether to generate `new` (`#[dynamo(new = false)]` turns it off).
    pub constructor: bool,
    /// `hooks`: the model's `Hooks` implementation runs around its operations.
    pub hooks: Option<proc_macro2::Span>,
    /// `entity = "..."`: the entity type recorded in every item.
    pub entity: Option<attr::Spanned<String>>,
    /// `entity_attribute = "..."`.
    pub entity_attribute: Option<attr::Spanned<String>>,
    /// `pk = ...`: the primary key's hash attribute built by a template.
    pub pk: Option<attr::TemplateAttr>,
    /// `sk = ...`: its range attribute.
    pub sk: Option<attr::TemplateAttr>,
    pub fields: Vec<Field<'a>>,
}

/// An index's key templates (`pk = ...`, `sk = ...`), with their attributes named
/// `{index}pk` and `{index}sk` unless given.
pub fn index_templates(index: &attr::Index) -> (Option<Template>, Option<Template>) {
    let name = index.name.as_ref().map_or("", |n| n.value.as_str());
    (
        index
            .pk
            .as_ref()
            .and_then(|t| Template::resolve(t, format!("{name}pk"))),
        index
            .sk
            .as_ref()
            .and_then(|t| Template::resolve(t, format!("{name}sk"))),
    )
}

/// The default name of the attribute recording the entity type.
pub const DEFAULT_ENTITY_ATTRIBUTE: &str = "entity_type";

/// One part of a parsed key template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// A field, by its Rust name.
    Field(String),
}

/// Parses `CUSTOMER#{customer_id}` into its parts.
pub fn parse_template(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("`{{{name}` is not closed: write `{{field}}`")),
                    }
                }
                if syn::parse_str::<Ident>(&name).is_err() {
                    return Err(format!(
                        "`{{{name}}}` does not name a field: write `{{field_name}}`"
                    ));
                }
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Field(name));
            }
            '}' => return Err("`}` without `{`: a template's fields are written `{field}`".into()),
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    if parts.is_empty() {
        return Err("the template is empty".into());
    }
    Ok(parts)
}

/// A key template of the model, resolved: the attribute it fills and its parts.
pub struct Template {
    pub attribute: String,
    pub parts: Vec<Part>,
}

impl Template {
    /// From `pk = ...`: `None` when it does not parse (`check` reports it).
    pub fn resolve(given: &attr::TemplateAttr, default_attribute: String) -> Option<Template> {
        Some(Template {
            attribute: given
                .attribute
                .as_ref()
                .map_or(default_attribute, |a| a.value.clone()),
            parts: parse_template(&given.template.value).ok()?,
        })
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Lit(_) => None,
        })
    }
}

/// One named field.
pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// The attribute name it is stored under.
    pub name: String,
    /// Where that name comes from (the `rename` value or the field name).
    pub name_span: Span,
    pub attrs: attr::Field,
    pub conv: Conv,
}

/// How a field converts to an attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// `#[dynamo(hash_key)]` or `#[dynamo(range_key)]`: through `KeyAttribute`.
    Key,
    /// A scalar or `Option` of one: through `Attribute`.
    Direct,
    /// `#[dynamo(set)]`: through `SetAttribute`.
    Set,
    /// Anything else: through serde_dynamo.
    Serde,
    /// `#[dynamo(skip)]`: not stored.
    Skip,
    /// `#[s3(...)]`: a file in S3, its metadata stored through `Attribute`.
    File,
}

impl<'a> Model<'a> {
    /// Builds the model, recording every problem in `cx`. `None` when the input is not a
    /// struct with named fields.
    pub fn from_input(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let container = attr::container(cx, &input.attrs);
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "DynamoModel does not support generic structs: give the model concrete field types",
            );
        }
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(_) | Fields::Unit => {
                    cx.error_spanned_by(
                        input.ident.clone(),
                        "DynamoModel needs a struct with named fields (`struct Order { id: String }`): each field becomes a DynamoDB attribute",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "DynamoModel cannot be derived for an enum: use a struct with named fields, and store the enum in one of its fields",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "DynamoModel cannot be derived for a union: use a struct with named fields",
                );
                return None;
            }
        };
        let fields = fields
            .iter()
            .filter_map(|f| {
                let ident = f.ident.as_ref()?;
                let attrs = attr::field(cx, &f.attrs);
                let (name, name_span) = match &attrs.rename {
                    Some(r) => (r.value.clone(), r.span),
                    None => (ident.unraw().to_string(), ident.span()),
                };
                let conv = if attrs.has(Role::Skip) {
                    Conv::Skip
                } else if attrs.s3.as_ref().is_some_and(|s3| s3.overflow.is_none()) {
                    Conv::File
                } else if attrs.has(Role::HashKey) || attrs.has(Role::RangeKey) {
                    Conv::Key
                } else if attrs.has(Role::Set) {
                    Conv::Set
                } else if is_direct(&f.ty) {
                    Conv::Direct
                } else {
                    Conv::Serde
                };
                Some(Field {
                    ident,
                    ty: &f.ty,
                    name,
                    name_span,
                    attrs,
                    conv,
                })
            })
            .collect();
        Some(Model {
            ident: &input.ident,
            vis: &input.vis,
            table: container.table,
            indexes: container.indexes,
            source: container.model,
            krate: container.krate,
            constructor: container.new.unwrap_or(true),
            hooks: container.hooks,
            entity: container.entity,
            entity_attribute: container.entity_attribute,
            pk: container.pk,
            sk: container.sk,
            fields,
        })
    }

    /// The first field with `role`.
    pub fn with_role(&self, role: Role) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.attrs.has(role))
    }

    pub fn hash_key(&self) -> Option<&Field<'a>> {
        self.with_role(Role::HashKey)
    }

    pub fn range_key(&self) -> Option<&Field<'a>> {
        self.with_role(Role::RangeKey)
    }

    /// Whether the key is built by templates (`pk = ...`).
    pub fn templated(&self) -> bool {
        self.pk.is_some()
    }

    /// The primary key's templates, hash first (those that parse).
    pub fn key_templates(&self) -> Vec<Template> {
        let pk = self
            .pk
            .as_ref()
            .and_then(|t| Template::resolve(t, "pk".into()));
        let sk = self
            .sk
            .as_ref()
            .and_then(|t| Template::resolve(t, "sk".into()));
        pk.into_iter().chain(sk).collect()
    }

    /// The stored field with Rust name `name`.
    pub fn field_named(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.ident == name)
    }

    /// The entity attribute's name.
    pub fn entity_attribute(&self) -> String {
        self.entity_attribute
            .as_ref()
            .map_or_else(|| DEFAULT_ENTITY_ATTRIBUTE.to_owned(), |a| a.value.clone())
    }

    /// The stored (not skipped) field named `ident`.
    pub fn field(&self, ident: &syn::Ident) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.ident == ident)
    }

    /// The `#[s3]` fields: files, typed values and overflow fields.
    pub fn files(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|f| f.attrs.s3.is_some())
    }
}

/// The single generic argument of `ty` if its last path segment is `name`.
fn generic_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// Whether `ty` names `name` with no generic arguments.
pub fn is_plain(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_none()))
}

/// The field name of an index's handle in `{Model}Indexes`: the index name with `-` and `.`
/// as `_`, if that is an identifier (`check` refuses the names for which it is not).
pub fn handle_ident(name: &str) -> Option<Ident> {
    syn::parse_str(&name.replace(['-', '.'], "_")).ok()
}

/// `X` of `Option<X>`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

/// `Vec<u8>`.
fn is_bytes(ty: &Type) -> bool {
    generic_arg(ty, "Vec").is_some_and(|t| is_plain(t, "u8"))
}

/// Types converted directly by `Attribute` (everything else goes through serde).
fn is_direct(ty: &Type) -> bool {
    const SCALARS: &[&str] = &[
        "String",
        "bool",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "f32",
        "f64",
        "SystemTime",
    ];
    SCALARS.iter().any(|s| is_plain(ty, s))
        || is_bytes(ty)
        || generic_arg(ty, "Option").is_some_and(is_direct)
}
