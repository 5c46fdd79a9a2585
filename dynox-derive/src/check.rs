//! Cross-field rules. Each check states its rule in one line and records every violation.

use std::collections::HashMap;
use syn::spanned::Spanned;

use crate::ast::{handle_ident, parse_template, Conv, Model, Part};
use crate::attr::{compression_variant, Field, IndexKind, Role, COMPRESSIONS};
use crate::ctxt::Ctxt;

pub fn check(cx: &mut Ctxt, model: &Model<'_>) {
    table_name(cx, model);
    if model.templated() {
        templated_keys(cx, model);
    } else {
        exactly_one_hash_key(cx, model);
        if let Some(sk) = &model.sk {
            cx.syn_error(syn::Error::new(
                sk.span,
                "`sk = ...` needs `pk = ...`: a templated key has a hash key template",
            ));
        }
    }
    entity(cx, model);
    at_most_one_range_key(cx, model);
    key_fields_are_plain(cx, model);
    names_are_unique(cx, model);
    file_fields(cx, model);
    lifecycle_fields(cx, model);
    validation(cx, model);
    indexes(cx, model);
    if let Some(source) = &model.source {
        cx.error_spanned_by(
            source,
            "`model = ...` names the model of a `#[derive(DynamoProjection)]`; a `DynamoModel` has its own `table`",
        );
    }
}

/// With `pk = ...`, no field is marked as a key: the templates build the key.
fn templated_keys(cx: &mut Ctxt, model: &Model<'_>) {
    for f in &model.fields {
        for role in [Role::HashKey, Role::RangeKey] {
            if let Some(span) = f.attrs.flag(role) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "`{}` builds the key from templates (`pk = ...`): remove `{}`, and name the field in a template",
                        model.ident,
                        role.name()
                    ),
                ));
            }
        }
    }
    for given in [&model.pk, &model.sk].into_iter().flatten() {
        template(cx, model, given, false);
    }
}

/// A template parses, names stored fields that can be key segments, and keeps fields apart
/// with a literal, so that two different values never make the same key. `index`: an index
/// template, whose fields may be `Option`s.
fn template(cx: &mut Ctxt, model: &Model<'_>, given: &crate::attr::TemplateAttr, index: bool) {
    let text = &given.template;
    let parts = match parse_template(&text.value) {
        Ok(parts) => parts,
        Err(reason) => {
            cx.syn_error(syn::Error::new(
                text.span,
                format!("invalid key template `{}`: {reason}", text.value),
            ));
            return;
        }
    };
    if let Some(attribute) = &given.attribute {
        if attribute.value.is_empty() {
            cx.syn_error(syn::Error::new(
                attribute.span,
                "the key attribute's name must not be empty",
            ));
        } else if let Some(f) = model
            .fields
            .iter()
            .find(|f| f.name == attribute.value && f.conv != Conv::Skip)
        {
            cx.syn_error(syn::Error::new(
                attribute.span,
                format!(
                    "attribute `{}` is already field `{}`: name the key attribute otherwise",
                    attribute.value, f.ident
                ),
            ));
        }
    }
    let mut previous_field: Option<&str> = None;
    for part in &parts {
        let Part::Field(name) = part else {
            previous_field = None;
            continue;
        };
        if let Some(previous) = previous_field {
            cx.syn_error(syn::Error::new(
                text.span,
                format!(
                    "fields `{previous}` and `{name}` follow each other in key template `{}`: put a literal separator between them (`{{{previous}}}#{{{name}}}`), or two different values could make the same key",
                    text.value
                ),
            ));
        }
        previous_field = Some(name);
        match model.field_named(name) {
            None => cx.syn_error(syn::Error::new(
                text.span,
                format!("no field `{name}` in `{}` for key template `{}`", model.ident, text.value),
            )),
            Some(f) if matches!(f.conv, Conv::Set | Conv::File | Conv::Skip) || f.attrs.s3.is_some() => {
                cx.syn_error(syn::Error::new(
                    text.span,
                    format!("`{name}` cannot be part of a key: a key template's fields are stored fields, not sets, files, overflow or skipped fields"),
                ))
            }
            Some(f) if !index && crate::ast::option_inner(f.ty).is_some() => {
                cx.syn_error(syn::Error::new(
                    f.ty.span(),
                    format!("`{name}` is part of the primary key, which every item has: it cannot be an `Option` (an index template's field can)"),
                ))
            }
            Some(_) => {}
        }
    }
}

