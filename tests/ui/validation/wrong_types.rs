use dynox_core::DynamoModel;

fn positive(value: &i64) -> Result<(), String> {
    if *value > 0 { Ok(()) } else { Err("not positive".into()) }
}

// Rules on types they do not apply to: reported at the field's type (or the function).
#[derive(DynamoModel)]
#[dynamo(table = "products")]
struct Product {
    #[dynamo(hash_key)]
    sku: String,
    #[dynamo(validate(length(max = 3)))]
    count: u32,
    #[dynamo(validate(range(min = 1)))]
    name: String,
    #[dynamo(validate(pattern = "^[a-z]+$"))]
    stock: u64,
    #[dynamo(validate(with = positive))]
    price: u32,
}

fn main() {}
