//! A shop in single-table style: customers, their orders and their invoices (PDF files in S3)
//! share one DynamoDB table, under keys built from their fields by templates, with one
//! overloaded global index (`gsi1`) for "orders by status". Every access pattern is one
//! request:
//!
//! | Access pattern | Request | dynox |
//! |---|---|---|
//! | A customer's profile | GetItem | `Customer::get(&client, id)` |
//! | A customer's page: profile, orders and invoices | Query (one partition) | `ShopItems::query(&client, Customer::partition(id))` |
//! | A customer's latest orders | Query (`begins_with ORDER#`), descending | `Order::query(&client, id).descending().limit(n)` |
//! | A customer's orders placed at a time | Query (`begins_with ORDER#{placed_at}#`) | `.sort_key(Order::sort_key().placed_at(t).begins_with())` |
//! | Orders by status, oldest first | Query on `gsi1` | `Order::query_gsi1(&client, Status::Placed)` |
//! | Edit a profile (two editors at once, neither overwriting the other) | UpdateItem of the changed attributes | `client.save_changes(&mut Tracked::new(customer))` |
//! | Place an order with its invoice PDF | TransactWriteItems (PDF uploaded first) | `client.transact_write().save(&mut order).save(&mut invoice)` |
//! | Ship an order | UpdateItem (its `gsi1pk` rewritten) | `Order::update(&client, id, at, order).apply(Order::fields().status.set(Status::Shipped))` |
//! | An invoice PDF for a browser | GetItem, then a presigned URL (no request) | `Invoice::get(..)`, `pdf.presigned_url(..)` |
//! | Several entities by key | BatchGetItem | `ShopItems::batch_get(&client, [Customer::key_of(id).into(), ..])` |
//! | Cancel an order, its invoice and PDF | TransactWriteItems (PDF deleted after) | `client.transact_write().delete_item(&order).delete_item(&invoice)` |
//!
//! The table holds:
//!
//! | `pk` | `sk` | `entity_type` | `gsi1pk` | `gsi1sk` |
//! |---|---|---|---|---|
//! | `CUSTOMER#{customer_id}` | `PROFILE` | `Customer` | | |
//! | `CUSTOMER#{customer_id}` | `ORDER#{placed_at}#{order_id}` | `Order` | `STATUS#{status}` | `{placed_at}#{order_id}` |
//! | `CUSTOMER#{customer_id}` | `INVOICE#{order_id}` | `Invoice` | | |
//!
//! ```text
//! cargo run -p dynox-examples --bin shop
//! ```
//!
//! It also shows what a production app adds around the requests: a hook that normalises a
//! customer's email before it is validated and saved, a client-level adaptive rate limit that
//! every request of the app passes, and dynox's metrics exported through
//! `metrics-exporter-prometheus` (printed at the end, as a `/metrics` endpoint would serve
//! them).
//!
//! Runs on the embedded local servers by default. `AWS_ENDPOINT_URL=http://127.0.0.1:5000`
//! uses moto or LocalStack there; `DYNOX_SERVERS=aws` uses your standard AWS configuration,
//! with the bucket named by `DYNOX_BUCKET` (which must exist).

use std::time::Duration;

use dynox::item::AttributeError;
use dynox::testing::{Backend, BackendKind};
use dynox::{
    Client, DynamoCollection, DynamoModel, HookResult, Hooks, KeySegment, RateLimit, S3Object,
    S3Settings, Tracked,
};
use serde::{Deserialize, Serialize};

/// Where an order is; a key segment of `gsi1pk` (`STATUS#placed`) and a stored field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
#[dynamo(
    table = "shop",
    entity = "Customer",
    pk = "CUSTOMER#{customer_id}",
    sk = "PROFILE",
    hooks
)]
struct Customer {
    #[dynamo(validate(length(min = 1, max = 64)))]
    customer_id: String,
    name: String,
    /// Checked before anything is written (`Error::Validation` names the field).
    #[dynamo(validate(pattern = "^[^@ ]+@[^@ ]+\\.[a-z]+$"))]
    email: String,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "shop", entity = "Order")]
#[dynamo(pk = "CUSTOMER#{customer_id}", sk = "ORDER#{placed_at}#{order_id}")]
#[dynamo(global_index(name = "gsi1", pk = "STATUS#{status}", sk = "{placed_at}#{order_id}"))]
struct Order {
    customer_id: String,
    order_id: String,
    /// Seconds since the epoch: zero-padded in keys, so they sort by time.
    placed_at: u64,
    status: Status,
    #[dynamo(validate(range(min = 0)))]
    total_cents: i64,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(
    table = "shop",
    entity = "Invoice",
    pk = "CUSTOMER#{customer_id}",
    sk = "INVOICE#{order_id}"
)]
struct Invoice {
    customer_id: String,
    order_id: String,
    total_cents: i64,
    /// The PDF: its bytes in S3, its metadata in the item.
    #[s3(bucket = "invoices", prefix = "pdf/")]
    pdf: S3Object,
}