/// `entity_attribute` goes with `entity`; neither is empty nor a field's attribute.
fn entity(cx: &mut Ctxt, model: &Model<'_>) {
    if let (Some(attribute), None) = (&model.entity_attribute, &model.entity) {
        cx.syn_error(syn::Error::new(
            attribute.span,
            "`entity_attribute` names where the entity type is recorded: give the type with `entity = \"...\"`",
        ));
    }
    if let Some(entity) = &model.entity {
        if entity.value.is_empty() {
            cx.syn_error(syn::Error::new(
                entity.span,
                "the entity type must not be empty",
            ));
        }
        let attribute = model.entity_attribute();
        if let Some(f) = model
            .fields
            .iter()
            .find(|f| f.name == attribute && f.conv != Conv::Skip)
        {
            let span = model
                .entity_attribute
                .as_ref()
                .map_or(entity.span, |a| a.span);
            cx.syn_error(syn::Error::new(
                span,
                format!("the entity type's attribute `{attribute}` is already field `{}`: name another with `entity_attribute = \"...\"`", f.ident),
            ));
        }
    }
}

/// The lifecycle fields (`Role::LIFECYCLE`): at most one field each, and each a plain stored
/// field (no storage role, no `#[s3]`, no other lifecycle role).
/// Validation rules: on stored, non-file fields; each `length` and `range` with a bound, and
/// its minimum no larger than its maximum; each pattern a valid regular expression.
fn validation(cx: &mut Ctxt, model: &Model<'_>) {
    use crate::attr::Rule;
    for f in &model.fields {
        let Some(rules) = &f.attrs.validate else {
            continue;
        };
        if f.attrs.s3.is_some() || f.conv == crate::ast::Conv::Skip {
            cx.syn_error(syn::Error::new(
                rules.span,
                format!(
                    "`validate` checks a stored value: `{}` is a file or a skipped field",
                    f.ident
                ),
            ));
            continue;
        }
        if rules.value.is_empty() {
            cx.syn_error(syn::Error::new(
                rules.span,
                "`validate()` names no rule: give `length(..)`, `range(..)`, `pattern = \"...\"` or `with = function`",
            ));
        }
        for rule in &rules.value {
            match rule {
                Rule::Length { span, min, max } => {
                    if min.is_none() && max.is_none() {
                        cx.syn_error(syn::Error::new(
                            *span,
                            "`length` needs `min = ..`, `max = ..` or both",
                        ));
                    }
                    let parse = |l: &Option<syn::LitInt>| {
                        l.as_ref().and_then(|l| l.base10_parse::<u64>().ok())
                    };
                    if let (Some(a), Some(b)) = (parse(min), parse(max)) {
                        if a > b {
                            cx.syn_error(syn::Error::new(*span, format!("`length` minimum {a} is above its maximum {b}: no value could pass")));
                        }
                    }
                }
                Rule::Range { span, min, max } => {
                    if min.is_none() && max.is_none() {
                        cx.syn_error(syn::Error::new(
                            *span,
                            "`range` needs `min = ..`, `max = ..` or both",
                        ));
                    }
                }
                Rule::Pattern(lit) => {
                    if let Err(e) = regex_lite::Regex::new(&lit.value()) {
                        cx.error_spanned_by(lit, format!("invalid `pattern`: {e}"));
                    }
                }
                Rule::With(_) => {}
            }
        }
    }
}

