use dynox_core::DynamoModel;

// No table, no hash key, an unknown key and a malformed rename: all four are reported.
#[derive(DynamoModel)]
struct User {
    #[dynamo(primary)]
    id: String,
    #[dynamo(rename = 5)]
    name: String,
}

fn main() {}
