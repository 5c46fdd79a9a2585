use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "users")]
#[dynamo(local_index(name = "by_age", range_key = age))]
pub struct User {
    #[dynamo(hash_key)]
    pub id: String,
    pub age: u32,
}

fn main() {}