fn lifecycle_fields(cx: &mut Ctxt, model: &Model<'_>) {
    let stored_plainly = |a: &Field| a.s3.is_none() && !Role::STORAGE.iter().any(|r| a.has(*r));
    for (i, role) in Role::LIFECYCLE.into_iter().enumerate() {
        let name = role.name();
        let plain = match role {
            Role::Version => format!(
                "a plain integer field: remove {} or `#[s3]` from it",
                Role::STORAGE.map(|r| format!("`{}`", r.name())).join(", ")
            ),
            _ => "a plain `SystemTime` field: remove the other flags".to_owned(),
        };
        let earlier = &Role::LIFECYCLE[..i];
        let Some((first, extra)) = first_and_extra(model, role) else {
            continue;
        };
        for span in extra {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "a model has at most one {name} field, and `{}` is already it",
                    first
                ),
            ));
        }
        for f in &model.fields {
            let Some(span) = f.attrs.flag(role) else {
                continue;
            };
            if !stored_plainly(&f.attrs) || earlier.iter().any(|other| f.attrs.has(*other)) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!("{name} field `{}` must be {plain}", f.ident),
                ));
            }
        }
    }
}

/// DynamoDB's limits on secondary indexes per table.
const MAX_GLOBAL_INDEXES: usize = 20;
const MAX_LOCAL_INDEXES: usize = 5;

