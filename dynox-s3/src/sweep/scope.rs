//! What a sweep of one model may touch: where it lists, whose objects it may delete, and the
//! instant before which an unreferenced object is old enough to go.
//!
//! Each file field's objects lie under the fixed leading part of its key template: the text
//! before the first placeholder that changes from item to item, with `{prefix}`, `{table}`
//! and `{field}` (known for the field) filled in. For the default templates
//! (`{prefix}{hash}/...`, `{prefix}{sha256}`) that is the field's prefix; for `docs/{sha256}`
//! it is `docs/`. In each bucket, a field's part that starts with another's is listed through
//! the shorter one, so no object is listed twice; each listed object is then judged against
//! every field whose part it starts with. A field whose part is empty has its whole bucket
//! listed, and the sweep says so ([`SweepReport::whole_buckets`], and a warning).
//!
//! [`SweepReport::whole_buckets`]: super::SweepReport::whole_buckets

use std::time::{Duration, SystemTime};

use dynox_core::Client;

use crate::keys::{self, KeyParts};
use crate::models::{FileModels, Visit};
use crate::settings::Runtime;
use crate::store::S3Model;

/// Where one field's objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldScope {
    /// The attribute name.
    pub field: &'static str,
    /// The bucket, as the client's settings name it.
    pub bucket: String,
    /// The fixed leading part of the field's keys ([`fixed_part`]).
    pub prefix: String,
    /// The bucket's region, when the field sets one.
    pub region: Option<&'static str>,
    /// The field's named S3 client, if it names one.
    pub client: Option<&'static str>,
    /// The field's `dynox-owner` (`{table}/{field}`, or `{table}/{entity}/{field}`).
    pub owner: String,
}

/// One (bucket, prefix) the sweep lists: no other place of the same bucket (and client)
/// starts with its prefix, or is started by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    /// The bucket, as the client's settings name it.
    pub bucket: String,
    /// The key prefix listed.
    pub prefix: String,
    /// The bucket's region, when the fields set one.
    pub region: Option<&'static str>,
    /// The fields' named S3 client, if they name one.
    pub client: Option<&'static str>,
}

/// The limits of one sweep of a model.
pub(super) struct Scope {
    /// Where to list, each object once ([`places`]).
    pub places: Vec<Place>,
    /// Where to look for stale multipart uploads: the places of the fields with a non-empty
    /// prefix (uploads carry no owner: only a prefix of ours marks them as ours).
    pub upload_places: Vec<Place>,
    /// Every file field's scope, in declaration order: an object may be deleted only if its
    /// `dynox-owner` is the owner of a field whose prefix it starts with.
    pub fields: Vec<FieldScope>,
    /// `(field, bucket)` of the fields whose keys have no fixed leading part: the sweep lists
    /// their whole bucket.
    pub whole_buckets: Vec<(&'static str, String)>,
    /// The instant ages are measured from.
    pub now: SystemTime,
    /// Objects and uploads from after this instant are too young to remove.
    pub cutoff: SystemTime,
    /// The dynox client, for reading the item an old unreferenced object was uploaded for.
    pub client: Option<Client>,
}

impl Scope {
    /// The scope of a sweep of the models of `T` as of `now` with a `grace` period.
    pub fn of<T: FileModels>(
        client: &Client,
        runtime: &Runtime,
        now: SystemTime,
        grace: Duration,
    ) -> Self {
        /// Every model's field scopes, in order.
        struct Fields<'a> {
            client: &'a Client,
            runtime: &'a Runtime,
            fields: Vec<FieldScope>,
        }
        impl Visit for Fields<'_> {
            fn model<M: S3Model>(&mut self) {
                let table = self.client.table_name::<M>();
                self.fields.extend(M::S3_FIELDS.iter().map(|field| {
                    let template = match (field.key_template, field.shared) {
                        (Some(template), _) => template,
                        (None, true) => keys::DEFAULT_SHARED_TEMPLATE,
                        (None, false) => keys::DEFAULT_TEMPLATE,
                    };
                    FieldScope {
                        field: field.name,
                        bucket: self.runtime.bucket(field.bucket).to_owned(),
                        prefix: fixed_part(template, field.prefix, M::TABLE, field.name),
                        region: field.region,
                        client: field.client,
                        owner: crate::store::owner::<M>(&table, field.name),
                    }
                }));
            }
        }
        let table = client.table_name::<T::Table>();
        let mut visit = Fields {
            client,
            runtime,
            fields: Vec::new(),
        };
        T::visit(&mut visit);
        let fields = visit.fields;
        let whole_buckets: Vec<(&'static str, String)> = fields
            .iter()
            .filter(|f| f.prefix.is_empty())
            .map(|f| (f.field, f.bucket.clone()))
            .collect();
        for (field, bucket) in &whole_buckets {
            tracing::warn!(
                table = %table,
                field = %field,
                bucket = %bucket,
                "the sweep lists the whole bucket: field `{field}` has no prefix and its key template starts with a per-item placeholder"
            );
        }
        let scoped: Vec<FieldScope> = fields
            .iter()
            .filter(|f| !f.prefix.is_empty())
            .cloned()
            .collect();
        Self {
            places: places(&fields),
            upload_places: places(&scoped),
            fields,
            whole_buckets,
            now,
            cutoff: now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH),
            client: Some(client.clone()),
        }
    }

    /// The `dynox-owner` values an object at `key` in `bucket` may carry to be this model's,
    /// each with its field's attribute name: those of the fields whose prefix `key` starts
    /// with.
    pub fn owners_of(&self, bucket: &str, key: &str) -> Vec<(String, &'static str)> {
        self.fields
            .iter()
            .filter(|f| f.bucket == bucket && key.starts_with(&f.prefix))
            .map(|f| (f.owner.clone(), f.field))
            .collect()
    }

    /// An S3 timestamp as an instant (`now` when absent or out of range: never old enough).
    pub fn instant(&self, time: Option<aws_sdk_s3::primitives::DateTime>) -> SystemTime {
        time.and_then(|t| SystemTime::try_from(t).ok())
            .unwrap_or(self.now)
    }

    /// Whether something last changed at `time` is still inside the grace period.
    pub fn too_young(&self, time: SystemTime) -> bool {
        time > self.cutoff
    }
}

