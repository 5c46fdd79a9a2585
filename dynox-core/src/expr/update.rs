//! Typed updates: `Order::update(&client, "c", 42).apply(f.status.set("shipped"))`.

use std::collections::{BTreeSet, HashSet};
use std::marker::PhantomData;

use crate::item::{AttributeError, AttributeValue, SetAttribute};

use super::path::{display, path_expr, Codec, IntoValue, Path, Step};
use super::Placeholders;

#[derive(Debug, Clone, PartialEq)]
enum Action {
    Set(Vec<Step>, AttributeValue),
    SetIfNotExists(Vec<Step>, AttributeValue),
    Append(Vec<Step>, AttributeValue),
    Prepend(Vec<Step>, AttributeValue),
    Remove(Vec<Step>),
    Add(Vec<Step>, AttributeValue),
    Delete(Vec<Step>, AttributeValue),
}

/// One change of an update, made from a typed path (`Model::fields()`).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateAction<M> {
    action: Action,
    error: Option<(String, AttributeError)>,
    model: PhantomData<fn() -> M>,
}

impl<M> UpdateAction<M> {
    fn new(action: Action) -> Self {
        Self {
            action,
            error: None,
            model: PhantomData,
        }
    }

    fn failed(path: &Path<M, impl Sized, impl Sized>, error: AttributeError) -> Self {
        Self {
            action: Action::Remove(path.steps.clone()),
            error: Some((path.to_string(), error)),
            model: PhantomData,
        }
    }

    fn steps(&self) -> &[Step] {
        match &self.action {
            Action::Set(s, _)
            | Action::SetIfNotExists(s, _)
            | Action::Append(s, _)
            | Action::Prepend(s, _)
            | Action::Remove(s)
            | Action::Add(s, _)
            | Action::Delete(s, _) => s,
        }
    }

    /// What this action leaves in a top-level attribute, where that is known from the action
    /// alone: `(name, Some(value))` for `SET name = value`, `(name, None)` for `REMOVE name`.
    /// `None` for nested paths and for actions whose result depends on the stored value.
    pub(crate) fn known_result(&self) -> Option<(&str, Option<&AttributeValue>)> {
        let [Step::Name(name)] = self.steps() else {
            return None;
        };
        match &self.action {
            Action::Set(_, value) => Some((name, Some(value))),
            Action::Remove(_) if self.error.is_none() => Some((name, None)),
            _ => None,
        }
    }

    /// The top-level attribute this action changes.
    pub(crate) fn attribute(&self) -> Option<&str> {
        match self.steps().first() {
            Some(Step::Name(n)) => Some(n),
            _ => None,
        }
    }
}

fn encode<M, T, C: Codec<T>>(
    path: &Path<M, T, C>,
    value: T,
    make: impl FnOnce(Vec<Step>, AttributeValue) -> Action,
) -> UpdateAction<M> {
    match C::encode(&value) {
        Ok(v) => UpdateAction::new(make(path.steps.clone(), v)),
        Err(e) => UpdateAction::failed(path, e),
    }
}

impl<M, T, C: Codec<T>> Path<M, T, C> {
    /// `SET path = value`
    pub fn set(&self, value: impl IntoValue<T>) -> UpdateAction<M> {
        encode(self, value.into_value(), Action::Set)
    }

    /// `SET path = if_not_exists(path, value)`: only if the attribute is absent.
    pub fn set_if_not_exists(&self, value: impl IntoValue<T>) -> UpdateAction<M> {
        encode(self, value.into_value(), Action::SetIfNotExists)
    }
}

impl<M, T, C> Path<M, T, C> {
    /// `REMOVE path`
    pub fn remove(&self) -> UpdateAction<M> {
        UpdateAction::new(Action::Remove(self.steps.clone()))
    }
}

/// Number types, for [`Path::add`].
pub trait Numeric {}
macro_rules! numeric {
    ($($t:ty),*) => {$( impl Numeric for $t {} )*};
}
numeric!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);

impl<M, T: Numeric, C: Codec<T>> Path<M, T, C> {
    /// `ADD path n`: adds to a number (a missing attribute counts as 0). Negative to subtract.
    pub fn add(&self, n: impl IntoValue<T>) -> UpdateAction<M> {
        encode(self, n.into_value(), Action::Add)
    }
}

