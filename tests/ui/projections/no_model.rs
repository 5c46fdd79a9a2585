include!("models.rs");

#[derive(DynamoProjection)]
pub struct OrderLine {
    #[dynamo(rename = "state")]
    pub status: String,
}

fn main() {}
