//! Single-table design: key templates, several entity types in one table, and files in every
//! entity, against a real server.

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::item::AttributeError;
use dynox_core::{
    CollectionKey, DynamoCollection, DynamoModel, DynamoProjection, Error, InvalidRequestKind,
    KeySegment, Model, SortKey,
};
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{file_env, stored};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum Status {
    Placed,
    Shipped,
}

impl KeySegment for Status {
    fn write_segment(&self, out: &mut String) {
        out.push_str(match self {
            Status::Placed => "placed",
            Status::Shipped => "shipped",
        });
    }
    fn parse_segment(text: &str) -> Result<Self, AttributeError> {
        match text {
            "placed" => Ok(Status::Placed),
            "shipped" => Ok(Status::Shipped),
            other => Err(AttributeError::Serde(format!("unknown status `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Customer")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "PROFILE")]
struct Customer {
    customer_id: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Order")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "ORDER#{placed_at}#{order_id}")]
#[dynamo(global_index(name = "gsi1", pk = "STATUS#{status}", sk = "{placed_at}#{order_id}"))]
struct Order {
    customer_id: String,
    order_id: String,
    placed_at: u64,
    status: Status,
    total_cents: i64,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Invoice")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "INVOICE#{invoice_id}")]
struct Invoice {
    customer_id: String,
    invoice_id: u32,
    #[s3(bucket = "invoices", prefix = "pdf/")]
    pdf: S3Object,
}

/// Another entity type whose key template writes the same keys as `Customer`'s.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Profile")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "PROFILE")]
struct Profile {
    customer_id: String,
    bio: String,
}

/// `gsi1` again, with another sort key: `create_table` refuses the pair.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Refund")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "REFUND#{refund_id}")]
#[dynamo(global_index(name = "gsi1", pk = "STATUS#{refund_id}"))]
struct Refund {
    customer_id: String,
    refund_id: String,
}

type Shop = (Customer, Order, Invoice, Profile);

/// Everything a customer's partition holds.
#[allow(clippy::large_enum_variant)] // an invoice holds its file's metadata
#[derive(Debug, DynamoCollection)]
enum CustomerItems {
    Customer(Customer),
    Order(Order),
    Invoice(Invoice),
    Profile(Profile),
}

/// A view that lists two of the types, and takes the others raw.
#[allow(dead_code)] // the models are only counted
#[derive(Debug, DynamoCollection)]
enum CustomerOrders {
    Customer(Customer),
    Order(Order),
    #[dynamo(other)]
    Other(dynox_core::item::Item),
}

/// What a customer list shows of a customer.
#[derive(Debug, PartialEq, DynamoProjection)]
#[dynamo(model = Customer)]
struct CustomerName {
    name: String,
}

/// What an order list shows of an order.
#[derive(Debug, PartialEq, DynamoProjection)]
#[dynamo(model = Order)]
struct OrderLine {
    order_id: String,
    total_cents: i64,
}

/// A partition read through partial types: only their attributes are read.
#[derive(Debug, DynamoCollection)]
enum Summary {
    Customer(CustomerName),
    Order(OrderLine),
    #[dynamo(other)]
    Other(dynox_core::item::Item),
}

/// A view that lists two of the types, and refuses the others.
#[allow(dead_code)] // only its refusal is read
#[derive(Debug, DynamoCollection)]
enum Strict {
    Customer(Customer),
    Order(Order),
}

fn order(customer: &str, id: &str, placed_at: u64, status: Status) -> Order {
    Order {
        customer_id: customer.into(),
        order_id: id.into(),
        placed_at,
        status,
        total_cents: 1999,
    }
}

async fn raw(client: &dynox_core::Client, pk: &str, sk: &str) -> Option<dynox_core::item::Item> {
    client
        .dynamodb()
        .get_item()
        .table_name(client.table_name::<Order>())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn templated_keys_are_written_to_generic_attributes_and_read_back() {
    let client = dynox_tests::client_with::<Shop>().await;
    let mut o = order("c1", "o#1", 1_733_500_000, Status::Shipped);
    client.save(&mut o).await.unwrap();

    let item = raw(&client, "CUSTOMER#c1", "ORDER#00000000001733500000#o%231")
        .await
        .expect("the item under its templated key");
    assert_eq!(item["gsi1pk"], AttributeValue::S("STATUS#shipped".into()));
    assert_eq!(
        item["gsi1sk"],
        AttributeValue::S("00000000001733500000#o%231".into())
    );
    assert_eq!(item["entity_type"], AttributeValue::S("Order".into()));
    assert_eq!(item["order_id"], AttributeValue::S("o#1".into()));

    let got = Order::get(&client, "c1", 1_733_500_000, "o#1")
        .await
        .unwrap();
    assert_eq!(got, Some(o.clone()));
    assert_eq!(o.key().hash, "CUSTOMER#c1");
    Order::delete(&client, "c1", 1_733_500_000, "o#1")
        .await
        .unwrap();
    assert_eq!(
        Order::get(&client, "c1", 1_733_500_000, "o#1")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn fields_the_item_does_not_store_read_back_from_the_key() {
    let client = dynox_tests::client_with::<Shop>().await;
    // Written by another tool: only the keys, the type and the name. dynox escapes `%` (and
    // the template's separators) inside a segment, so the key reads back exactly.
    let put = |pk: &str| {
        client
            .dynamodb()
            .put_item()
            .table_name(client.table_name::<Customer>())
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S("PROFILE".into()))
            .item("entity_type", AttributeValue::S("Customer".into()))
            .item("name", AttributeValue::S("Ada".into()))
            .send()
    };
    put("CUSTOMER#c%252#7").await.unwrap();
    let customer = Customer::get(&client, "c%2#7").await.unwrap().unwrap();
    assert_eq!(customer.customer_id, "c%2#7");
    assert_eq!(customer.name, "Ada");

    // A key the template cannot have written is an error naming the key attribute.
    put("CUSTOMER#bad%zz").await.unwrap();
    let scanned = Customer::scan(&client).await;
    assert!(
        matches!(
            &scanned,
            Err(Error::InvalidField {
                field: "pk",
                source: AttributeError::KeyTemplate { .. },
                ..
            })
        ),
        "{scanned:?}"
    );
}

#[tokio::test]
async fn a_query_reads_its_own_entity_of_a_partition_with_typed_prefixes_and_paging() {
    let client = dynox_tests::client_with::<Shop>().await;
    client
        .save(&mut Customer {
            customer_id: "c1".into(),
            name: "Ada".into(),
        })
        .await
        .unwrap();
    for (id, at) in [("a", 10), ("b", 20), ("c", 20), ("d", 30)] {
        client
            .save(&mut order("c1", id, at, Status::Placed))
            .await
            .unwrap();
    }
    client
        .save(&mut order("c2", "x", 20, Status::Placed))
        .await
        .unwrap();

    let orders = Order::query(&client, "c1").await.unwrap();
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"], "only orders, in sort-key order");
    let customers = Customer::query(&client, "c1").await.unwrap();
    assert_eq!(customers.len(), 1);

    let at_20 = Order::query(&client, "c1")
        .sort_key(Order::sort_key().placed_at(20u64).begins_with())
        .await
        .unwrap();
    assert_eq!(
        at_20.iter().map(|o| &o.order_id[..]).collect::<Vec<_>>(),
        ["b", "c"]
    );
    let exact = Order::query(&client, "c1")
        .sort_key(Order::sort_key().placed_at(20u64).order_id("c").equals())
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);

    // Pages of one resume where they stopped; descending order.
    let first = Order::query(&client, "c1")
        .descending()
        .page_size(1)
        .page()
        .await
        .unwrap();
    assert_eq!(first.items[0].order_id, "d");
    let rest = Order::query(&client, "c1")
        .descending()
        .start_from(first.next.unwrap())
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|o| &o.order_id[..]).collect::<Vec<_>>(),
        ["c", "b", "a"]
    );

    // A scan of one model reads only its entity type.
    let scanned = Order::scan(&client).await.unwrap();
    assert_eq!(scanned.len(), 5);
}

#[tokio::test]
async fn an_index_query_builds_its_key_from_the_fields() {
    let client = dynox_tests::client_with::<Shop>().await;
    for (customer, id, at, status) in [
        ("c1", "a", 10, Status::Shipped),
        ("c2", "b", 5, Status::Shipped),
        ("c1", "c", 7, Status::Placed),
    ] {
        client
            .save(&mut order(customer, id, at, status))
            .await
            .unwrap();
    }
    let shipped = Order::query_gsi1(&client, Status::Shipped).await.unwrap();
    let ids: Vec<&str> = shipped.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["b", "a"], "by the index's sort key, placed_at");
}

#[tokio::test]
async fn a_foreign_item_under_a_key_is_a_typed_error_and_is_never_overwritten() {
    let client = dynox_tests::client_with::<Shop>().await;
    let mut ada = Customer {
        customer_id: "c1".into(),
        name: "Ada".into(),
    };
    client.save(&mut ada).await.unwrap();

    let read = Profile::get(&client, "c1").await;
    assert!(
        matches!(&read, Err(Error::ForeignEntity { expected: "Profile", found: Some(f), .. }) if f == "Customer"),
        "{read:?}"
    );
    assert!(read.unwrap_err().is_foreign_entity());

    let mut profile = Profile {
        customer_id: "c1".into(),
        bio: "overwrites?".into(),
    };
    let saved = client.save(&mut profile).await;
    assert!(
        saved.as_ref().is_err_and(Error::is_condition_failed),
        "{saved:?}"
    );
    let deleted = Profile::delete(&client, "c1").await;
    assert!(
        deleted.as_ref().is_err_and(Error::is_condition_failed),
        "{deleted:?}"
    );
    assert_eq!(Customer::get(&client, "c1").await.unwrap(), Some(ada));
}

#[tokio::test]
async fn create_table_takes_the_union_of_the_models_and_refuses_disagreements() {
    let client = dynox_tests::client().await;
    let refused = client.create_table::<(Order, Refund)>().await;
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { kind: InvalidRequestKind::TableDefinition, reason }) if reason.contains("gsi1")),
        "{refused:?}"
    );
    let refused = client.create_table::<(Customer, Customer)>().await;
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { reason, .. }) if reason.contains("both entity type `Customer`")),
        "{refused:?}"
    );
    // Nothing was created.
    client
        .create_table::<(Customer, Invoice, Order)>()
        .await
        .unwrap();
    let table = client
        .dynamodb()
        .describe_table()
        .table_name(client.table_name::<Order>())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    assert_eq!(indexes, ["gsi1"]);
}

