use dynox_core::DynamoModel;

// Every mistake in a key template, each reported with its span.
#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Order")]
#[dynamo(pk = "CUSTOMER#{customer}", sk = "ORDER#{placed_at}{order_id}")]
#[dynamo(global_index(name = "gsi1", pk = "STATUS#{state", sk = "{missing}#{notes}"))]
struct Order {
    #[dynamo(hash_key)]
    customer_id: String,
    order_id: String,
    placed_at: u64,
    note: Option<String>,
    #[dynamo(set)]
    notes: std::collections::BTreeSet<String>,
}

#[derive(DynamoModel)]
#[dynamo(table = "shop", entity_attribute = "kind", sk = "X")]
struct NoHash {
    #[dynamo(hash_key)]
    id: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "shop", pk = "U#{id}", sk = "V#{version}")]
struct OptionalKey {
    id: String,
    version: Option<u32>,
}

// Index keys with a missing part: a sort key template without a hash key, and no key at all.
#[derive(DynamoModel)]
#[dynamo(table = "shop", entity = "Item", pk = "ITEM#{id}", sk = "ITEM")]
#[dynamo(global_index(name = "gsi1", sk = "{rank}"))]
#[dynamo(global_index(name = "gsi2"))]
struct Item {
    id: String,
    rank: u32,
}

fn main() {}
