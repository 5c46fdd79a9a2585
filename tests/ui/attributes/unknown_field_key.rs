use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_kye)]
    id: String,
}

fn main() {}