/// A customer's email is kept trimmed and lower-case, whoever saves it: the hook runs before
/// validation, so `" Ada@Example.COM"` is stored as `ada@example.com`.
impl Hooks for Customer {
    async fn before_save(&mut self, _client: &Client) -> HookResult {
        self.email = self.email.trim().to_lowercase();
        Ok(())
    }
}

/// Everything a customer's partition holds, read in one Query.
#[allow(clippy::large_enum_variant)] // an invoice carries its file's metadata
#[derive(Debug, DynamoCollection)]
enum ShopItems {
    Customer(Customer),
    Order(Order),
    Invoice(Invoice),
}

/// The models that share the table.
type Shop = (Customer, Order, Invoice);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = Backend::from_env().await?;
    let on_aws = matches!(backend.kind(), BackendKind::Aws);
    let bucket = match std::env::var("DYNOX_BUCKET") {
        Ok(bucket) => bucket,
        Err(_) if on_aws => return Err("set DYNOX_BUCKET to an existing bucket".into()),
        Err(_) => format!("dynox-shop-{}", std::process::id()),
    };
    let s3 = backend.s3_client();
    if !on_aws {
        s3.create_bucket().bucket(&bucket).send().await?;
    }
    println!("backend: {}, bucket: {bucket}", backend.name());
    // dynox's counters and histograms go to whatever recorder the app installs: here
    // Prometheus's, rendered at the end.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;

    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("shop-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("invoices", bucket.clone()))
        // One budget for every request of the app (read and write capacity units per
        // second), halved when DynamoDB throttles and recovered gradually.
        .rate_limit(RateLimit::adaptive(200.0, 100.0))
        .build();
    // One table for the three models: the union of their keys and indexes.
    client.create_table::<Shop>().await?;

    let result = run(&client).await;
    if let Some(rate) = client.rate() {
        println!(
            "rate limit now: {:.0} reads/s, {:.0} writes/s",
            rate.read, rate.write
        );
    }
    // What a `/metrics` endpoint would serve: the shop table's requests, by operation.
    let rendered = metrics.render();
    let requests: Vec<&str> = rendered
        .lines()
        .filter(|l| l.starts_with("dynox_requests_total") && l.contains("shop"))
        .collect();
    println!(
        "metrics: {} request series of the shop table",
        requests.len()
    );
    for line in &requests {
        println!("  {line}");
    }
    assert!(
        requests.iter().any(|l| l.contains("TransactWriteItems")),
        "the transactions are counted"
    );
    // The shared table, named through any of its models.
    client.delete_table::<Customer>().await?;
    if !on_aws {
        let left = s3
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await?
            .key_count();
        s3.delete_bucket().bucket(&bucket).send().await?;
        assert_eq!(left, Some(0), "every PDF went with its invoice");
    }
    result
}

fn pdf(order_id: &str, total_cents: i64) -> S3Object {
    let text = format!("%PDF-1.7 invoice for order {order_id}: {total_cents} cents\n");
    S3Object::from_bytes(text.into_bytes(), format!("invoice-{order_id}.pdf"))
}

