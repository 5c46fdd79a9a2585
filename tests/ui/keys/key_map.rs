use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "things")]
struct Thing {
    #[dynamo(hash_key)]
    id: std::collections::HashMap<String, String>,
}

fn main() {}
