//! The realistic 20-field model of the conversion and overhead benchmarks, and its
//! hand-written conversion (what a careful user writes without an ORM).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::DynamoModel;
use serde::{Deserialize, Serialize};

/// A nested serde struct, stored as a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipping {
    /// Carrier name.
    pub carrier: String,
    /// Service level.
    pub method: String,
    /// Days until delivery.
    pub eta_days: u32,
    /// Whether the parcel is insured.
    pub insured: bool,
}

/// An order with 20 fields: strings, integers, a float, options, a bool, a string set and a
/// nested struct.
///
/// ```
/// use dynox_bench::model::Order;
/// use dynox_core::Model;
///
/// let order = Order::sample("cust-1", 7);
/// let item = order.to_item().unwrap();
/// assert_eq!(Order::from_item(item).unwrap(), order);
/// assert_eq!(Order::from_item_by_hand(order.to_item_by_hand()).unwrap(), order);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, DynamoModel)]
#[dynamo(table = "bench-orders")]
pub struct Order {
    /// Hash key.
    #[dynamo(hash_key)]
    pub customer: String,
    /// Range key.
    #[dynamo(range_key)]
    pub order_id: u64,
    /// Status name.
    pub status: String,
    /// Customer e-mail.
    pub email: String,
    /// Customer name.
    pub name: String,
    /// Street address.
    pub street: String,
    /// City.
    pub city: String,
    /// ISO country code.
    pub country: String,
    /// Total in cents.
    pub total_cents: i64,
    /// Number of lines.
    pub items_count: u32,
    /// Weight.
    pub weight_kg: f64,
    /// Discount rate, if any.
    pub discount: Option<f64>,
    /// Free-text note, if any.
    pub note: Option<String>,
    /// Coupon code, if any.
    pub coupon: Option<String>,
    /// Gift wrapping.
    pub gift: bool,
    /// Creation time, epoch milliseconds.
    pub created_at: i64,
    /// Last update, epoch milliseconds, if any.
    pub updated_at: Option<i64>,
    /// Tags, stored as a string set (`SS`).
    #[dynamo(set)]
    #[serde(with = "serde_dynamo::string_set")]
    pub tags: BTreeSet<String>,
    /// Nested map.
    pub shipping: Shipping,
    /// Priority 0-9.
    pub priority: u8,
}

impl Order {
    /// A realistic order with every optional field set.
    pub fn sample(customer: &str, order_id: u64) -> Self {
        Order {
            customer: customer.to_owned(),
            order_id,
            status: "SHIPPED".into(),
            email: "ada.lovelace@example.com".into(),
            name: "Ada Lovelace".into(),
            street: "12 Analytical Engine Road".into(),
            city: "London".into(),
            country: "GB".into(),
            total_cents: 129_990,
            items_count: 3,
            weight_kg: 2.75,
            discount: Some(0.15),
            note: Some("Leave at the reception desk, please.".into()),
            coupon: Some("SPRING24".into()),
            gift: true,
            created_at: 1_717_171_717_000,
            updated_at: Some(1_717_272_727_000),
            tags: ["priority", "fragile", "b2c"]
                .into_iter()
                .map(String::from)
                .collect(),
            shipping: Shipping {
                carrier: "DHL".into(),
                method: "express".into(),
                eta_days: 2,
                insured: true,
            },
            priority: 7,
        }
    }

