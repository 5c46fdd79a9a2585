use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "readings")]
struct Reading {
    #[dynamo(hash_key)]
    sensor: String,
    #[dynamo(range_key)]
    value: f32,
}

fn main() {}
