//! A put that writes only what changed ([`Client::save_changes`](crate::Client::save_changes)):
//! the attributes that differ from the state the item was loaded in, sent as an UpdateItem
//! (`SET` and `REMOVE`) instead of a PutItem. Every other step is the put's (`put.rs`): the
//! same uploads, kept marks, cleanup and judging. What differs is kept here:
//!
//! - **what is written** ([`Changes`]): the attributes whose value differs from the loaded
//!   state, plus those the overflow step moved;
//! - **what the item holds after the write** ([`Changes::files_after`]): the stored file
//!   references overlaid with the written ones. A file field the save does not write keeps
//!   whatever another writer stored in it, so it is neither replaced nor cleared, and its
//!   object is never deleted by this write;
//! - **the condition** ([`partial_condition`]): the item exists (an UpdateItem would create a
//!   new one), and the file fields this write sets or removes (not the others) still hold the
//!   expected objects, with the version and the caller's condition as in a full save;
//! - **the evidence** ([`Changes::held_by`]): after a lost answer, the stored item shows this
//!   write when it holds the attributes this write set and lacks those it removed. Another
//!   writer may legitimately have changed any other attribute since, so the whole item is
//!   never compared (a committed write judged not committed would have its uploads deleted
//!   while the item references them).

use super::conditions::{files_unchanged, version_is};
use crate::expr::Placeholders;
use crate::files::FileStore;
use crate::item::{same_value, Item};
use crate::model::Model;

/// What a partial save writes: the attributes it sets and those it removes, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Attributes whose value is new or different (written with `SET`).
    pub(crate) set: Vec<String>,
    /// Attributes the loaded item held and the item no longer does (`REMOVE`).
    pub(crate) remove: Vec<String>,
}

impl Changes {
    /// The attributes of `now` that differ from `loaded` (as DynamoDB compares values), and
    /// those `loaded` has that `now` lacks; sorted, so requests are deterministic.
    pub(crate) fn between(loaded: &Item, now: &Item) -> Self {
        let mut set: Vec<String> = now
            .iter()
            .filter(|(name, value)| !loaded.get(*name).is_some_and(|old| same_value(old, value)))
            .map(|(name, _)| name.clone())
            .collect();
        let mut remove: Vec<String> = loaded
            .keys()
            .filter(|name| !now.contains_key(*name))
            .cloned()
            .collect();
        set.sort_unstable();
        remove.sort_unstable();
        Self { set, remove }
    }

    /// Whether nothing is to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Adds the attributes whose value the overflow step changed between `before` and
    /// `after` (a value moved to the store is written as its reference).
    pub(crate) fn add_moved(&mut self, before: &Item, after: &Item) {
        for (name, value) in after {
            let moved = !before.get(name).is_some_and(|old| old == value);
            if moved && !self.set.contains(name) {
                self.set.push(name.clone());
            }
        }
        self.set.sort_unstable();
    }

    /// Whether `name` is written (set or removed).
    pub(crate) fn writes(&self, name: &str) -> bool {
        self.set.iter().chain(&self.remove).any(|n| n == name)
    }