/// Index keys built from fields an update may change: a sparse index on an `Option`, an index
/// sort key that takes a field from the primary key, and one built from two plain fields.
#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Ticket", pk = "TICKET#{id}", sk = "TICKET")]
#[dynamo(global_index(name = "gsi2", pk = "ASSIGNEE#{assignee}", sk = "{priority}#{id}"))]
#[dynamo(global_index(name = "gsi3", pk = "TITLE#{title}#{priority}"))]
struct Ticket {
    id: String,
    assignee: Option<String>,
    priority: u8,
    title: String,
}

#[tokio::test]
async fn an_update_writes_the_index_keys_of_the_fields_it_changes_and_never_the_primary_key() {
    let client = dynox_tests::client_with::<(Order, Ticket)>().await;
    let mut o = order("c1", "a", 1, Status::Placed);
    client.save(&mut o).await.unwrap();

    // The primary key's fields cannot change.
    let refused = Order::update(&client, "c1", 1u64, "a")
        .apply(Order::fields().placed_at.set(2))
        .await;
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { kind: InvalidRequestKind::Update, reason }) if reason.contains("`sk`")),
        "{refused:?}"
    );

    // The status is in gsi1's key: the update writes it again.
    Order::update(&client, "c1", 1u64, "a")
        .apply(Order::fields().status.set(Status::Shipped))
        .await
        .unwrap();
    let item = raw(&client, "CUSTOMER#c1", "ORDER#00000000000000000001#a")
        .await
        .unwrap();
    assert_eq!(item["gsi1pk"], AttributeValue::S("STATUS#shipped".into()));
    assert_eq!(
        item["gsi1sk"],
        AttributeValue::S("00000000000000000001#a".into())
    );
    assert_eq!(
        Order::query_gsi1(&client, Status::Shipped)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(Order::query_gsi1(&client, Status::Placed)
        .await
        .unwrap()
        .is_empty());

    let mut t = Ticket {
        id: "t1".into(),
        assignee: None,
        priority: 3,
        title: "printer".into(),
    };
    client.save(&mut t).await.unwrap();
    let stored = |client: &dynox_core::Client| {
        let client = client.clone();
        async move {
            client
                .dynamodb()
                .get_item()
                .table_name(client.table_name::<Ticket>())
                .key("pk", AttributeValue::S("TICKET#t1".into()))
                .key("sk", AttributeValue::S("TICKET".into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };
    assert!(
        !stored(&client).await.contains_key("gsi2pk"),
        "sparse: no assignee"
    );

    // Assigning writes the sparse index's key; unassigning removes it.
    Ticket::update(&client, "t1")
        .apply(Ticket::fields().assignee.set("ada".to_owned()))
        .await
        .unwrap();
    let item = stored(&client).await;
    assert_eq!(item["gsi2pk"], AttributeValue::S("ASSIGNEE#ada".into()));
    assert_eq!(item["gsi2sk"], AttributeValue::S("003#t1".into()));
    Ticket::update(&client, "t1")
        .apply(Ticket::fields().assignee.remove())
        .await
        .unwrap();
    assert!(!stored(&client).await.contains_key("gsi2pk"));

    // gsi3's key also needs the title, which this update does not set: refused, nothing written.
    let refused = Ticket::update(&client, "t1")
        .apply(Ticket::fields().priority.set(1))
        .await;
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { kind: InvalidRequestKind::Update, reason })
            if reason.contains("gsi3pk") && reason.contains("`title`")),
        "{refused:?}"
    );
    assert_eq!(
        stored(&client).await["priority"],
        AttributeValue::N("3".into())
    );

    // With the title: both keys follow (gsi2sk takes `id` from the primary key).
    Ticket::update(&client, "t1")
        .apply(Ticket::fields().priority.set(1))
        .apply(Ticket::fields().title.set("toner".to_owned()))
        .await
        .unwrap();
    let item = stored(&client).await;
    assert_eq!(item["gsi2sk"], AttributeValue::S("001#t1".into()));
    assert_eq!(item["gsi3pk"], AttributeValue::S("TITLE#toner#001".into()));
    let got = Ticket::get(&client, "t1").await.unwrap().unwrap();
    assert_eq!((got.priority, got.title.as_str()), (1, "toner"));

    // The index attribute itself is written only from its fields.
    let refused = Ticket::update(&client, "t1")
        .apply(dynox_core::Path::<Ticket, String>::attribute("gsi3pk").set("x".to_owned()))
        .await;
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { reason, .. }) if reason.contains("gsi3pk")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_file_of_an_entity_in_a_shared_table_is_stored_read_and_deleted() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    let mut invoice = Invoice {
        customer_id: "c1".into(),
        invoice_id: 7,
        pdf: S3Object::from_bytes(b"%PDF-1.7 invoice".to_vec(), "invoice-7.pdf"),
    };
    env.client.save(&mut invoice).await.unwrap();
    env.client
        .save(&mut order("c1", "a", 1, Status::Placed))
        .await
        .unwrap();
    let key = stored(&Some(invoice.pdf.clone())).key.clone();
    assert_eq!(env.keys("invoices").await, [key]);

    let loaded = Invoice::get(&env.client, "c1", 7u32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.pdf.get_bytes(&env.client).await.unwrap().as_ref(),
        b"%PDF-1.7 invoice"
    );
    Invoice::delete(&env.client, "c1", 7u32).await.unwrap();
    assert!(
        env.keys("invoices").await.is_empty(),
        "the object goes with its item"
    );
    assert_eq!(Order::query(&env.client, "c1").await.unwrap().len(), 1);
}