/// The fixed leading part of the keys `template` makes for field `field` of table `table`
/// with prefix `prefix`: the template up to its first placeholder other than `{prefix}`,
/// `{table}` and `{field}`, with those filled in as [`keys::object_key`] fills them.
pub(super) fn fixed_part(template: &str, prefix: &str, table: &str, field: &'static str) -> String {
    // The end of the fixed text: the first placeholder other than these (or an unclosed
    // brace), or the template's end.
    let mut end = 0;
    loop {
        let Some(open) = template[end..].find('{').map(|i| end + i) else {
            end = template.len();
            break;
        };
        match template[open..].find('}') {
            Some(close)
                if matches!(
                    &template[open + 1..open + close],
                    "prefix" | "table" | "field"
                ) =>
            {
                end = open + close + 1;
            }
            _ => {
                end = open;
                break;
            }
        }
    }
    let fixed = &template[..end];
    let parts = KeyParts {
        prefix,
        table,
        field,
        hash: "",
        range: None,
        upload: "",
        file: "",
        sha256: None,
    };
    // A template the field's saves cannot use either: its literal start is still a prefix of
    // every key it could make.
    keys::object_key(Some(fixed), &parts).unwrap_or_else(|_| {
        let literal = fixed.find('{').unwrap_or(fixed.len());
        fixed[..literal].to_owned()
    })
}

