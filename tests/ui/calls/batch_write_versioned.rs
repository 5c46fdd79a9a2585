use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "accounts")]
struct Account {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
}

fn main() {
    // A batch write is unconditional: it cannot check a version.
    fn _batch(client: &dynox_core::Client) {
        let _ = client.batch_write::<Account>();
    }
}