/// A customer, three orders and an invoice with its PDF under one partition, and another
/// customer's order in the next.
async fn customer_partition(env: &dynox_tests::FileEnv) {
    env.client
        .save(&mut Customer {
            customer_id: "c1".into(),
            name: "Ada".into(),
        })
        .await
        .unwrap();
    for (id, at) in [("a", 10), ("b", 20), ("c", 30)] {
        env.client
            .save(&mut order("c1", id, at, Status::Placed))
            .await
            .unwrap();
    }
    env.client
        .save(&mut Invoice {
            customer_id: "c1".into(),
            invoice_id: 7,
            pdf: S3Object::from_bytes(b"%PDF-1.7 seven".to_vec(), "7.pdf"),
        })
        .await
        .unwrap();
    env.client
        .save(&mut order("c2", "x", 20, Status::Placed))
        .await
        .unwrap();
}

/// A collection's items as `Type:id` labels, in the order read.
fn labels(items: &[CustomerItems]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            CustomerItems::Customer(c) => format!("Customer:{}", c.customer_id),
            CustomerItems::Order(o) => format!("Order:{}", o.order_id),
            CustomerItems::Invoice(i) => format!("Invoice:{}", i.invoice_id),
            CustomerItems::Profile(p) => format!("Profile:{}", p.customer_id),
        })
        .collect()
}

