use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key, skip)]
    id: String,
    #[dynamo(set, set)]
    tags: std::collections::HashSet<String>,
    #[dynamo(hash_key, range_key)]
    other: String,
}

fn main() {}
