include!("models.rs");

#[derive(DynamoProjection)]
#[dynamo(model = Order)]
pub struct OrderLine {
    pub order_id: u64,
    pub status: u32,
}

fn main() {}