/// The places to list for `fields`: per bucket (and region and client, which may reach
/// another server), each distinct prefix no shorter prefix of the bucket starts, so every
/// object is listed once. Buckets in the order their first field is declared, prefixes in
/// order.
pub(super) fn places(fields: &[FieldScope]) -> Vec<Place> {
    /// Bucket, region and client.
    type Group<'a> = (&'a str, Option<&'static str>, Option<&'static str>);
    let mut groups: Vec<(Group<'_>, Vec<&str>)> = Vec::new();
    for field in fields {
        let group = (field.bucket.as_str(), field.region, field.client);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, prefixes)) => prefixes.push(&field.prefix),
            None => groups.push((group, vec![&field.prefix])),
        }
    }
    let mut places = Vec::new();
    for ((bucket, region, client), mut prefixes) in groups {
        // Sorted, a prefix comes right before the prefixes that start with it (and anything
        // between them starts with it too): comparing with the last one kept is enough.
        prefixes.sort_unstable();
        let mut kept: Option<&str> = None;
        for prefix in prefixes {
            if kept.is_some_and(|k| prefix.starts_with(k)) {
                continue;
            }
            kept = Some(prefix);
            places.push(Place {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
                region,
                client,
            });
        }
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field: &'static str, bucket: &str, prefix: &str) -> FieldScope {
        FieldScope {
            field,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            region: None,
            client: None,
            owner: format!("t/{field}"),
        }
    }

    fn listed(fields: &[FieldScope]) -> Vec<(String, String)> {
        places(fields)
            .into_iter()
            .map(|p| (p.bucket, p.prefix))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(b, p)| ((*b).to_owned(), (*p).to_owned()))
            .collect()
    }

    #[test]
    fn a_prefix_inside_another_is_listed_through_the_shorter_one() {
        let fields = [
            field("thumb", "b", "docs/thumbs/"),
            field("doc", "b", "docs/"),
            field("deep", "b", "docs/thumbs/small/"),
        ];
        assert_eq!(listed(&fields), pairs(&[("b", "docs/")]));
    }

    #[test]
    fn equal_and_unrelated_prefixes() {
        let fields = [
            field("a", "b", "docs/"),
            field("b", "b", "docs/"),
            field("c", "b", "doc-other/"),
            field("d", "b", "docsx/"),
            field("e", "b", "blobs/"),
        ];
        // `docs` without its slash is not `docsx/`'s prefix: both are listed.
        assert_eq!(
            listed(&fields),
            pairs(&[
                ("b", "blobs/"),
                ("b", "doc-other/"),
                ("b", "docs/"),
                ("b", "docsx/")
            ])
        );
        let fields = [field("a", "b", "docs"), field("b", "b", "docsx/")];
        assert_eq!(listed(&fields), pairs(&[("b", "docs")]));
    }

    #[test]
    fn buckets_stay_apart_and_an_empty_prefix_takes_the_whole_bucket() {
        let fields = [
            field("a", "one", "docs/"),
            field("b", "two", "docs/thumbs/"),
            field("c", "two", ""),
            field("d", "one", "docs/x/"),
        ];
        assert_eq!(listed(&fields), pairs(&[("one", "docs/"), ("two", "")]));
    }

    #[test]
    fn another_client_or_region_is_another_place() {
        let mut other = field("b", "b", "docs/thumbs/");
        other.client = Some("archive");
        let fields = [field("a", "b", "docs/"), other];
        assert_eq!(
            listed(&fields),
            pairs(&[("b", "docs/"), ("b", "docs/thumbs/")])
        );
    }

    #[test]
    fn a_key_template_scopes_a_field_by_its_fixed_part() {
        // The default templates: the prefix.
        assert_eq!(
            fixed_part(keys::DEFAULT_TEMPLATE, "docs/", "t", "f"),
            "docs/"
        );
        assert_eq!(fixed_part(keys::DEFAULT_SHARED_TEMPLATE, "", "t", "f"), "");
        // A custom key and no prefix: the text before the first per-item placeholder.
        assert_eq!(fixed_part("blobs/{sha256}", "", "t", "f"), "blobs/");
        assert_eq!(
            fixed_part("files/{prefix}{hash}/{upload}/{file}", "p/", "t", "f"),
            "files/p/"
        );
        // The table and field are the same for every item: filled in, escaped as keys are.
        assert_eq!(
            fixed_part(
                "{table}/{field}/{upload}-{file}",
                "",
                "sweep_docs",
                "content"
            ),
            "sweep_docs/content/"
        );
        assert_eq!(fixed_part("x/{table}{hash}", "", "a b", "f"), "x/a%20b");
        // Nothing fixed: the whole bucket.
        assert_eq!(fixed_part("{hash}/{upload}/{file}", "p/", "t", "f"), "");
        assert_eq!(fixed_part("{range}/{upload}", "", "t", "f"), "");
        // An unclosed brace ends the fixed part too.
        assert_eq!(fixed_part("a/{prefix", "p/", "t", "f"), "a/");
    }

    #[test]
    fn owners_are_those_of_the_fields_whose_prefix_the_key_starts_with() {
        let scope = Scope {
            places: Vec::new(),
            upload_places: Vec::new(),
            client: None,
            fields: vec![
                field("doc", "b", "docs/"),
                field("thumb", "b", "docs/thumbs/"),
                field("other", "c", "docs/"),
            ],
            whole_buckets: Vec::new(),
            now: SystemTime::UNIX_EPOCH,
            cutoff: SystemTime::UNIX_EPOCH,
        };
        let owners = |key| -> Vec<String> {
            scope
                .owners_of("b", key)
                .into_iter()
                .map(|(owner, _)| owner)
                .collect()
        };
        assert_eq!(owners("docs/a/x"), ["t/doc"]);
        assert_eq!(owners("docs/thumbs/a/x"), ["t/doc", "t/thumb"]);
        assert!(scope.owners_of("b", "elsewhere/x").is_empty());
    }
}