/// Each index has a valid, unique name and keys that are stored fields; a local index has
/// only a range key, on a table with a range key; projections name stored non-key fields.
fn indexes(cx: &mut Ctxt, model: &Model<'_>) {
    let mut names: HashMap<&str, ()> = HashMap::new();
    let mut handles: HashMap<String, &str> = HashMap::new();
    let table_range = model.range_key();
    for (kind, max, what) in [
        (IndexKind::Global, MAX_GLOBAL_INDEXES, "global"),
        (IndexKind::Local, MAX_LOCAL_INDEXES, "local"),
    ] {
        if let Some(extra) = model.indexes.iter().filter(|i| i.kind == kind).nth(max) {
            cx.syn_error(syn::Error::new(
                extra.span,
                format!("a table has at most {max} {what} secondary indexes"),
            ));
        }
    }
    for index in &model.indexes {
        let Some(name) = &index.name else {
            cx.syn_error(syn::Error::new(
                index.span,
                "the index needs a name: `name = \"...\"`",
            ));
            continue;
        };
        let n = &name.value;
        if !(3..=255).contains(&n.len())
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            cx.syn_error(syn::Error::new(
                name.span,
                format!("index name `{n}` must be 3 to 255 letters, digits, `_`, `-` and `.`"),
            ));
        } else if n.starts_with(|c: char| c.is_ascii_digit()) {
            cx.syn_error(syn::Error::new(
                name.span,
                format!("index name `{n}` must start with a letter or `_`: it also names the index's handle in `indexes()`"),
            ));
        } else if handle_ident(n).is_none() {
            cx.syn_error(syn::Error::new(
                name.span,
                format!("index name `{n}` is a Rust keyword: it also names the index's handle in `indexes()`"),
            ));
        } else if names.insert(n, ()).is_some() {
            cx.syn_error(syn::Error::new(
                name.span,
                format!("two indexes are named `{n}`: index names are unique per table"),
            ));
        } else if let Some(other) = handles.insert(n.replace(['-', '.'], "_"), n) {
            cx.syn_error(syn::Error::new(
                name.span,
                format!(
                    "indexes `{other}` and `{n}` would share the handle `indexes().{}`: rename one",
                    n.replace(['-', '.'], "_")
                ),
            ));
        }
        let key_field = |cx: &mut Ctxt, ident: &syn::Ident, role: &str| {
            match model.field(ident) {
            None => cx.syn_error(syn::Error::new(
                ident.span(),
                format!("no field `{ident}` in `{}` for the index {role}", model.ident),
            )),
            Some(f) if matches!(f.conv, Conv::Set | Conv::File | Conv::Skip) || f.attrs.s3.is_some() => {
                cx.syn_error(syn::Error::new(
                    ident.span(),
                    format!("`{ident}` cannot be an index key: index keys are stored `String`, integer or `Vec<u8>` fields, not sets, files, overflow or skipped fields"),
                ))
            }
            Some(_) => {}
        }
        };
        for given in [&index.pk, &index.sk].into_iter().flatten() {
            template(cx, model, given, true);
        }
        if let (Some(pk), Some(_)) = (&index.pk, &index.hash_key) {
            cx.syn_error(syn::Error::new(
                pk.span,
                format!("index `{n}` has both `hash_key` and `pk`: give one"),
            ));
        }
        if let (Some(sk), Some(_)) = (&index.sk, &index.range_key) {
            cx.syn_error(syn::Error::new(
                sk.span,
                format!("index `{n}` has both `range_key` and `sk`: give one"),
            ));
        }
        match index.kind {
            IndexKind::Global if index.pk.is_some() => {}
            IndexKind::Local if index.sk.is_some() => {
                if let Some(pk) = &index.pk {
                    cx.syn_error(syn::Error::new(
                        pk.span,
                        format!("local index `{n}` shares the table's hash key: remove `pk` (or make it a `global_index`)"),
                    ));
                }
                if model.sk.is_none() && table_range.is_none() {
                    cx.syn_error(syn::Error::new(
                        index.span,
                        format!("local index `{n}` needs a table with a range key: `{}` has only a hash key (use a `global_index`)", model.ident),
                    ));
                }
            }
            IndexKind::Global => match &index.hash_key {
                None => cx.syn_error(syn::Error::new(
                    index.span,
                    format!("global index `{n}` needs a hash key: `hash_key = field` or `pk = \"TEMPLATE#{{field}}\"`"),
                )),
                Some(hash) => {
                    key_field(cx, hash, "hash key");
                    if index.range_key.as_ref() == Some(hash) {
                        cx.syn_error(syn::Error::new(
                            hash.span(),
                            format!("`{hash}` cannot be both the hash key and the range key of index `{n}`"),
                        ));
                    }
                }
            },
            IndexKind::Local => {
                if let Some(hash) = &index.hash_key {
                    cx.syn_error(syn::Error::new(
                        hash.span(),
                        format!("local index `{n}` shares the table's hash key: remove `hash_key` (or make it a `global_index`)"),
                    ));
                }
                match (&index.range_key, table_range) {
                    (None, _) => cx.syn_error(syn::Error::new(
                        index.span,
                        format!("local index `{n}` needs a range key: `range_key = field` or `sk = \"TEMPLATE#{{field}}\"`"),
                    )),
                    (Some(_), None) if model.sk.is_some() => {}
                    (Some(range), None) => cx.syn_error(syn::Error::new(
                        range.span(),
                        format!("local index `{n}` needs a table with a range key: `{}` has only a hash key (use a `global_index`)", model.ident),
                    )),
                    (Some(range), Some(table_range)) if range == table_range.ident => {
                        cx.syn_error(syn::Error::new(
                            range.span(),
                            format!("local index `{n}` must sort by another field than the table's range key `{range}`"),
                        ))
                    }
                    (Some(_), Some(_)) => {}
                }
            }
        }
        if let Some(range) = &index.range_key {
            key_field(cx, range, "range key");
        }
        if let Some(projection) = &index.projection {
            if !matches!(projection.value.as_str(), "all" | "keys_only") {
                cx.syn_error(syn::Error::new(
                    projection.span,
                    format!("unknown projection `{}`: expected `\"all\"` or `\"keys_only\"`, or `include(field, ...)` for some attributes", projection.value),
                ));
            } else if index.include.is_some() {
                cx.syn_error(syn::Error::new(
                    projection.span,
                    "give either `projection = ...` or `include(...)`, not both",
                ));
            }
        }
        if let Some(include) = &index.include {
            if include.is_empty() {
                cx.syn_error(syn::Error::new(
                    index.span,
                    format!("`include()` of index `{n}` names no field: list fields, or use `projection = \"keys_only\"`"),
                ));
            }
            for ident in include {
                match model.field(ident) {
                    None => cx.syn_error(syn::Error::new(
                        ident.span(),
                        format!(
                            "no field `{ident}` in `{}` to include in index `{n}`",
                            model.ident
                        ),
                    )),
                    Some(f) if f.conv == Conv::Skip => cx.syn_error(syn::Error::new(
                        ident.span(),
                        format!("`{ident}` is skipped, so index `{n}` cannot include it"),
                    )),
                    Some(_) => {}
                }
            }
        }
    }
}

