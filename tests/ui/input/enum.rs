use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "shapes")]
enum Shape {
    Circle,
    Square,
}

fn main() {}
