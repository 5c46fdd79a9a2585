use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "orders")]
struct Order {
    #[dynamo(hash_key)]
    customer: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
}

async fn run(client: &dynox_core::Client, order: &mut Order) {
    // A condition on a User field cannot guard an Order write.
    let _ = client.save(order).condition(User::fields().id.exists()).await;
}

fn main() {}
