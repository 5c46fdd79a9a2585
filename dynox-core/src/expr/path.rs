//! Typed attribute paths: `Order::fields().total_cents` is a `Path<Order, i64>`, so a condition
//! on it only accepts an `i64`.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use crate::item::{to_serde_attribute, Attribute, AttributeError, AttributeValue, SetAttribute};

/// How a path's values become attribute values: directly ([`Direct`]), as a set ([`Set`]) or
/// through serde ([`Serde`]).
pub trait Codec<T>: 'static {
    /// The attribute value of `value`.
    fn encode(value: &T) -> Result<AttributeValue, AttributeError>;
}

/// Scalars (`String`, numbers, `bool`, `Vec<u8>`).
#[derive(Debug, Clone, Copy)]
pub struct Direct;
/// `#[dynamo(set)]` fields.
#[derive(Debug, Clone, Copy)]
pub struct Set;
/// Any other type, through serde_dynamo.
#[derive(Debug, Clone, Copy)]
pub struct Serde;
/// S3 file fields: no value can be compared or assigned (only `exists`, `not_exists`, and
/// `remove` through a save); their objects are managed by saves.
#[derive(Debug, Clone, Copy)]
pub struct File;

fn present(value: Option<AttributeValue>) -> Result<AttributeValue, AttributeError> {
    value.ok_or(AttributeError::Missing)
}

impl<T: Attribute + 'static> Codec<T> for Direct {
    fn encode(value: &T) -> Result<AttributeValue, AttributeError> {
        present(value.to_attribute()?)
    }
}

impl<T: SetAttribute + 'static> Codec<T> for Set {
    fn encode(value: &T) -> Result<AttributeValue, AttributeError> {
        present(value.to_set_attribute()?)
    }
}

impl<T: Serialize + 'static> Codec<T> for Serde {
    fn encode(value: &T) -> Result<AttributeValue, AttributeError> {
        present(to_serde_attribute(value)?)
    }
}

/// A value that converts to a `T` for a condition or update: `T` itself, `&str` for `String`,
/// `&[u8]` for `Vec<u8>`. (Integer literals infer the path's integer type.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with or assigned to a `{T}` attribute",
    label = "expected a `{T}` value",
    note = "the value must have the field's type"
)]
pub trait IntoValue<T> {
    /// The value.
    fn into_value(self) -> T;
}

impl<T> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl IntoValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl IntoValue<Vec<u8>> for &[u8] {
    fn into_value(self) -> Vec<u8> {
        self.to_vec()
    }
}

/// The expression of path `steps`, its names as placeholders from `p`: `#n0.#n1[2]`.
pub(crate) fn path_expr(steps: &[Step], p: &mut super::Placeholders) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Name(n) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&p.name(n));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Path `steps` as text: `a.b[2].c`.
pub(crate) fn display(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Name(n) if out.is_empty() => out.push_str(n),
            Step::Name(n) => {
                out.push('.');
                out.push_str(n);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Name(String),
    Index(usize),
}

/// A typed path to an attribute (or a nested map entry or list element) of model `M`, whose
/// values are `T`, encoded by `C`.
pub struct Path<M, T, C = Direct> {
    pub(crate) steps: Vec<Step>,
    marker: PhantomData<Marker<M, T, C>>,
}

/// Ties a path to its model, value type and codec without owning any of them.
type Marker<M, T, C> = fn() -> (M, T, C);

impl<M, T, C> Clone for Path<M, T, C> {
    fn clone(&self) -> Self {
        Self {
            steps: self.steps.clone(),
            marker: PhantomData,
        }
    }
}

impl<M, T, C> fmt::Debug for Path<M, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Path").field(&self.to_string()).finish()
    }
}

/// `a.b[2].c`
impl<M, T, C> fmt::Display for Path<M, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display(&self.steps))
    }
}

impl<M, T, C> Path<M, T, C> {
    /// The path of top-level attribute `name` (generated code calls this).
    pub fn attribute(name: &'static str) -> Self {
        Self {
            steps: vec![Step::Name(name.to_owned())],
            marker: PhantomData,
        }
    }

    /// A nested map entry of this (serde) attribute, whose values are `U`. The entry's type is
    /// not checked against the serde type: name it correctly.
    pub fn key<U>(&self, name: &str) -> Path<M, U, Serde> {
        let mut steps = self.steps.clone();
        steps.push(Step::Name(name.to_owned()));
        Path {
            steps,
            marker: PhantomData,
        }
    }

    /// A list element of this (serde) attribute, whose values are `U`.
    pub fn index<U>(&self, index: usize) -> Path<M, U, Serde> {
        let mut steps = self.steps.clone();
        steps.push(Step::Index(index));
        Path {
            steps,
            marker: PhantomData,
        }
    }
}