    /// The file attributes of `M` this save writes.
    pub(crate) fn file_fields<M: Model>(&self) -> Vec<&'static str> {
        M::Files::attribute_names()
            .into_iter()
            .filter(|name| self.writes(name))
            .collect()
    }

    /// The stored item's file attributes after this write: `current`'s (the expected file
    /// state), with those this write sets taken from `attributes` and those it removes gone.
    pub(crate) fn files_after<M: Model>(&self, current: Option<&Item>, attributes: &Item) -> Item {
        let mut after = current.cloned().unwrap_or_default();
        for name in M::Files::attribute_names() {
            if self.remove.iter().any(|n| n == name) {
                after.remove(name);
            } else if self.set.iter().any(|n| n == name) {
                match attributes.get(name) {
                    Some(value) => after.insert(name.to_owned(), value.clone()),
                    None => after.remove(name),
                };
            }
        }
        if let Some(version) = M::VERSION.and_then(|v| Some((v, attributes.get(v)?))) {
            after.insert(version.0.to_owned(), version.1.clone());
        }
        after
    }

    /// Whether `stored` shows this write: it holds every attribute this write set, with the
    /// value of `attributes`, and none it removed. Other attributes are not compared, nor
    /// are those every save of `M` writes (the version and timestamps), which any later
    /// save by another writer changes again; unless they are all this write wrote.
    pub(crate) fn held_by<M: Model>(&self, stored: &Item, attributes: &Item) -> bool {
        let stamps = [M::VERSION, M::UPDATED_AT, M::CREATED_AT];
        let own = |name: &String| !stamps.contains(&Some(name.as_str()));
        let only_stamps = self.remove.is_empty() && !self.set.iter().any(own);
        let set = self
            .set
            .iter()
            .filter(|name| only_stamps || own(name))
            .all(|name| match (stored.get(name), attributes.get(name)) {
                (Some(stored), Some(written)) => same_value(stored, written),
                _ => false,
            });
        set && self.remove.iter().all(|name| !stored.contains_key(name))
    }

    /// The `UpdateExpression` that writes these changes from `attributes`.
    pub(crate) fn expression(&self, p: &mut Placeholders, attributes: &Item) -> String {
        let mut expression = String::new();
        let mut sets = self
            .set
            .iter()
            .filter_map(|name| Some((name, attributes.get(name)?.clone())))
            .peekable();
        if sets.peek().is_some() {
            expression.push_str("SET ");
            let parts: Vec<String> = sets
                .map(|(name, value)| format!("{} = {}", p.name(name), p.value(value)))
                .collect();
            expression.push_str(&parts.join(", "));
        }
        if !self.remove.is_empty() {
            if !expression.is_empty() {
                expression.push(' ');
            }
            expression.push_str("REMOVE ");
            let parts: Vec<String> = self.remove.iter().map(|name| p.name(name)).collect();
            expression.push_str(&parts.join(", "));
        }
        expression
    }
}

/// The condition of a partial save: the item exists (of this entity type, in a shared
/// table), the file fields it writes hold `current`'s objects, and it is at `version`.
pub(crate) fn partial_condition<M: Model>(
    p: &mut Placeholders,
    current: Option<&Item>,
    written_files: &[&str],
    version: u64,
) -> Option<String> {
    let hash = M::SCHEMA.hash.name;
    let mut parts = vec![format!("attribute_exists({})", p.name(hash))];
    if let Some(entity) = M::ENTITY {
        parts.push(format!(
            "{} = {}",
            p.name(entity.attribute),
            p.value(entity.value())
        ));
    }
    if let Some(current) = current {
        if !written_files.is_empty() {
            parts.extend(files_unchanged::<M>(p, current, Some(written_files)));
        }
    }
    match M::VERSION {
        Some(name) if version == 0 => {
            parts.push(format!("attribute_not_exists({})", p.name(name)));
        }
        Some(_) => parts.extend(version_is::<M>(p, version)),
        None => {}
    }
    Some(parts.join(" AND "))
}

/// `item` restricted to the attributes `names` (for comparing only the written file fields).
pub(crate) fn only(item: Option<&Item>, names: &[&str]) -> Option<Item> {
    item.map(|item| {
        item.iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    })
}

