use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "readings")]
#[dynamo(global_index(name = "by_value", hash_key = value))]
pub struct Reading {
    #[dynamo(hash_key)]
    pub sensor: String,
    pub value: f64,
}

fn main() {}
