use dynox_core::{DynamoCollection, DynamoModel};

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "PROFILE")]
struct Customer {
    id: String,
}

/// Declares the same entity type as `Customer`.
#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "ALSO")]
struct Impostor {
    id: String,
}

/// In another table.
#[derive(DynamoModel)]
#[dynamo(table = "billing", entity = "Invoice", pk = "CUSTOMER#{id}", sk = "INVOICE")]
struct Invoice {
    id: String,
}

/// Records its type in another attribute.
#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Order", entity_attribute = "kind")]
#[dynamo(pk = "CUSTOMER#{id}", sk = "ORDER")]
struct Order {
    id: String,
}

/// Declares no entity type.
#[derive(DynamoModel)]
#[dynamo(table = "shop")]
struct Plain {
    #[dynamo(hash_key)]
    pk: String,
}

#[derive(DynamoCollection)]
enum Mixed {
    Customer(Customer),
    Impostor(Impostor),
    Invoice(Invoice),
    Order(Order),
    Plain(Plain),
}

fn main() {}
