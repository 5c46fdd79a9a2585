//! query: typed sort-key conditions, order, limits, pages and page tokens.

use dynox_core::{DynamoModel, Error, PageToken, SortKey};
use futures::TryStreamExt;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "events")]
struct Event {
    #[dynamo(hash_key)]
    stream: String,
    #[dynamo(range_key)]
    seq: u64,
    kind: String,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "files")]
struct File {
    #[dynamo(hash_key)]
    owner: String,
    #[dynamo(range_key)]
    path: String,
}

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "accounts")]
struct Account {
    #[dynamo(hash_key)]
    id: String,
    plan: String,
}

/// Ten events 1..=10 on stream "a" and three on stream "b".
async fn seeded() -> dynox_core::Client {
    let client = dynox_tests::client_with::<Event>().await;
    for seq in 1..=10 {
        client
            .save(&mut Event {
                stream: "a".into(),
                seq,
                kind: format!("k{seq}"),
            })
            .await
            .unwrap();
    }
    for seq in 1..=3 {
        client
            .save(&mut Event {
                stream: "b".into(),
                seq,
                kind: "other".into(),
            })
            .await
            .unwrap();
    }
    client
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn query_returns_only_the_hash_key_in_sort_order() {
    let client = seeded().await;
    let events = Event::query(&client, "a").await.unwrap();
    assert_eq!(seqs(&events), (1..=10).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.stream == "a"));
    let descending = Event::query(&client, "a").descending().all().await.unwrap();
    assert_eq!(seqs(&descending), (1..=10).rev().collect::<Vec<_>>());
    assert!(Event::query(&client, "none").await.unwrap().is_empty());
}

#[tokio::test]
async fn every_sort_key_operator_selects_the_right_items() {
    let client = seeded().await;
    let cases: Vec<(SortKey<u64>, Vec<u64>)> = vec![
        (SortKey::eq(4), vec![4]),
        (SortKey::lt(4), vec![1, 2, 3]),
        (SortKey::le(4), vec![1, 2, 3, 4]),
        (SortKey::gt(8), vec![9, 10]),
        (SortKey::ge(8), vec![8, 9, 10]),
        (SortKey::between(3, 5), vec![3, 4, 5]),
    ];
    for (condition, expected) in cases {
        let got = Event::query(&client, "a")
            .sort_key(condition.clone())
            .all()
            .await
            .unwrap();
        assert_eq!(seqs(&got), expected, "{condition:?}");
    }
}

#[tokio::test]
async fn begins_with_selects_string_prefixes() {
    let client = dynox_tests::client_with::<File>().await;
    for path in ["docs/a", "docs/b", "img/c", "docs"] {
        client
            .save(&mut File {
                owner: "o".into(),
                path: path.into(),
            })
            .await
            .unwrap();
    }
    let docs = File::query(&client, "o")
        .sort_key(SortKey::begins_with("docs/"))
        .all()
        .await
        .unwrap();
    let paths: Vec<_> = docs.into_iter().map(|f| f.path).collect();
    assert_eq!(paths, ["docs/a", "docs/b"]);
}

#[tokio::test]
async fn limit_caps_the_total_over_pages() {
    let client = seeded().await;
    let events: Vec<Event> = Event::query(&client, "a")
        .page_size(3)
        .limit(7)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seqs(&events), (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn pages_carry_tokens_that_resume_where_they_stopped() {
    let client = seeded().await;
    let pages: Vec<_> = Event::query(&client, "a")
        .page_size(4)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<_> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes[..3], [4, 4, 2]);
    assert!(pages[0].next.is_some());
    let all: Vec<u64> = pages.iter().flat_map(|p| seqs(&p.items)).collect();
    assert_eq!(all, (1..=10).collect::<Vec<_>>());

    // A first page, its token through a string (as a web client would), then the rest.
    let first = Event::query(&client, "a")
        .page_size(3)
        .page()
        .await
        .unwrap();
    assert_eq!(seqs(&first.items), [1, 2, 3]);
    let token: PageToken = first.next.unwrap().to_string().parse().unwrap();
    let rest = Event::query(&client, "a")
        .start_from(token)
        .all()
        .await
        .unwrap();
    assert_eq!(seqs(&rest), (4..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_limited_page_resumes_exactly_after_its_last_item() {
    let client = seeded().await;
    let first = Event::query(&client, "a")
        .descending()
        .limit(2)
        .page()
        .await
        .unwrap();
    assert_eq!(seqs(&first.items), [10, 9]);
    let next = Event::query(&client, "a")
        .descending()
        .start_from(first.next.unwrap())
        .limit(2)
        .all()
        .await
        .unwrap();
    assert_eq!(seqs(&next), [8, 7]);
}

#[tokio::test]
async fn a_hash_only_model_queries_by_hash_key() {
    let client = dynox_tests::client_with::<Account>().await;
    client
        .save(&mut Account {
            id: "acc".into(),
            plan: "pro".into(),
        })
        .await
        .unwrap();
    client
        .save(&mut Account {
            id: "other".into(),
            plan: "free".into(),
        })
        .await
        .unwrap();
    let found = Account::query(&client, "acc").all().await.unwrap();
    assert_eq!(
        found,
        [Account {
            id: "acc".into(),
            plan: "pro".into()
        }]
    );
}

#[tokio::test]
async fn errors_name_the_table() {
    let client = dynox_tests::client().await;
    let err = Event::query(&client, "a").all().await.unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");

    let err = "%%%".parse::<PageToken>().unwrap_err();
    assert!(matches!(err, Error::InvalidPageToken { .. }), "{err:?}");

    let client = dynox_tests::client_with::<File>().await;
    let err = File::query(&client, "o")
        .sort_key(SortKey::eq(""))
        .all()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidField { field: "path", .. }),
        "{err:?}"
    );
}
