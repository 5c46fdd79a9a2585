use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "points")]
struct Point(String, u64);

fn main() {}
