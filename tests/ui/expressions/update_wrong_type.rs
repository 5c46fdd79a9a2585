use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
    status: String,
    #[s3(bucket = "order-files")]
    invoice: dynox_s3::S3Object,
}

fn main() {
    let f = Order::fields();
    let _ = f.status.set(5);
    let _ = f.status.add(1); // only numbers can be added to
    let _ = f.invoice.set(()); // files are changed by saves only
}
