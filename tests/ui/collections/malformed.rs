use dynox_core::{DynamoCollection, DynamoModel};

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "PROFILE")]
struct Customer {
    id: String,
}

// Not an enum.
#[derive(DynamoCollection)]
struct NotAnEnum {
    customer: Customer,
}

// Variants hold one unnamed model each; one `other`; known attributes only.
#[derive(DynamoCollection)]
#[dynamo(table = "shop")]
enum Malformed {
    Customer(Customer),
    Named { customer: Customer },
    Two(Customer, Customer),
    Empty,
    #[dynamo(other)]
    First(dynox_core::item::Item),
    #[dynamo(other)]
    Second(dynox_core::item::Item),
    #[dynamo(fallback)]
    Unknown(Customer),
}

// Only the raw variant: no model to read.
#[derive(DynamoCollection)]
enum OnlyOther {
    #[dynamo(other)]
    Other(dynox_core::item::Item),
}

// Generic.
#[derive(DynamoCollection)]
enum Generic<T> {
    Customer(Customer),
    Other(T),
}

fn main() {}
