use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    id: String,
    name: String,
}

fn main() {}
