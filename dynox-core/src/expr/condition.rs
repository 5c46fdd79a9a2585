//! Typed conditions: `fields.total_cents.gt(1000) & fields.status.exists()`.

use std::collections::{BTreeSet, HashSet};
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use crate::item::{Attribute, AttributeError, AttributeValue};

use super::path::{display, path_expr, Codec, IntoValue, Path, Step};
use super::Placeholders;

/// A DynamoDB attribute type, for [`Path::is_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// `S`
    String,
    /// `N`
    Number,
    /// `B`
    Binary,
    /// `BOOL`
    Bool,
    /// `NULL`
    Null,
    /// `M`
    Map,
    /// `L`
    List,
    /// `SS`
    StringSet,
    /// `NS`
    NumberSet,
    /// `BS`
    BinarySet,
}

impl AttributeType {
    fn code(self) -> &'static str {
        match self {
            AttributeType::String => "S",
            AttributeType::Number => "N",
            AttributeType::Binary => "B",
            AttributeType::Bool => "BOOL",
            AttributeType::Null => "NULL",
            AttributeType::Map => "M",
            AttributeType::List => "L",
            AttributeType::StringSet => "SS",
            AttributeType::NumberSet => "NS",
            AttributeType::BinarySet => "BS",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Compare(Vec<Step>, &'static str, AttributeValue),
    Between(Vec<Step>, AttributeValue, AttributeValue),
    In(Vec<Step>, Vec<AttributeValue>),
    Function(&'static str, Vec<Step>, AttributeValue),
    Exists(Vec<Step>, bool),
    SizeCompare(Vec<Step>, &'static str, AttributeValue),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

/// A condition on items of model `M`, built from typed paths (`Model::fields()`) and combined
/// with `&`, `|` and `!`.
///
/// ```
/// # use dynox_core::DynamoModel;
/// #[derive(DynamoModel)]
/// #[dynamo(table = "orders")]
/// struct Order {
///     #[dynamo(hash_key)] customer: String,
///     #[dynamo(range_key)] order_id: u64,
///     status: String,
///     total_cents: i64,
/// }
///
/// let f = Order::fields();
/// let open_and_big = f.status.eq("open") & (f.total_cents.gt(1000) | !f.status.exists());
/// assert_eq!(
///     open_and_big.expression().unwrap(),
///     "(#n0 = :v0 AND (#n1 > :v1 OR NOT (attribute_exists(#n0))))"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Condition<M> {
    node: Node,
    /// A value that could not be converted: reported when the condition is used.
    error: Option<(String, AttributeError)>,
    model: PhantomData<fn() -> M>,
}

impl<M> Condition<M> {
    fn new(node: Node) -> Self {
        Self {
            node,
            error: None,
            model: PhantomData,
        }
    }

    fn failed(path: &[Step], error: AttributeError) -> Self {
        Self {
            node: Node::Exists(path.to_vec(), true),
            error: Some((display(path), error)),
            model: PhantomData,
        }
    }

    fn combine(self, other: Self, make: fn(Box<Node>, Box<Node>) -> Node) -> Self {
        Self {
            node: make(Box::new(self.node), Box::new(other.node)),
            error: self.error.or(other.error),
            model: PhantomData,
        }
    }

    /// Renders the condition with placeholders from `p`; fails if a value could not be
    /// converted (naming the attribute path).
    pub(crate) fn render(&self, p: &mut Placeholders) -> Result<String, (String, AttributeError)> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        Ok(render(&self.node, p))
    }

    /// The expression alone, with placeholders numbered from zero (for tests and logs).
    pub fn expression(&self) -> Result<String, (String, AttributeError)> {
        self.render(&mut Placeholders::default())
    }
}

fn render(node: &Node, p: &mut Placeholders) -> String {
    match node {
        Node::Compare(path, op, v) => {
            let path = path_expr(path, p);
            format!("{path} {op} {}", p.value(v.clone()))
        }
        Node::Between(path, lo, hi) => {
            let path = path_expr(path, p);
            let lo = p.value(lo.clone());
            format!("{path} BETWEEN {lo} AND {}", p.value(hi.clone()))
        }
        Node::In(path, values) => {
            let path = path_expr(path, p);
            let values: Vec<String> = values.iter().map(|v| p.value(v.clone())).collect();
            format!("{path} IN ({})", values.join(", "))
        }
        Node::Function(name, path, v) => {
            let path = path_expr(path, p);
            format!("{name}({path}, {})", p.value(v.clone()))
        }
        Node::Exists(path, exists) => {
            let path = path_expr(path, p);
            if *exists {
                format!("attribute_exists({path})")
            } else {
                format!("attribute_not_exists({path})")
            }
        }
        Node::SizeCompare(path, op, v) => {
            let path = path_expr(path, p);
            format!("size({path}) {op} {}", p.value(v.clone()))
        }
        Node::And(a, b) => {
            let a = render(a, p);
            format!("({a} AND {})", render(b, p))
        }
        Node::Or(a, b) => {
            let a = render(a, p);
            format!("({a} OR {})", render(b, p))
        }
        Node::Not(a) => format!("NOT ({})", render(a, p)),
    }
}

impl<M> BitAnd for Condition<M> {
    type Output = Condition<M>;
    fn bitand(self, other: Self) -> Self {
        self.combine(other, Node::And)
    }
}

impl<M> BitOr for Condition<M> {
    type Output = Condition<M>;
    fn bitor(self, other: Self) -> Self {
        self.combine(other, Node::Or)
    }
}

impl<M> Not for Condition<M> {
    type Output = Condition<M>;
    fn not(self) -> Self {
        Self {
            node: Node::Not(Box::new(self.node)),
            error: self.error,
            model: PhantomData,
        }
    }
}

impl<M, T, C: Codec<T>> Path<M, T, C> {
    fn compare(&self, op: &'static str, value: T) -> Condition<M> {
        match C::encode(&value) {
            Ok(v) => Condition::new(Node::Compare(self.steps.clone(), op, v)),
            Err(e) => Condition::failed(&self.steps, e),
        }
    }

    /// `path = value`
    pub fn eq(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare("=", value.into_value())
    }
    /// `path <> value`
    pub fn ne(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare("<>", value.into_value())
    }
    /// `path < value`
    pub fn lt(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare("<", value.into_value())
    }
    /// `path <= value`
    pub fn le(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare("<=", value.into_value())
    }
    /// `path > value`
    pub fn gt(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare(">", value.into_value())
    }
    /// `path >= value`
    pub fn ge(&self, value: impl IntoValue<T>) -> Condition<M> {
        self.compare(">=", value.into_value())
    }

    /// `path BETWEEN low AND high`
    pub fn between(&self, low: impl IntoValue<T>, high: impl IntoValue<T>) -> Condition<M> {
        match (C::encode(&low.into_value()), C::encode(&high.into_value())) {
            (Ok(lo), Ok(hi)) => Condition::new(Node::Between(self.steps.clone(), lo, hi)),
            (Err(e), _) | (_, Err(e)) => Condition::failed(&self.steps, e),
        }
    }

    /// `path IN (values...)` (DynamoDB allows up to 100 values).
    pub fn is_in<V: IntoValue<T>>(&self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        let encoded: Result<Vec<_>, _> = values
            .into_iter()
            .map(|v| C::encode(&v.into_value()))
            .collect();
        match encoded {
            Ok(values) => Condition::new(Node::In(self.steps.clone(), values)),
            Err(e) => Condition::failed(&self.steps, e),
        }
    }
}

impl<M, T, C> Path<M, T, C> {
    /// `attribute_exists(path)`
    pub fn exists(&self) -> Condition<M> {
        Condition::new(Node::Exists(self.steps.clone(), true))
    }

    /// `attribute_not_exists(path)`
    pub fn not_exists(&self) -> Condition<M> {
        Condition::new(Node::Exists(self.steps.clone(), false))
    }

    /// `attribute_type(path, type)`
    pub fn is_type(&self, kind: AttributeType) -> Condition<M> {
        Condition::new(Node::Function(
            "attribute_type",
            self.steps.clone(),
            AttributeValue::S(kind.code().to_owned()),
        ))
    }

    /// `size(path)`: the length of a string or binary, the number of elements of a set, list
    /// or map.
    pub fn size(&self) -> Size<M> {
        Size {
            steps: self.steps.clone(),
            model: PhantomData,
        }
    }
}

impl<M, C: Codec<String>> Path<M, String, C> {
    /// `begins_with(path, prefix)`: strings only.
    pub fn begins_with(&self, prefix: impl Into<String>) -> Condition<M> {
        Condition::new(Node::Function(
            "begins_with",
            self.steps.clone(),
            AttributeValue::S(prefix.into()),
        ))
    }

    /// `contains(path, part)`: the string contains `part`.
    pub fn contains(&self, part: impl Into<String>) -> Condition<M> {
        Condition::new(Node::Function(
            "contains",
            self.steps.clone(),
            AttributeValue::S(part.into()),
        ))
    }
}

macro_rules! set_contains {
    ($set:ident) => {
        impl<M, E: Attribute, C> Path<M, $set<E>, C> {
            /// `contains(path, element)`: the set holds `element`.
            pub fn contains(&self, element: impl IntoValue<E>) -> Condition<M> {
                match element.into_value().to_attribute() {
                    Ok(Some(v)) => {
                        Condition::new(Node::Function("contains", self.steps.clone(), v))
                    }
                    Ok(None) => Condition::failed(&self.steps, AttributeError::Missing),
                    Err(e) => Condition::failed(&self.steps, e),
                }
            }
        }
    };
}
set_contains!(HashSet);
set_contains!(BTreeSet);

impl<M, E: Attribute, C> Path<M, Vec<E>, C> {
    /// `contains(path, element)`: the list holds `element`.
    pub fn contains_element(&self, element: impl IntoValue<E>) -> Condition<M> {
        match element.into_value().to_attribute() {
            Ok(Some(v)) => Condition::new(Node::Function("contains", self.steps.clone(), v)),
            Ok(None) => Condition::failed(&self.steps, AttributeError::Missing),
            Err(e) => Condition::failed(&self.steps, e),
        }
    }
}

/// `size(path)` of a [`Path`], compared with a number.
pub struct Size<M> {
    steps: Vec<Step>,
    model: PhantomData<fn() -> M>,
}

macro_rules! size_compare {
    ($($name:ident $op:literal),*) => {
        impl<M> Size<M> {
            $(
                #[doc = concat!("`size(path) ", $op, " n`")]
                pub fn $name(&self, n: u64) -> Condition<M> {
                    Condition::new(Node::SizeCompare(self.steps.clone(), $op, AttributeValue::N(n.to_string())))
                }
            )*
        }
    };
}
size_compare!(eq "=", ne "<>", lt "<", le "<=", gt ">", ge ">=");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::path::{Direct, Serde, Set};

    struct M;

    #[test]
    fn expressions_are_deterministic_and_deduplicated() {
        let status: Path<M, String> = Path::attribute("status");
        let size: Path<M, i64, Direct> = Path::attribute("size");
        let c = status.eq("open") & size.between(1, 10) & status.ne("open") | !size.exists();
        let mut p = Placeholders::default();
        let expr = c.render(&mut p).unwrap();
        assert_eq!(
            expr,
            "(((#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2) AND #n0 <> :v0) OR NOT (attribute_exists(#n1)))"
        );
        let (names, values) = p.into_maps();
        assert_eq!(names.unwrap().len(), 2);
        assert_eq!(values.unwrap().len(), 3);
        // The same builder calls give the same string.
        let again = status.eq("open") & size.between(1, 10) & status.ne("open") | !size.exists();
        assert_eq!(again.expression().unwrap(), expr);
    }

    #[test]
    fn every_operator_renders() {
        let name: Path<M, String> = Path::attribute("name");
        let n: Path<M, u32> = Path::attribute("n");
        let tags: Path<M, BTreeSet<String>, Set> = Path::attribute("tags");
        let address: Path<M, (), Serde> = Path::attribute("address");
        let city = address.key::<String>("city");
        let first = address.index::<String>(0);
        assert_eq!(
            name.begins_with("A").expression().unwrap(),
            "begins_with(#n0, :v0)"
        );
        assert_eq!(
            name.contains("x").expression().unwrap(),
            "contains(#n0, :v0)"
        );
        assert_eq!(
            tags.contains("red").expression().unwrap(),
            "contains(#n0, :v0)"
        );
        assert_eq!(
            n.is_in([1, 2, 3]).expression().unwrap(),
            "#n0 IN (:v0, :v1, :v2)"
        );
        assert_eq!(n.le(4).expression().unwrap(), "#n0 <= :v0");
        assert_eq!(name.size().gt(3).expression().unwrap(), "size(#n0) > :v0");
        assert_eq!(
            name.not_exists().expression().unwrap(),
            "attribute_not_exists(#n0)"
        );
        assert_eq!(
            name.is_type(AttributeType::String).expression().unwrap(),
            "attribute_type(#n0, :v0)"
        );
        assert_eq!(city.eq("Oslo").expression().unwrap(), "#n0.#n1 = :v0");
        assert_eq!(
            first.exists().expression().unwrap(),
            "attribute_exists(#n0[0])"
        );
        assert_eq!(city.to_string(), "address.city");
    }

    #[test]
    fn an_unstorable_value_is_an_error_naming_the_path() {
        let score: Path<M, f64> = Path::attribute("score");
        let (path, error) = score.gt(f64::NAN).expression().unwrap_err();
        assert_eq!(path, "score");
        assert!(matches!(error, AttributeError::NotFinite { .. }));
    }
}
