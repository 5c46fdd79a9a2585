use dynox_core::{Client, DynamoCollection, DynamoModel};

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Customer", pk = "CUSTOMER#{id}", sk = "PROFILE")]
struct Customer {
    id: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Order", pk = "CUSTOMER#{id}", sk = "ORDER#{n}")]
struct Order {
    id: String,
    n: u32,
}

#[derive(DynamoCollection)]
enum Profiles {
    Customer(Customer),
}

async fn demo(client: &Client) {
    // `Order` is not one of the collection's models: neither its partition nor its key.
    let _ = Profiles::query(client, Order::partition("c1")).await;
    let _ = Profiles::batch_get(client, [Order::key_of("c1", 1u32).into()]).await;
}

fn main() {}