/// A file field is not a key, set or skipped field; names its bucket (a valid bucket name);
/// and a custom key template keeps objects unique with `{upload}`.
fn file_fields(cx: &mut Ctxt, model: &Model<'_>) {
    for f in &model.fields {
        let Some(s3) = &f.attrs.s3 else { continue };
        let a = &f.attrs;
        if a.has(Role::HashKey) || a.has(Role::RangeKey) {
            cx.syn_error(syn::Error::new(
                s3.span,
                format!(
                    "`{}` cannot be both a key and an S3 file: keys must be stored in the item",
                    f.ident
                ),
            ));
        }
        // An overflow field's object holds one item's value: it is the item's alone.
        if let (Some(overflow), Some(_)) = (s3.overflow, s3.shared) {
            cx.syn_error(syn::Error::new(
                overflow,
                format!("`{}` cannot be both `overflow` and `shared`: an overflow value moved to S3 belongs to its item alone", f.ident),
            ));
        }
        // An overflow field is an ordinary attribute; a file or typed value is always in S3.
        if let (Some(overflow), true) = (s3.overflow, is_s3_type(f.ty)) {
            cx.syn_error(syn::Error::new(
                overflow,
                format!("`{}` is always stored in S3: `overflow` is for ordinary attributes (a `String`, `Vec<u8>` or serde value) that move to S3 only when the item is too large", f.ident),
            ));
        }
        if a.has(Role::Set) || a.has(Role::Skip) {
            cx.syn_error(syn::Error::new(
                s3.span,
                format!("`{}` is an S3 file: remove `set` / `skip` from it", f.ident),
            ));
        }
        match &s3.bucket {
            None => cx.syn_error(syn::Error::new(
                s3.span,
                format!(
                    "S3 file field `{}` needs a bucket: `#[s3(bucket = \"...\")]`",
                    f.ident
                ),
            )),
            Some(bucket) => {
                let name = &bucket.value;
                let valid_chars = name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
                let valid_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && name.ends_with(|c: char| c.is_ascii_alphanumeric());
                if !(3..=63).contains(&name.len()) || !valid_chars || !valid_ends {
                    cx.syn_error(syn::Error::new(
                        bucket.span,
                        format!("`{name}` is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"),
                    ));
                }
            }
        }
        if let Some(compress) = &s3.compress {
            if compression_variant(&compress.value).is_none() {
                cx.syn_error(syn::Error::new(
                    compress.span,
                    format!(
                        "unknown compression `{}`; expected one of {}",
                        compress.value,
                        COMPRESSIONS.map(|(c, _)| format!("`\"{c}\"`")).join(", ")
                    ),
                ));
            }
        }
        // A shared object's key is its SHA-256, and an overflow value records one to tell
        // whether it changed: asking for it again is a mistake about what the field does.
        if let Some(sha256) = s3.sha256 {
            let implied = match (s3.shared, s3.overflow) {
                (Some(_), _) => Some("shared"),
                (None, Some(_)) => Some("overflow"),
                (None, None) => None,
            };
            if let Some(kind) = implied {
                cx.syn_error(syn::Error::new(
                    sha256,
                    format!(
                        "`{}` is `{kind}`: its objects record a SHA-256 already; remove `sha256`",
                        f.ident
                    ),
                ));
            }
        }
        if let Some(retain) = &s3.retain {
            if let Err(message) = crate::attr::retention_secs(&retain.value) {
                cx.syn_error(syn::Error::new(retain.span, message));
            } else if let Some(shared) = s3.shared {
                cx.syn_error(syn::Error::new(
                    shared,
                    "`retain` has no effect on a `shared` field: no write deletes a shared object (the sweep collects it once no item references it); remove one of them",
                ));
            }
        }
        if let Some(client) = &s3.client {
            if client.value.trim().is_empty() {
                cx.syn_error(syn::Error::new(
                    client.span,
                    "`client` names an S3 client registered with `S3Settings::named_client`: it cannot be empty",
                ));
            }
        }
        if let Some(template) = &s3.key {
            let mut rest = template.value.as_str();
            let (mut has_upload, mut has_sha256) = (false, false);
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let Some(close) = after.find('}') else {
                    cx.syn_error(syn::Error::new(
                        template.span,
                        "unclosed `{` in the key template",
                    ));
                    break;
                };
                let placeholder = &after[..close];
                has_upload |= placeholder == "upload";
                has_sha256 |= placeholder == "sha256";
                if !PLACEHOLDERS.contains(&placeholder) {
                    cx.syn_error(syn::Error::new(
                        template.span,
                        format!("unknown placeholder `{{{placeholder}}}` in the key template; expected {}", PLACEHOLDERS.iter().map(|p| format!("`{{{p}}}`")).collect::<Vec<_>>().join(", ")),
                    ));
                }
                rest = &after[close + 1..];
            }
            // A shared field's key is its content's: `{sha256}` in it, no `{upload}`. Any other
            // field's key is its upload's: `{upload}` in it, no `{sha256}`.
            match (s3.shared.is_some(), has_upload, has_sha256) {
                (true, _, false) => cx.syn_error(syn::Error::new(
                    template.span,
                    "the key template of a `shared` field must contain `{sha256}`: the content's hash is what makes two items' identical files one object",
                )),
                (true, true, true) => cx.syn_error(syn::Error::new(
                    template.span,
                    "the key template of a `shared` field cannot contain `{upload}`: every upload would get its own key and nothing would be shared",
                )),
                (false, false, true) => cx.syn_error(syn::Error::new(
                    template.span,
                    "`{sha256}` makes content-addressed keys: add `shared` to the field's `#[s3(...)]`, or use `{upload}`",
                )),
                (false, false, false) => cx.syn_error(syn::Error::new(
                    template.span,
                    "the key template must contain `{upload}`, so that no two uploads share a key and a save never overwrites the object an item points to",
                )),
                (false, true, true) => cx.syn_error(syn::Error::new(
                    template.span,
                    "`{sha256}` is only known after the upload: use it in a `shared` field's template, without `{upload}`",
                )),
                (true, false, true) | (false, true, false) => {}
            }
        }
    }
}

