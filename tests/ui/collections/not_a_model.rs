use dynox_core::{DynamoCollection, DynamoModel};

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "PROFILE")]
struct Customer {
    id: String,
}

// A variant must hold a model or a partial type of one.
#[derive(DynamoCollection)]
enum Items {
    Customer(Customer),
    Note(String),
}

fn main() {}