    /// The item, built by hand.
    pub fn to_item_by_hand(&self) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut item = HashMap::with_capacity(20);
        item.insert("customer".to_owned(), s(&self.customer));
        item.insert(
            "order_id".to_owned(),
            AttributeValue::N(self.order_id.to_string()),
        );
        item.insert("status".to_owned(), s(&self.status));
        item.insert("email".to_owned(), s(&self.email));
        item.insert("name".to_owned(), s(&self.name));
        item.insert("street".to_owned(), s(&self.street));
        item.insert("city".to_owned(), s(&self.city));
        item.insert("country".to_owned(), s(&self.country));
        item.insert(
            "total_cents".to_owned(),
            AttributeValue::N(self.total_cents.to_string()),
        );
        item.insert(
            "items_count".to_owned(),
            AttributeValue::N(self.items_count.to_string()),
        );
        item.insert(
            "weight_kg".to_owned(),
            AttributeValue::N(self.weight_kg.to_string()),
        );
        if let Some(d) = self.discount {
            item.insert("discount".to_owned(), AttributeValue::N(d.to_string()));
        }
        if let Some(n) = &self.note {
            item.insert("note".to_owned(), s(n));
        }
        if let Some(c) = &self.coupon {
            item.insert("coupon".to_owned(), s(c));
        }
        item.insert("gift".to_owned(), AttributeValue::Bool(self.gift));
        item.insert(
            "created_at".to_owned(),
            AttributeValue::N(self.created_at.to_string()),
        );
        if let Some(u) = self.updated_at {
            item.insert("updated_at".to_owned(), AttributeValue::N(u.to_string()));
        }
        if !self.tags.is_empty() {
            item.insert(
                "tags".to_owned(),
                AttributeValue::Ss(self.tags.iter().cloned().collect()),
            );
        }
        let mut shipping = HashMap::with_capacity(4);
        shipping.insert("carrier".to_owned(), s(&self.shipping.carrier));
        shipping.insert("method".to_owned(), s(&self.shipping.method));
        shipping.insert(
            "eta_days".to_owned(),
            AttributeValue::N(self.shipping.eta_days.to_string()),
        );
        shipping.insert(
            "insured".to_owned(),
            AttributeValue::Bool(self.shipping.insured),
        );
        item.insert("shipping".to_owned(), AttributeValue::M(shipping));
        item.insert(
            "priority".to_owned(),
            AttributeValue::N(self.priority.to_string()),
        );
        item
    }

    /// Reads the item back by hand; `None` if any attribute is missing or malformed.
    pub fn from_item_by_hand(mut item: HashMap<String, AttributeValue>) -> Option<Self> {
        fn s(item: &mut HashMap<String, AttributeValue>, name: &str) -> Option<String> {
            match item.remove(name)? {
                AttributeValue::S(v) => Some(v),
                _ => None,
            }
        }
        fn n<T: std::str::FromStr>(
            item: &mut HashMap<String, AttributeValue>,
            name: &str,
        ) -> Option<T> {
            match item.remove(name)? {
                AttributeValue::N(v) => v.parse().ok(),
                _ => None,
            }
        }
        fn b(item: &mut HashMap<String, AttributeValue>, name: &str) -> Option<bool> {
            match item.remove(name)? {
                AttributeValue::Bool(v) => Some(v),
                _ => None,
            }
        }
        let tags = match item.remove("tags") {
            Some(AttributeValue::Ss(v)) => v.into_iter().collect(),
            None => BTreeSet::new(),
            Some(_) => return None,
        };
        let mut shipping = match item.remove("shipping")? {
            AttributeValue::M(m) => m,
            _ => return None,
        };
        Some(Order {
            customer: s(&mut item, "customer")?,
            order_id: n(&mut item, "order_id")?,
            status: s(&mut item, "status")?,
            email: s(&mut item, "email")?,
            name: s(&mut item, "name")?,
            street: s(&mut item, "street")?,
            city: s(&mut item, "city")?,
            country: s(&mut item, "country")?,
            total_cents: n(&mut item, "total_cents")?,
            items_count: n(&mut item, "items_count")?,
            weight_kg: n(&mut item, "weight_kg")?,
            discount: n(&mut item, "discount"),
            note: s(&mut item, "note"),
            coupon: s(&mut item, "coupon"),
            gift: b(&mut item, "gift")?,
            created_at: n(&mut item, "created_at")?,
            updated_at: n(&mut item, "updated_at"),
            tags,
            shipping: Shipping {
                carrier: s(&mut shipping, "carrier")?,
                method: s(&mut shipping, "method")?,
                eta_days: n(&mut shipping, "eta_days")?,
                insured: b(&mut shipping, "insured")?,
            },
            priority: n(&mut item, "priority")?,
        })
    }
}