/// Whether `ty` (or the `Option` of it) is one of dynox-s3's always-in-S3 types.
fn is_s3_type(ty: &syn::Type) -> bool {
    let inner = crate::ast::option_inner(ty).unwrap_or(ty);
    let syn::Type::Path(path) = inner else {
        return false;
    };
    path.path.segments.last().is_some_and(|s| {
        ["S3Object", "S3Value", "S3Text", "S3Binary", "S3Json"]
            .contains(&s.ident.to_string().as_str())
    })
}

/// The placeholders of an S3 key template (kept in step with `dynox_s3::keys::PLACEHOLDERS`).
const PLACEHOLDERS: &[&str] = &[
    "prefix", "table", "field", "hash", "range", "upload", "file", "sha256",
];

/// The table name is given, and is a valid DynamoDB table name (3-255 of `a-z A-Z 0-9 _ - .`).
fn table_name(cx: &mut Ctxt, model: &Model<'_>) {
    let Some(table) = &model.table else {
        cx.error_spanned_by(
            model.ident,
            format!(
                "missing table name: add `#[dynamo(table = \"...\")]` to `{}`",
                model.ident
            ),
        );
        return;
    };
    let name = &table.value;
    let problem = if name.is_empty() {
        Some("the table name must not be empty".to_string())
    } else if name.len() < 3 || name.len() > 255 {
        Some(format!(
            "table name `{name}` must be 3 to 255 characters long"
        ))
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map(|c| {
                format!("table name `{name}` contains {c:?}: use only letters, digits, `_`, `-` and `.`")
            })
    };
    if let Some(problem) = problem {
        cx.syn_error(syn::Error::new(table.span, problem));
    }
}

