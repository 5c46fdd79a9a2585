use dynox_core::DynamoModel;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Address {
    city: String,
}

// A field whose type is no key segment: reported at the field's type.
#[derive(DynamoModel)]
#[dynamo(table = "shop", pk = "CUSTOMER#{address}")]
struct Customer {
    address: Address,
}

fn main() {}
