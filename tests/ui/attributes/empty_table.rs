use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "")]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "my table!")]
struct Other {
    #[dynamo(hash_key)]
    id: String,
}

fn main() {}
