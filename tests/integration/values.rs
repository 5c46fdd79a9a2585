//! Values in S3 against real servers: typed values (`S3Value<T>`, `S3Text`, `S3Binary`, a
//! user codec) stored as objects and loaded lazily, and overflow fields (`#[s3(overflow)]`),
//! ordinary attributes that move to S3 only when the item would pass 400 KB and come back
//! on every read.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::{DynamoModel, Error};
use dynox_s3::{BoxError, Codec, S3Binary, S3Error, S3Settings, S3Text, S3Value};
use dynox_tests::{file_env, FileEnv};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Analysis {
    words: u64,
    topics: Vec<String>,
    scores: BTreeMap<String, f64>,
}

fn analysis(words: u64) -> Analysis {
    Analysis {
        words,
        topics: vec!["rust".into(), "dynamodb".into()],
        scores: BTreeMap::from([("quality".into(), 0.75)]),
    }
}

/// Comma-separated numbers: a user's own codec.
struct Csv;

impl Codec<Vec<u32>> for Csv {
    const NAME: &'static str = "CSV";
    const CONTENT_TYPE: &'static str = "text/csv";
    const EXTENSION: &'static str = "csv";

    fn encode(value: &Vec<u32>) -> Result<Vec<u8>, BoxError> {
        let text: Vec<String> = value.iter().map(u32::to_string).collect();
        Ok(text.join(",").into_bytes())
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u32>, BoxError> {
        let text = std::str::from_utf8(bytes)?;
        text.split(',')
            .map(|n| n.parse::<u32>().map_err(BoxError::from))
            .collect()
    }
}

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "pages")]
struct Page {
    #[dynamo(hash_key)]
    url: String,
    /// Stored under another attribute name.
    #[dynamo(rename = "page_html")]
    #[s3(bucket = "crawler", prefix = "html/", compress = "zstd")]
    html: S3Text,
    #[s3(bucket = "crawler", prefix = "analysis/")]
    analysis: Option<S3Value<Analysis>>,
    #[s3(bucket = "crawler", prefix = "cover/")]
    cover: Option<S3Binary>,
    #[s3(bucket = "crawler", prefix = "counts/")]
    counts: Option<S3Value<Vec<u32>, Csv>>,
}

/// The same table read with another type for `analysis`: its JSON does not decode.
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "pages")]
struct MisreadPage {
    #[dynamo(hash_key)]
    url: String,
    #[s3(bucket = "crawler", prefix = "analysis/")]
    analysis: Option<S3Value<Vec<String>>>,
}

fn page(url: &str, html: &str) -> Page {
    Page {
        url: url.into(),
        html: S3Value::new(html.to_owned()),
        analysis: Some(S3Value::new(analysis(2))),
        cover: Some(S3Value::new(vec![0x89, b'P', b'N', b'G', 0, 255])),
        counts: Some(S3Value::new(vec![3, 1, 4, 1, 5])),
    }
}