macro_rules! set_updates {
    ($set:ident) => {
        impl<M, E, C> Path<M, $set<E>, C>
        where
            $set<E>: SetAttribute,
        {
            /// `ADD path elements`: adds elements to the set.
            pub fn insert(&self, elements: $set<E>) -> UpdateAction<M> {
                match elements.to_set_attribute() {
                    Ok(Some(v)) => UpdateAction::new(Action::Add(self.steps.clone(), v)),
                    Ok(None) => UpdateAction::failed(self, AttributeError::Missing),
                    Err(e) => UpdateAction::failed(self, e),
                }
            }

            /// `DELETE path elements`: removes elements from the set.
            pub fn delete(&self, elements: $set<E>) -> UpdateAction<M> {
                match elements.to_set_attribute() {
                    Ok(Some(v)) => UpdateAction::new(Action::Delete(self.steps.clone(), v)),
                    Ok(None) => UpdateAction::failed(self, AttributeError::Missing),
                    Err(e) => UpdateAction::failed(self, e),
                }
            }
        }
    };
}
set_updates!(HashSet);
set_updates!(BTreeSet);

impl<M, E, C: Codec<Vec<E>>> Path<M, Vec<E>, C> {
    /// `SET path = list_append(path, elements)`
    pub fn append(&self, elements: Vec<E>) -> UpdateAction<M> {
        encode(self, elements, Action::Append)
    }

    /// `SET path = list_append(elements, path)`
    pub fn prepend(&self, elements: Vec<E>) -> UpdateAction<M> {
        encode(self, elements, Action::Prepend)
    }
}

/// Renders actions as one update expression (`SET ... REMOVE ... ADD ... DELETE ...`).
pub(crate) fn render<M>(
    actions: &[UpdateAction<M>],
    extra_set: &[String],
    extra_remove: &[String],
    p: &mut Placeholders,
) -> Result<String, (String, AttributeError)> {
    let (mut set, mut remove, mut add, mut delete) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen: Vec<&[Step]> = Vec::new();
    for a in actions {
        if let Some(error) = &a.error {
            return Err(error.clone());
        }
        // DynamoDB refuses two changes to overlapping paths in one update: say which.
        let steps = a.steps();
        if let Some(other) = seen
            .iter()
            .find(|s| s.starts_with(steps) || steps.starts_with(s))
        {
            return Err((
                display(steps),
                AttributeError::Serde(format!(
                    "changed twice in one update (overlaps `{}`): split it into two updates",
                    display(other)
                )),
            ));
        }
        seen.push(steps);
        match &a.action {
            Action::Set(s, v) => {
                let path = path_expr(s, p);
                set.push(format!("{path} = {}", p.value(v.clone())));
            }
            Action::SetIfNotExists(s, v) => {
                let path = path_expr(s, p);
                set.push(format!(
                    "{path} = if_not_exists({path}, {})",
                    p.value(v.clone())
                ));
            }
            Action::Append(s, v) => {
                let path = path_expr(s, p);
                set.push(format!(
                    "{path} = list_append({path}, {})",
                    p.value(v.clone())
                ));
            }
            Action::Prepend(s, v) => {
                let path = path_expr(s, p);
                set.push(format!(
                    "{path} = list_append({}, {path})",
                    p.value(v.clone())
                ));
            }
            Action::Remove(s) => remove.push(path_expr(s, p)),
            Action::Add(s, v) => {
                let path = path_expr(s, p);
                add.push(format!("{path} {}", p.value(v.clone())));
            }
            Action::Delete(s, v) => {
                let path = path_expr(s, p);
                delete.push(format!("{path} {}", p.value(v.clone())));
            }
        }
    }
    set.extend(extra_set.iter().cloned());
    remove.extend(extra_remove.iter().cloned());
    let mut clauses = Vec::new();
    for (keyword, parts) in [
        ("SET", set),
        ("REMOVE", remove),
        ("ADD", add),
        ("DELETE", delete),
    ] {
        if !parts.is_empty() {
            clauses.push(format!("{keyword} {}", parts.join(", ")));
        }
    }
    Ok(clauses.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::path::{Serde, Set};

    struct M;

    #[test]
    fn update_expressions_group_clauses_deterministically() {
        let status: Path<M, String> = Path::attribute("status");
        let count: Path<M, i64> = Path::attribute("count");
        let tags: Path<M, BTreeSet<String>, Set> = Path::attribute("tags");
        let lines: Path<M, Vec<String>, Serde> = Path::attribute("lines");
        let note: Path<M, String> = Path::attribute("note");
        let other: Path<M, BTreeSet<String>, Set> = Path::attribute("other");
        let actions = [
            status.set("shipped"),
            count.add(-2),
            tags.insert(["a".to_string()].into()),
            note.remove(),
            lines.append(vec!["x".into()]),
            other.delete(["b".to_string()].into()),
        ];
        let mut p = Placeholders::default();
        let expr = render(&actions, &[], &[], &mut p).unwrap();
        assert_eq!(
            expr,
            "SET #n0 = :v0, #n4 = list_append(#n4, :v3) REMOVE #n3 ADD #n1 :v1, #n2 :v2 DELETE #n5 :v4"
        );
        let (path, _) = render(
            &[count.add(1), count.set_if_not_exists(0)],
            &[],
            &[],
            &mut p,
        )
        .unwrap_err();
        assert_eq!(path, "count");
    }
}
