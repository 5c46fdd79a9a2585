use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(hash_key)]
    email: String,
}

fn main() {}