async fn raw_item(env: &FileEnv, table: &str, pk: (&str, &str)) -> HashMap<String, AttributeValue> {
    env.client
        .dynamodb()
        .get_item()
        .table_name(table)
        .key(pk.0, AttributeValue::S(pk.1.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
}

#[tokio::test]
async fn typed_values_are_stored_in_s3_and_loaded_lazily() {
    let env = file_env::<Page>(&["crawler"], S3Settings::default()).await;
    let html = "<p>Hello, world</p>\n".repeat(20_000); // 400 KB, compresses well
    let mut saved = page("https://a.example", &html);
    env.client.save(&mut saved).await.expect("save");
    assert_eq!(
        saved.html.value(),
        Some(&html),
        "the value set stays in memory"
    );

    // The item holds references only; each value is one object.
    let raw = raw_item(
        &env,
        &env.client.table_name::<Page>(),
        ("url", "https://a.example"),
    )
    .await;
    for field in ["page_html", "analysis", "cover", "counts"] {
        let Some(AttributeValue::M(reference)) = raw.get(field) else {
            panic!("{field} is not a reference: {:?}", raw.get(field))
        };
        assert!(reference.contains_key("key"), "{field}");
    }
    let mut keys = env.keys("crawler").await;
    keys.sort();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("html/") && k.ends_with("value.txt")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("analysis/") && k.ends_with("value.json")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.ends_with("value.bin")), "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with("value.csv")), "{keys:?}");

    // A get reads no value; load downloads, verifies and decodes it.
    env.log.clear();
    let mut read = Page::get(&env.client, "https://a.example")
        .await
        .unwrap()
        .unwrap();
    assert!(env.log.requests().is_empty(), "{:?}", env.log.requests());
    assert!(read.html.value().is_none());
    let object = read.html.object();
    assert_eq!(object.size(), Some(html.len() as u64));
    let stored = object.stored().unwrap();
    assert_eq!(
        stored.uri(),
        format!("s3://{}/{}", env.bucket("crawler"), stored.key)
    );
    assert!(stored.key.starts_with("html/"), "{}", stored.key);
    assert_eq!(object.content_type(), Some("text/plain; charset=utf-8"));
    assert!(
        object.stored().unwrap().stored_size.unwrap() < html.len() as u64 / 10,
        "zstd applies to typed values"
    );
    assert_eq!(read.html.load(&env.client).await.unwrap(), html);
    let analysis_value = read.analysis.as_ref().unwrap();
    assert_eq!(
        analysis_value.object().content_type(),
        Some("application/json")
    );
    assert_eq!(analysis_value.load(&env.client).await.unwrap(), analysis(2));
    assert_eq!(
        read.cover
            .as_ref()
            .unwrap()
            .load(&env.client)
            .await
            .unwrap(),
        vec![0x89, b'P', b'N', b'G', 0, 255]
    );
    let counts = read.counts.as_mut().unwrap();
    assert_eq!(counts.object().content_type(), Some("text/csv"));
    env.log.clear();
    assert_eq!(
        counts.fetch(&env.client).await.unwrap(),
        &vec![3, 1, 4, 1, 5]
    );
    assert_eq!(
        counts.fetch(&env.client).await.unwrap(),
        &vec![3, 1, 4, 1, 5]
    );
    assert_eq!(env.log.requests().len(), 1, "fetch downloads once");

    // The raw bytes are the codec's, readable by anyone with the object.
    let csv = read
        .counts
        .as_ref()
        .unwrap()
        .object()
        .get_bytes(&env.client)
        .await
        .unwrap();
    assert_eq!(&csv[..], b"3,1,4,1,5");
}

#[tokio::test]
async fn a_replaced_value_is_deleted_after_the_write_and_a_deleted_item_takes_its_values() {
    let env = file_env::<Page>(&["crawler"], S3Settings::default()).await;
    let mut saved = page("https://b.example", "<p>first</p>");
    env.client.save(&mut saved).await.unwrap();
    let first_key = saved
        .analysis
        .as_ref()
        .unwrap()
        .object()
        .key()
        .unwrap()
        .to_owned();

    saved.analysis = Some(S3Value::new(analysis(99)));
    env.client.save(&mut saved).await.unwrap();
    let keys = env.keys("crawler").await;
    assert!(
        !keys.contains(&first_key),
        "the replaced value is deleted: {keys:?}"
    );
    assert_eq!(keys.len(), 4, "{keys:?}");
    let read = Page::get(&env.client, "https://b.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.analysis.unwrap().load(&env.client).await.unwrap(),
        analysis(99)
    );

    Page::delete(&env.client, "https://b.example")
        .await
        .unwrap();
    assert!(env.keys("crawler").await.is_empty());
}

#[tokio::test]
async fn a_value_that_cannot_be_encoded_fails_the_save_naming_the_field_and_stores_nothing() {
    #[derive(Debug, Clone, DynamoModel)]
    #[dynamo(table = "maps")]
    struct Maps {
        #[dynamo(hash_key)]
        pk: String,
        #[s3(bucket = "crawler", prefix = "ok/")]
        fine: S3Value<Vec<u8>>,
        // JSON object keys must be strings: this map cannot be JSON.
        #[s3(bucket = "crawler", prefix = "maps/")]
        pairs: S3Value<HashMap<(u8, u8), u8>>,
    }
    let env = file_env::<Maps>(&["crawler"], S3Settings::default()).await;
    let mut item = Maps {
        pk: "m".into(),
        fine: S3Value::new(vec![1, 2, 3]),
        pairs: S3Value::new(HashMap::from([((1, 2), 3)])),
    };
    let error = env.client.save(&mut item).await.unwrap_err();
    let Error::File { field, table, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (*field, table.ends_with("maps")),
        ("pairs", true),
        "{error}"
    );
    assert!(
        matches!(error.s3(), Some(S3Error::Encode { codec: "JSON", .. })),
        "{error:?}"
    );
    assert!(item.pairs.object().is_pending() && item.fine.object().is_pending());
    assert!(
        env.keys("crawler").await.is_empty(),
        "the other field's upload is removed"
    );
    assert!(Maps::get(&env.client, "m").await.unwrap().is_none());
}

#[tokio::test]
async fn a_value_of_another_type_is_a_decode_error_naming_the_object() {
    let env = file_env::<Page>(&["crawler"], S3Settings::default()).await;
    let mut saved = page("https://c.example", "<p/>");
    env.client.save(&mut saved).await.unwrap();
    let key = saved
        .analysis
        .as_ref()
        .unwrap()
        .object()
        .key()
        .unwrap()
        .to_owned();

    let misread = MisreadPage::get(&env.client, "https://c.example")
        .await
        .unwrap()
        .unwrap();
    let error = misread
        .analysis
        .unwrap()
        .load(&env.client)
        .await
        .unwrap_err();
    let dynox_core::Error::S3(S3Error::Decode { key: at, what, .. }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(at, &key);
    assert!(
        what.contains("Vec<alloc::string::String>") && what.contains("JSON"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------
// Overflow fields
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Transcript {
    speaker: String,
    lines: Vec<String>,
    confidence: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "notes")]
struct Note {
    #[dynamo(hash_key)]
    pk: String,
    title: String,
    #[s3(bucket = "overflow", prefix = "body/", overflow)]
    body: String,
    #[s3(bucket = "overflow", prefix = "raw/", overflow, compress = "zstd")]
    raw: Option<Vec<u8>>,
    #[s3(bucket = "overflow", prefix = "transcript/", overflow)]
    transcript: Option<Transcript>,
}

fn note(pk: &str, body: String) -> Note {
    Note {
        pk: pk.into(),
        title: format!("note {pk}"),
        body,
        raw: None,
        transcript: None,
    }
}

fn transcript(lines: usize) -> Transcript {
    Transcript {
        speaker: "Ada".into(),
        lines: (0..lines)
            .map(|i| format!("line {i}: the engine weaves algebraic patterns"))
            .collect(),
        confidence: (0..lines).map(|i| i as f64 / lines as f64).collect(),
    }
}

async fn note_env() -> FileEnv {
    file_env::<Note>(&["overflow"], S3Settings::default()).await
}

async fn raw_note(env: &FileEnv, pk: &str) -> HashMap<String, AttributeValue> {
    raw_item(env, &env.client.table_name::<Note>(), ("pk", pk)).await
}

fn in_s3(raw: &HashMap<String, AttributeValue>, field: &str) -> bool {
    matches!(raw.get(field), Some(AttributeValue::M(m)) if m.contains_key(dynox_core::spi::OVERFLOW_KEY))
}

#[tokio::test]
async fn a_520_kb_string_moves_to_s3_and_reads_back_transparently_everywhere() {
    let env = note_env().await;
    let body = "All work and no play. ".repeat(25_000); // 550 KB
    assert!(body.len() > 520 * 1024);
    let mut long = note("long", body.clone());
    env.client
        .save(&mut long)
        .await
        .expect("a 520 KB string saves");
    assert_eq!(long.body, body, "the model keeps its value");

    let raw = raw_note(&env, "long").await;
    assert!(
        in_s3(&raw, "body"),
        "{:?}",
        raw.get("body").map(|_| "inline")
    );
    let keys = env.keys("overflow").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("body/") && keys[0].ends_with("body.txt"),
        "{keys:?}"
    );

    // A small item stays inline: no object.
    let mut short = note("short", "brief".into());
    env.client.save(&mut short).await.unwrap();
    assert_eq!(
        raw_note(&env, "short").await["body"],
        AttributeValue::S("brief".into())
    );
    assert_eq!(env.keys("overflow").await.len(), 1);

    // Every read path gives the value back.
    let got = Note::get(&env.client, "long").await.unwrap().unwrap();
    assert_eq!(got, long);
    let scanned: Vec<Note> = Note::scan(&env.client).all().await.unwrap();
    assert_eq!(scanned.len(), 2);
    assert!(scanned.iter().any(|n| n == &long) && scanned.iter().any(|n| n == &short));
    let queried: Vec<Note> = Note::query(&env.client, "long").all().await.unwrap();
    assert_eq!(queried, vec![long.clone()]);
    let batch = env
        .client
        .batch_get(vec![Note::key_of("long"), Note::key_of("short")])
        .await
        .unwrap()
        .items;
    assert_eq!(batch.len(), 2);
    assert!(batch.iter().any(|n| n == &long));
    let mut read = env.client.transact_get();
    let slot = read.add(Note::key_of("long"));
    let mut items = read.await.unwrap();
    assert_eq!(items.take(slot).unwrap(), Some(long.clone()));
}

#[tokio::test]
async fn overflow_objects_follow_the_value_replaced_shrunk_unchanged_and_deleted() {
    let env = note_env().await;
    let big = |c: char| c.to_string().repeat(450 * 1024);
    let mut item = note("n", big('a'));
    env.client.save(&mut item).await.unwrap();
    let first = env.keys("overflow").await;
    assert_eq!(first.len(), 1);

    // Saved again unchanged: the stored object is reused, nothing is uploaded.
    env.log.clear();
    env.client.save(&mut item).await.unwrap();
    assert_eq!(env.keys("overflow").await, first);
    assert!(
        !env.log.requests().iter().any(|r| r.starts_with("PUT")),
        "{:?}",
        env.log.requests()
    );

    // A new large value: a new object, the old one deleted after the write.
    item.body = big('b');
    env.client.save(&mut item).await.unwrap();
    let second = env.keys("overflow").await;
    assert_eq!(second.len(), 1);
    assert_ne!(second, first);
    assert_eq!(
        Note::get(&env.client, "n").await.unwrap().unwrap().body,
        big('b')
    );

    // Small again: inline, and the object is deleted.
    item.body = "small".into();
    env.client.save(&mut item).await.unwrap();
    assert_eq!(
        raw_note(&env, "n").await["body"],
        AttributeValue::S("small".into())
    );
    assert!(env.keys("overflow").await.is_empty());

    // Large again, then the item is deleted: so is its object.
    item.body = big('c');
    env.client.save(&mut item).await.unwrap();
    assert_eq!(env.keys("overflow").await.len(), 1);
    Note::delete(&env.client, "n").await.unwrap();
    assert!(env.keys("overflow").await.is_empty());
}

#[tokio::test]
async fn only_the_largest_fields_move_and_binary_and_serde_values_round_trip() {
    let env = note_env().await;
    let mut item = note("mix", "x".repeat(100 * 1024));
    // Compressible bytes (zstd applies to the moved object) and a large serde value.
    item.raw = Some(
        dynox_tests::content(250 * 1024, 3)
            .iter()
            .map(|b| b % 4)
            .collect(),
    );
    item.transcript = Some(transcript(4_000)); // ~250 KB as a map
    env.client.save(&mut item).await.unwrap();

    let raw = raw_note(&env, "mix").await;
    let moved: Vec<&str> = ["body", "raw", "transcript"]
        .into_iter()
        .filter(|f| in_s3(&raw, f))
        .collect();
    assert_eq!(moved.len(), 1, "one field is enough to fit: {moved:?}");
    assert!(
        moved[0] != "body",
        "the largest field moves first: {moved:?}"
    );
    assert_eq!(Note::get(&env.client, "mix").await.unwrap().unwrap(), item);

    // Both large: both move.
    item.raw = Some(vec![7; 300 * 1024]);
    item.transcript = Some(transcript(6_000));
    env.client.save(&mut item).await.unwrap();
    let raw = raw_note(&env, "mix").await;
    assert!(in_s3(&raw, "raw") && in_s3(&raw, "transcript"));
    let keys = env.keys("overflow").await;
    assert_eq!(keys.len(), 2, "the replaced object is gone: {keys:?}");
    assert!(keys.iter().any(|k| k.ends_with("raw.bin")), "{keys:?}");
    assert!(
        keys.iter().any(|k| k.ends_with("transcript.json")),
        "{keys:?}"
    );
    assert_eq!(Note::get(&env.client, "mix").await.unwrap().unwrap(), item);
}

#[tokio::test]
async fn the_sweep_keeps_referenced_overflow_objects_and_an_update_deletes_the_one_it_replaces() {
    let env = note_env().await;
    let mut item = note("s", "y".repeat(450 * 1024));
    env.client.save(&mut item).await.unwrap();
    let later = SystemTime::now() + Duration::from_secs(48 * 3600);
    let report = dynox_s3::sweep::<Note>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 0, "{report}");
    assert_eq!(env.keys("overflow").await.len(), 1);

    // An update writes the field inline and deletes the object it no longer references
    // (a crash before that delete leaves it to the sweep: the fault matrix's UpdateOverflow).
    Note::update(&env.client, "s")
        .apply(Note::fields().body.set("short now"))
        .await
        .unwrap();
    assert!(env.keys("overflow").await.is_empty());
    let report = dynox_s3::sweep::<Note>(&env.client)
        .as_of(later)
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 0, "{report}");
    assert_eq!(
        Note::get(&env.client, "s").await.unwrap().unwrap().body,
        "short now"
    );
}

#[tokio::test]
async fn an_inline_value_that_looks_like_a_reference_is_refused() {
    #[derive(Debug, Clone, DynamoModel)]
    #[dynamo(table = "maps")]
    struct Tagged {
        #[dynamo(hash_key)]
        pk: String,
        #[s3(bucket = "overflow", prefix = "tags/", overflow)]
        tags: HashMap<String, String>,
    }
    let env = file_env::<Tagged>(&["overflow"], S3Settings::default()).await;
    let mut item = Tagged {
        pk: "t".into(),
        tags: HashMap::from([(dynox_core::spi::OVERFLOW_KEY.to_owned(), "x".to_owned())]),
    };
    let error = env.client.save(&mut item).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidField { field: "tags", .. }),
        "{error:?}"
    );
    assert!(Tagged::get(&env.client, "t").await.unwrap().is_none());
}