async fn run(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    for (id, name, email) in [
        ("ada", "Ada Lovelace", " Ada@Example.COM"),
        ("grace", "Grace Hopper", "grace@example.com"),
    ] {
        let mut customer = Customer {
            customer_id: id.into(),
            name: name.into(),
            email: email.into(),
        };
        client.create(&mut customer).await?;
    }
    // A malformed email is refused before any request: nothing is written.
    let mut typo = Customer {
        customer_id: "alan".into(),
        name: "Alan Turing".into(),
        email: "alan at example.com".into(),
    };
    match client.create(&mut typo).await {
        Err(dynox::Error::Validation { field, .. }) => println!("refused customer alan: {field}"),
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }

    // Place orders: each order and its invoice in one transaction, the PDF uploaded first.
    let orders = [
        ("ada", "A-1", 1_764_000_000, 2_500),
        ("ada", "A-2", 1_764_100_000, 12_000),
        ("ada", "A-3", 1_764_200_000, 799),
        ("grace", "G-1", 1_764_050_000, 45_000),
    ];
    for (customer, order_id, placed_at, total_cents) in orders {
        let mut order = Order {
            customer_id: customer.into(),
            order_id: order_id.into(),
            placed_at,
            status: Status::Placed,
            total_cents,
        };
        let mut invoice = Invoice {
            customer_id: customer.into(),
            order_id: order_id.into(),
            total_cents,
            pdf: pdf(order_id, total_cents),
        };
        client
            .transact_write()
            .save(&mut order)
            .save(&mut invoice)
            .await?;
    }
    println!("placed {} orders with their invoices", orders.len());

    // A customer's profile: one GetItem.
    let ada = Customer::get(client, "ada")
        .await?
        .ok_or("no customer ada")?;
    println!("customer: {} <{}>", ada.name, ada.email);
    assert_eq!(ada.email, "ada@example.com", "normalised by the hook");

    // Two edits of one profile at once: the customer renames themselves on the profile page
    // while support corrects the email. Each edit was loaded before the other was saved, and
    // each sends only the field it changed (UpdateItem), so neither overwrites the other.
    let load = || async {
        let customer = Customer::get(client, "ada")
            .await?
            .ok_or("no customer ada")?;
        Ok::<_, Box<dyn std::error::Error>>(Tracked::new(customer))
    };
    let (mut on_page, mut by_support) = (load().await?, load().await?);
    on_page.name = "Ada King".into();
    by_support.email = "ada.king@example.com".into();
    client.save_changes(&mut on_page).await?;
    client.save_changes(&mut by_support).await?;
    let ada = Customer::get(client, "ada")
        .await?
        .ok_or("no customer ada")?;
    println!("customer after two edits: {} <{}>", ada.name, ada.email);
    assert_eq!(
        (ada.name.as_str(), ada.email.as_str()),
        ("Ada King", "ada.king@example.com")
    );

    // A customer's page: profile, orders and invoices in one Query, each in its variant.
    let page = ShopItems::query(client, Customer::partition("ada")).await?;
    let (mut orders_seen, mut invoices_seen) = (0, 0);
    for item in &page {
        match item {
            ShopItems::Customer(c) => println!("  profile  {}", c.name),
            ShopItems::Order(o) => {
                orders_seen += 1;
                println!(
                    "  order    {} placed at {}: {} cents",
                    o.order_id, o.placed_at, o.total_cents
                )
            }
            ShopItems::Invoice(i) => {
                invoices_seen += 1;
                println!(
                    "  invoice  {} ({} bytes of PDF)",
                    i.order_id,
                    i.pdf.size().unwrap_or(0)
                )
            }
        }
    }
    assert_eq!((orders_seen, invoices_seen), (3, 3));

    // The latest two orders: one Query on the orders' sort-key prefix, newest first.
    let latest = Order::query(client, "ada").descending().limit(2).await?;
    let ids: Vec<&str> = latest.iter().map(|o| o.order_id.as_str()).collect();
    println!("latest orders of ada: {ids:?}");
    assert_eq!(ids, ["A-3", "A-2"]);

    // The orders placed at one time: a typed prefix, never a hand-written "ORDER#...".
    let at = Order::query(client, "ada")
        .sort_key(Order::sort_key().placed_at(1_764_100_000u64).begins_with())
        .await?;
    assert_eq!(at.len(), 1);

    // Ship one: one UpdateItem. The status is part of gsi1's key, which the update writes
    // again (`STATUS#shipped`).
    let shipped = &latest[1];
    Order::update(client, "ada", shipped.placed_at, shipped.order_id.as_str())
        .apply(Order::fields().status.set(Status::Shipped))
        .await?;

    // Orders by status, across customers, oldest first: one Query on gsi1.
    let placed = Order::query_gsi1(client, Status::Placed).await?;
    let ids: Vec<&str> = placed.iter().map(|o| o.order_id.as_str()).collect();
    println!("orders still placed: {ids:?}");
    assert_eq!(ids, ["A-1", "G-1", "A-3"]);
    assert_eq!(Order::query_gsi1(client, Status::Shipped).await?.len(), 1);

    // An invoice for a browser: one GetItem, then a link signed locally.
    let invoice = Invoice::get(client, "ada", "A-2")
        .await?
        .ok_or("no invoice")?;
    let link = invoice
        .pdf
        .presigned_url(client, Duration::from_secs(300))
        .await?;
    println!(
        "invoice A-2: {}",
        &link[..link.find('?').unwrap_or(link.len())]
    );
    let bytes = invoice.pdf.get_bytes(client).await?;
    assert!(bytes.starts_with(b"%PDF-1.7"));

    // Several entity types by key: one BatchGetItem.
    let got = ShopItems::batch_get(
        client,
        [
            Customer::key_of("grace").into(),
            Order::key_of("grace", 1_764_050_000u64, "G-1").into(),
            Invoice::key_of("grace", "G-1").into(),
        ],
    )
    .await?;
    println!("batch read {} items of grace", got.items.len());
    assert_eq!(got.items.len(), 3);

    // Cancel every order: the order and its invoice in one transaction; the PDF goes after
    // the commit.
    for item in ShopItems::query(client, Customer::partition("ada"))
        .await?
        .into_iter()
        .chain(ShopItems::query(client, Customer::partition("grace")).await?)
    {
        if let ShopItems::Order(order) = item {
            let invoice = Invoice::get(client, &order.customer_id, &order.order_id)
                .await?
                .ok_or("no invoice")?;
            client
                .transact_write()
                .delete_item(&order)
                .delete_item(&invoice)
                .await?;
        }
    }
    let left = ShopItems::query(client, Customer::partition("ada")).await?;
    println!("after cancelling: {} item(s) left for ada", left.len());
    assert!(matches!(left.as_slice(), [ShopItems::Customer(_)]));
    Ok(())
}
