use dynox_core::DynamoModel;

#[derive(DynamoModel)]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

fn main() {}