#[tokio::test]
async fn an_item_too_large_even_after_moving_every_overflow_field_is_refused_and_leaves_nothing() {
    #[derive(Debug, Clone, DynamoModel)]
    #[dynamo(table = "mixed")]
    struct Mixed {
        #[dynamo(hash_key)]
        pk: String,
        inline: String,
        #[s3(bucket = "overflow", prefix = "body/", overflow)]
        body: String,
    }
    let env = file_env::<Mixed>(&["overflow"], S3Settings::default()).await;
    let mut item = Mixed {
        pk: "m".into(),
        inline: "i".repeat(420 * 1024),
        body: "b".repeat(100 * 1024),
    };
    let error = env.client.save(&mut item).await.unwrap_err();
    assert!(matches!(&error, Error::ItemTooLarge { .. }), "{error:?}");
    assert!(
        env.keys("overflow").await.is_empty(),
        "the moved value is removed"
    );
}

/// What a note list shows: the title and the body, whichever store holds the body.
#[derive(Debug, Clone, PartialEq, dynox_core::DynamoProjection)]
#[dynamo(model = Note)]
struct NoteBody {
    pk: String,
    body: String,
}

#[tokio::test]
async fn projections_and_returned_items_read_moved_values_too() {
    let env = note_env().await;
    let body = "z".repeat(450 * 1024);
    let mut item = note("p", body.clone());
    env.client.save(&mut item).await.unwrap();
    assert!(in_s3(&raw_note(&env, "p").await, "body"));

    let listed: Vec<NoteBody> = Note::query(&env.client, "p")
        .project::<NoteBody>()
        .all()
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![NoteBody {
            pk: "p".into(),
            body: body.clone()
        }]
    );

    // The new item an update returns, and the old item a delete returns (read before the
    // delete removes the object).
    let updated = Note::update(&env.client, "p")
        .apply(Note::fields().title.set("renamed"))
        .return_new()
        .await
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.body.len()),
        ("renamed", body.len())
    );
    let old = Note::delete(&env.client, "p")
        .return_old()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.body, body);
    assert!(env.keys("overflow").await.is_empty());
}