#[tokio::test]
async fn a_collection_reads_a_partition_of_mixed_entities_in_one_query() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let client = &env.client;

    let all = CustomerItems::query(client, Customer::partition("c1"))
        .consistent_read(true)
        .await
        .unwrap();
    assert_eq!(
        labels(&all),
        ["Invoice:7", "Order:a", "Order:b", "Order:c", "Customer:c1"],
        "every entity type of the partition, in sort-key order, each in its variant"
    );
    // Files of an entity read through a collection keep every behaviour.
    let pdf = all
        .iter()
        .find_map(|item| match item {
            CustomerItems::Invoice(i) => Some(i.pdf.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        pdf.get_bytes(client).await.unwrap().as_ref(),
        b"%PDF-1.7 seven"
    );

    // Any member's partition of the same key is the same partition.
    let same = CustomerItems::query(client, Order::partition("c1"))
        .descending()
        .await
        .unwrap();
    assert_eq!(
        labels(&same),
        ["Customer:c1", "Order:c", "Order:b", "Order:a", "Invoice:7"]
    );

    // Pages of two, resumed from their tokens, as a stream; a limit; a typed prefix.
    let first = CustomerItems::query(client, Customer::partition("c1"))
        .page_size(2)
        .page()
        .await
        .unwrap();
    assert_eq!(labels(&first.items), ["Invoice:7", "Order:a"]);
    let rest = CustomerItems::query(client, Customer::partition("c1"))
        .page_size(2)
        .start_from(first.next.unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(labels(&rest), ["Order:b", "Order:c", "Customer:c1"]);
    let limited = CustomerItems::query(client, Customer::partition("c1"))
        .limit(2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let orders = CustomerItems::query(client, Customer::partition("c1"))
        .sort_key(Order::sort_key().begins_with())
        .await
        .unwrap();
    assert_eq!(labels(&orders), ["Order:a", "Order:b", "Order:c"]);
    let counted = CustomerItems::query(client, Customer::partition("c1"))
        .count()
        .await
        .unwrap();
    assert_eq!(counted, 5);
    let after_b = CustomerItems::query(client, Customer::partition("c1"))
        .sort_key(SortKey::gt("ORDER#00000000000000000020".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        after_b.len(),
        3,
        "the orders placed at 20 and later, and the profile: {after_b:?}"
    );
}

#[tokio::test]
async fn an_entity_type_the_collection_does_not_list_is_reported_never_dropped() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let client = &env.client;

    let refused = Strict::query(client, Customer::partition("c1"))
        .await
        .unwrap_err();
    match &refused {
        Error::ForeignEntity {
            expected, found, ..
        } => {
            assert_eq!(*expected, "`Customer`, `Order`");
            assert_eq!(found.as_deref(), Some("Invoice"));
        }
        other => panic!("expected ForeignEntity, got {other:?}"),
    }
    assert!(refused.is_foreign_entity());

    let mixed = CustomerOrders::query(client, Customer::partition("c1"))
        .await
        .unwrap();
    let others: Vec<&dynox_core::item::Item> = mixed
        .iter()
        .filter_map(|item| match item {
            CustomerOrders::Other(raw) => Some(raw),
            _ => None,
        })
        .collect();
    assert_eq!(others.len(), 1, "the invoice, raw: {mixed:?}");
    assert_eq!(
        others[0]["entity_type"],
        AttributeValue::S("Invoice".into())
    );
    assert_eq!(mixed.len(), 5);
}

#[tokio::test]
async fn a_collection_reads_an_index_partition_and_scans_the_whole_table() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let client = &env.client;
    let placed = CustomerItems::query(client, Order::partition_gsi1(Status::Placed))
        .await
        .unwrap();
    assert_eq!(
        labels(&placed),
        ["Order:a", "Order:b", "Order:x", "Order:c"],
        "by the index's sort key"
    );
    // One scan reads every entity type, each into its variant.
    let mut scanned = labels(
        &Customer::scan(client)
            .project::<CustomerItems>()
            .await
            .unwrap(),
    );
    scanned.sort();
    assert_eq!(
        scanned,
        [
            "Customer:c1",
            "Invoice:7",
            "Order:a",
            "Order:b",
            "Order:c",
            "Order:x"
        ]
    );
}

#[tokio::test]
async fn batch_gets_and_transactions_mix_entity_types_of_one_table() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let client = &env.client;

    let keys: Vec<CollectionKey<CustomerItems>> = vec![
        Customer::key_of("c1").into(),
        Order::key_of("c1", 20u64, "b").into(),
        Invoice::key_of("c1", 7u32).into(),
        Order::key_of("c1", 99u64, "missing").into(),
    ];
    let got = CustomerItems::batch_get(client, keys).await.unwrap();
    assert!(got.unprocessed.is_empty());
    let mut found = labels(&got.items);
    found.sort();
    assert_eq!(found, ["Customer:c1", "Invoice:7", "Order:b"]);

    // One transaction writes two entity types; the entity conditions hold in it.
    let mut customer = Customer {
        customer_id: "c3".into(),
        name: "Grace".into(),
    };
    let mut first = order("c3", "t", 5, Status::Placed);
    client
        .transact_write()
        .save(&mut customer)
        .save(&mut first)
        .await
        .unwrap();
    let mut read = client.transact_get();
    let c = read.add(Customer::key_of("c3"));
    let o = read.add(Order::key_of("c3", 5u64, "t"));
    let mut items = read.await.unwrap();
    assert_eq!(items.take(c).unwrap(), Some(customer));
    assert_eq!(items.take(o).unwrap(), Some(first));

    // A profile under the customer's key is refused, in a transaction as alone.
    let mut impostor = Profile {
        customer_id: "c3".into(),
        bio: "not a customer".into(),
    };
    let refused = client
        .transact_write()
        .save(&mut impostor)
        .await
        .unwrap_err();
    assert!(
        refused.is_condition_failed() || matches!(refused, Error::TransactionCanceled { .. }),
        "{refused:?}"
    );
    assert_eq!(
        Customer::get(client, "c3").await.unwrap().unwrap().name,
        "Grace"
    );
}

#[tokio::test]
async fn a_collection_of_partial_types_reads_only_their_attributes() {
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let items = Summary::query(&env.client, Customer::partition("c1"))
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut lines = Vec::new();
    let mut others = Vec::new();
    for item in items {
        match item {
            Summary::Customer(c) => names.push(c),
            Summary::Order(o) => lines.push(o),
            Summary::Other(raw) => others.push(raw),
        }
    }
    assert_eq!(names, [CustomerName { name: "Ada".into() }]);
    assert_eq!(
        lines
            .iter()
            .map(|l| l.order_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    // The invoice, raw, holds only the attributes the collection asked for: its file's
    // reference was never read.
    assert_eq!(others.len(), 1);
    let mut attributes: Vec<&str> = others[0].keys().map(String::as_str).collect();
    attributes.sort();
    assert_eq!(attributes, ["entity_type"], "{:?}", others[0]);
}

#[tokio::test]
async fn collection_futures_and_a_tuple_sweep_run_on_spawned_tasks() {
    use std::future::IntoFuture;
    let env = file_env::<Shop>(&["invoices"], S3Settings::default()).await;
    customer_partition(&env).await;
    let query =
        tokio::spawn(CustomerItems::query(&env.client, Customer::partition("c1")).into_future());
    assert_eq!(query.await.unwrap().unwrap().len(), 5);
    let batch = tokio::spawn(
        CustomerItems::batch_get(&env.client, [Customer::key_of("c1").into()]).into_future(),
    );
    assert_eq!(batch.await.unwrap().unwrap().items.len(), 1);
    let client = env.client.clone();
    let sweep = tokio::spawn(async move { dynox_s3::sweep::<(Invoice,)>(&client).await });
    let report = sweep.await.unwrap().unwrap();
    assert_eq!(report.deleted, 0, "a dry run: {report}");
}
