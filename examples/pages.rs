//! A web crawler's pages: values kept in S3 next to their DynamoDB item.
//!
//! - `html` is an `S3Text`: the page's HTML, zstd-compressed in S3, read only when wanted.
//! - `analysis` is an `S3Value<Analysis>`: a serde struct stored as JSON.
//! - `links` is an ordinary `Vec<String>` with `#[s3(overflow)]`: inline while the item fits
//!   DynamoDB's 400 KB, moved to S3 when a page has so many links that it would not, and put
//!   back on every read, so the code never knows the difference.
//!
//! ```text
//! cargo run -p dynox-examples --bin pages
//! ```
//!
//! Runs on the embedded local servers by default; `AWS_ENDPOINT_URL=http://127.0.0.1:5000`
//! uses moto or LocalStack there.

use std::collections::BTreeMap;

use dynox::s3::{S3Settings, S3Text, S3Value};
use dynox::{Client, DynamoModel};
use serde::{Deserialize, Serialize};

/// What the crawler learned about a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Analysis {
    words: usize,
    top_words: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "pages")]
struct Page {
    #[dynamo(hash_key)]
    url: String,
    title: String,
    /// The HTML, compressed in S3.
    #[s3(bucket = "crawler", prefix = "html/", compress = "zstd")]
    html: S3Text,
    /// The analysis, as JSON in S3.
    #[s3(bucket = "crawler", prefix = "analysis/")]
    analysis: Option<S3Value<Analysis>>,
    /// Outgoing links: inline unless the item would be too large.
    #[s3(bucket = "crawler", prefix = "links/", overflow)]
    links: Vec<String>,
}

fn analyse(html: &str) -> Analysis {
    let mut counts = BTreeMap::new();
    let text = html.replace(['<', '>', '/'], " ");
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.len() > 3).collect();
    for word in &words {
        *counts.entry((*word).to_owned()).or_insert(0) += 1;
    }
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Analysis {
        words: words.len(),
        top_words: top.into_iter().take(3).collect(),
    }
}

fn page(url: &str, paragraphs: usize, links: usize) -> Page {
    let html = format!(
        "<html><title>{url}</title>{}</html>",
        "<p>crawlers fetch pages and follow links between pages</p>".repeat(paragraphs)
    );
    let analysis = analyse(&html);
    Page {
        url: url.to_owned(),
        title: format!("Page at {url}"),
        html: S3Text::new(html),
        analysis: Some(S3Value::new(analysis)),
        links: (0..links)
            .map(|i| format!("{url}/articles/{i:06}-a-rather-long-slug-for-an-article"))
            .collect(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = dynox::testing::Backend::from_env().await?;
    if matches!(backend.kind(), dynox::testing::BackendKind::Aws) {
        return Err("this example runs on local servers only".into());
    }
    let s3 = backend.s3_client();
    let bucket = format!("dynox-crawler-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await?;
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("example-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("crawler", bucket.clone()))
        .build();
    client.create_table::<Page>().await?;

    // A small page (its links stay inline) and a hub page with 12,000 links (~780 KB of
    // links: the item would pass 400 KB, so they move to S3).
    let mut small = page("https://example.com/about", 50, 20);
    let mut hub = page("https://example.com/index", 5_000, 12_000);
    client.save(&mut small).await?;
    client.save(&mut hub).await?;
    let moved = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("links/")
        .send()
        .await?;
    println!(
        "the hub's links moved to S3: {} object(s) under links/",
        moved.key_count().unwrap_or(0)
    );
    assert_eq!(moved.key_count().unwrap_or(0), 1);

    for url in ["https://example.com/about", "https://example.com/index"] {
        // One GetItem (plus one GetObject for moved links); the HTML and analysis stay in S3.
        let page = Page::get(&client, url).await?.ok_or("saved above")?;
        let html = page.html.object();
        println!(
            "{url}: {} links, HTML {} bytes ({} stored)",
            page.links.len(),
            html.size().unwrap_or(0),
            html.stored().and_then(|s| s.stored_size).unwrap_or(0),
        );
        // Loaded when wanted, checked against its SHA-256, decoded from JSON.
        let analysis = page
            .analysis
            .as_ref()
            .ok_or("set above")?
            .load(&client)
            .await?;
        println!("  {} words, top {:?}", analysis.words, analysis.top_words);
        let text = page.html.load(&client).await?;
        assert!(text.starts_with("<html>"));
    }
    let hub_read = Page::get(&client, "https://example.com/index")
        .await?
        .ok_or("saved above")?;
    assert_eq!(hub_read.links, hub.links);

    // Fewer links: back inline, and the moved copy is deleted.
    hub.links.truncate(100);
    client.save(&mut hub).await?;
    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("links/")
        .send()
        .await?;
    println!(
        "after trimming the hub's links: {} object(s) under links/",
        objects.key_count().unwrap_or(0)
    );
    assert_eq!(objects.key_count().unwrap_or(0), 0);

    // Deleting the pages deletes their values too.
    Page::delete(&client, "https://example.com/about").await?;
    Page::delete(&client, "https://example.com/index").await?;
    let left = s3.list_objects_v2().bucket(&bucket).send().await?;
    assert_eq!(left.key_count().unwrap_or(0), 0);
    println!("deleted both pages and their S3 values");

    client.delete_table::<Page>().await?;
    s3.delete_bucket().bucket(&bucket).send().await?;
    Ok(())
}