/// The first field with `role`, and where the role is given again on later fields.
fn first_and_extra<'m>(
    model: &'m Model<'_>,
    role: Role,
) -> Option<(&'m syn::Ident, impl Iterator<Item = proc_macro2::Span> + 'm)> {
    let mut flagged = model
        .fields
        .iter()
        .filter_map(move |f| f.attrs.flag(role).map(|s| (f, s)));
    let (first, _) = flagged.next()?;
    Some((first.ident, flagged.map(|(_, span)| span)))
}

/// Exactly one field is the hash key.
fn exactly_one_hash_key(cx: &mut Ctxt, model: &Model<'_>) {
    match first_and_extra(model, Role::HashKey) {
        None => cx.error_spanned_by(
            model.ident,
            format!(
                "`{}` has no hash key: mark the partition key field with `#[dynamo(hash_key)]`",
                model.ident
            ),
        ),
        Some((first, extra)) => {
            for span in extra {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "a model has one hash key, and `{}` is already it: remove this `hash_key` (use `range_key` for the sort key)",
                        first
                    ),
                ));
            }
        }
    }
}

/// At most one field is the range key.
fn at_most_one_range_key(cx: &mut Ctxt, model: &Model<'_>) {
    if let Some((first, extra)) = first_and_extra(model, Role::RangeKey) {
        for span in extra {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "a model has at most one range key, and `{}` is already it: remove this `range_key`",
                    first
                ),
            ));
        }
    }
}

/// A field is at most one of hash key, range key, set and skip.
fn key_fields_are_plain(cx: &mut Ctxt, model: &Model<'_>) {
    for f in &model.fields {
        let a = &f.attrs;
        if let (true, Some(span)) = (a.has(Role::HashKey), a.flag(Role::RangeKey)) {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "`{}` cannot be both the hash key and the range key",
                    f.ident
                ),
            ));
        }
        let key = a.has(Role::HashKey) || a.has(Role::RangeKey);
        if f.conv == Conv::Skip && key {
            if let Some(span) = a.flag(Role::Skip) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "key field `{}` cannot be skipped: every item stores its key",
                        f.ident
                    ),
                ));
            }
        }
        if let Some(span) = a.flag(Role::Set) {
            if key {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "key field `{}` cannot be a set: keys are a string, a number or bytes",
                        f.ident
                    ),
                ));
            } else if a.has(Role::Skip) {
                cx.syn_error(syn::Error::new(
                    span,
                    format!(
                        "`{}` is skipped, so `set` has no effect: remove one of them",
                        f.ident
                    ),
                ));
            }
        }
        if f.name.is_empty() {
            cx.syn_error(syn::Error::new(
                f.name_span,
                "the attribute name must not be empty: give `rename` a non-empty name",
            ));
        }
    }
}

/// No two stored fields share an attribute name (after `rename`).
fn names_are_unique(cx: &mut Ctxt, model: &Model<'_>) {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for f in model.fields.iter().filter(|f| f.conv != Conv::Skip) {
        if let Some(previous) = seen.insert(&f.name, f.ident) {
            cx.syn_error(syn::Error::new(
                f.name_span,
                format!(
                    "fields `{previous}` and `{}` are both stored as attribute `{}`: rename one with `#[dynamo(rename = \"...\")]`",
                    f.ident, f.name
                ),
            ));
        }
    }
}
