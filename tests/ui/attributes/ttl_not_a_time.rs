use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "sessions")]
struct Session {
    #[dynamo(hash_key)]
    token: String,
    #[dynamo(ttl)]
    expires_at: String,
}

fn main() {}
