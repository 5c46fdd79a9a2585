use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = 42)]
struct User {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(rename)]
    name: String,
    #[dynamo(skip = true)]
    cache: String,
}

fn main() {}