/// Whether the key attributes of `M` are the same in `loaded` and `now` (an item, or only
/// its key); `Err` names the first that differs.
pub(crate) fn same_key<M: Model>(loaded: &Item, now: &Item) -> Result<(), &'static str> {
    let range = M::SCHEMA.range.map(|r| r.name);
    for name in std::iter::once(M::SCHEMA.hash.name).chain(range) {
        let same = match (loaded.get(name), now.get(name)) {
            (Some(a), Some(b)) => same_value(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            return Err(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn changes_are_the_set_and_removed_attributes() {
        let loaded = item(&[("pk", "1"), ("a", "x"), ("b", "y"), ("c", "z")]);
        let mut now = item(&[("pk", "1"), ("a", "x"), ("b", "new"), ("d", "added")]);
        now.insert("n".into(), AttributeValue::N("1.50".into()));
        let mut with_n = loaded.clone();
        with_n.insert("n".into(), AttributeValue::N("1.5".into()));
        let changes = Changes::between(&with_n, &now);
        assert_eq!(changes.set, vec!["b", "d"]);
        assert_eq!(changes.remove, vec!["c"]);
        assert!(Changes::between(&now, &now).is_empty());
    }

    /// A versioned model with a timestamp: the attributes every save writes.
    #[derive(crate::DynamoModel)]
    #[dynamo(table = "stamped")]
    #[allow(dead_code)]
    struct Stamped {
        #[dynamo(hash_key)]
        pk: String,
        a: String,
        #[dynamo(version)]
        version: u64,
        #[dynamo(updated_at)]
        updated_at: std::time::SystemTime,
    }

    #[test]
    fn evidence_compares_only_the_written_attributes() {
        let loaded = item(&[("pk", "1"), ("a", "x"), ("b", "y"), ("gone", "g")]);
        let written = item(&[("pk", "1"), ("a", "mine"), ("b", "y")]);
        let changes = Changes::between(&loaded, &written);
        // Another writer changed `b` (which this save did not write) after the commit: the
        // stored item still shows this write.
        let stored = item(&[("pk", "1"), ("a", "mine"), ("b", "theirs")]);
        assert!(changes.held_by::<Stamped>(&stored, &written));
        // Not committed: `a` is the old value, or the removed attribute is still there.
        assert!(!changes.held_by::<Stamped>(&loaded, &written));
        let still = item(&[("pk", "1"), ("a", "mine"), ("gone", "g")]);
        assert!(!changes.held_by::<Stamped>(&still, &written));
    }

    #[test]
    fn evidence_ignores_the_version_and_timestamps_another_save_rewrites() {
        let loaded = item(&[
            ("pk", "1"),
            ("a", "x"),
            ("version", "1"),
            ("updated_at", "10"),
        ]);
        let written = item(&[
            ("pk", "1"),
            ("a", "mine"),
            ("version", "2"),
            ("updated_at", "20"),
        ]);
        let changes = Changes::between(&loaded, &written);
        // A later save of another field by another writer stamped both again.
        let stored = item(&[
            ("pk", "1"),
            ("a", "mine"),
            ("version", "3"),
            ("updated_at", "30"),
        ]);
        assert!(changes.held_by::<Stamped>(&stored, &written));
        assert!(!changes.held_by::<Stamped>(&loaded, &written));
        // A write of only the stamps is judged by them.
        let stamps = item(&[
            ("pk", "1"),
            ("a", "x"),
            ("version", "2"),
            ("updated_at", "20"),
        ]);
        let only = Changes::between(&loaded, &stamps);
        assert!(only.held_by::<Stamped>(&stamps, &stamps));
        assert!(!only.held_by::<Stamped>(&stored, &stamps));
    }

    #[test]
    fn the_expression_sets_and_removes() {
        let loaded = item(&[("pk", "1"), ("a", "x"), ("c", "z")]);
        let now = item(&[("pk", "1"), ("a", "y"), ("b", "w")]);
        let changes = Changes::between(&loaded, &now);
        let mut p = Placeholders::default();
        let expression = changes.expression(&mut p, &now);
        assert_eq!(expression, "SET #n0 = :v0, #n1 = :v1 REMOVE #n2");
        let (names, _) = p.into_maps();
        let names = names.expect("names");
        assert_eq!(names["#n0"], "a");
        assert_eq!(names["#n2"], "c");
    }
}
