use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(rename = "id")]
    legacy_id: String,
}

fn main() {}
