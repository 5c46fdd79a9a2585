use dynox_core::DynamoModel;

// `crate` takes a path to the `dynox` crate, as a string.
#[derive(DynamoModel)]
#[dynamo(table = "users", crate = "not a path")]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "users", crate = ::dynox)]
struct Other {
    #[dynamo(hash_key)]
    id: String,
}

fn main() {}