#[tokio::test]
async fn updates_set_or_remove_an_overflow_field_whole_and_nothing_else() {
    let env = note_env().await;
    let mut item = note("u", "small".into());
    item.transcript = Some(transcript(8_000)); // moves to S3
    env.client.save(&mut item).await.unwrap();
    assert!(in_s3(&raw_note(&env, "u").await, "transcript"));

    // A part of the value would change the reference instead (or be lost in it): refused,
    // naming the field, and nothing is written.
    let nested = Note::update(&env.client, "u")
        .apply(
            Note::fields()
                .transcript
                .key::<String>("speaker")
                .set("Grace"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&nested, Error::InvalidRequest { reason, .. } if reason.contains("`transcript`")),
        "{nested:?}"
    );
    // A value that would read back as a reference: refused as in a save.
    #[derive(Debug, Clone, DynamoModel)]
    #[dynamo(table = "notes")]
    struct TaggedNote {
        #[dynamo(hash_key)]
        pk: String,
        #[s3(bucket = "overflow", prefix = "tags/", overflow)]
        tags: Option<HashMap<String, String>>,
    }
    let lookalike = HashMap::from([(dynox_core::spi::OVERFLOW_KEY.to_owned(), "x".to_owned())]);
    let refused = TaggedNote::update(&env.client, "u")
        .apply(TaggedNote::fields().tags.set(lookalike))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidRequest { .. }),
        "{refused:?}"
    );

    // The item is intact, and saves and deletes still work.
    let read = Note::get(&env.client, "u").await.unwrap().unwrap();
    assert_eq!(read, item);
    item.title = "again".into();
    env.client.save(&mut item).await.unwrap();
    Note::delete(&env.client, "u").await.unwrap();
    assert!(env.keys("overflow").await.is_empty());
}
