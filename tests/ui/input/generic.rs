use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "boxes")]
struct Boxed<T> {
    #[dynamo(hash_key)]
    id: String,
    value: T,
}

fn main() {}
