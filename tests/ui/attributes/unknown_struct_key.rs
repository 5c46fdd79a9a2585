use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users", hash_key)]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

fn main() {}
