//! A client-level rate limit (`ClientBuilder::rate_limit`): every operation of the client and
//! its clones draws from one budget, charged with the capacity DynamoDB reports; an adaptive
//! limit halves on throttling (the fault injector answers ProvisionedThroughputExceeded).
//! No timing is asserted: the budgets' state is.

use dynox_core::{Client, DynamoModel, Error, RateLimit};
use dynox_local::faults::FaultKind;
use dynox_s3::S3Settings;
use dynox_tests::{capability_note, faulty_file_env};

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "limited")]
struct Note {
    #[dynamo(hash_key)]
    id: String,
    text: String,
}

/// A client on `env`'s tables and faulty DynamoDB client, with `limit`.
fn limited(client: &Client, limit: RateLimit) -> Client {
    Client::builder(client.sdk_config())
        .table_prefix(client.table_prefix())
        .dynamodb_client(client.dynamodb().clone())
        .rate_limit(limit)
        .build()
}

#[tokio::test]
async fn a_fixed_limit_is_shared_by_clones_and_charged_what_requests_consume() {
    let (env, _faults) = faulty_file_env::<Note>(&[], S3Settings::default()).await;
    let client = limited(&env.client, RateLimit::fixed(1000.0, 2.0));
    let clone = client.clone();
    // 12 KB: 12 write units, where the server reports them.
    let mut note = Note {
        id: "n1".into(),
        text: "x".repeat(12 * 1024),
    };
    clone.save(&mut note).await.unwrap();
    let rate = client.rate().expect("a limited client");
    assert_eq!((rate.read, rate.write), (1000.0, 2.0));
    if rate.write_debt == 0.0 {
        capability_note(
            &env.backend,
            "throttling::a_fixed_limit_is_shared_by_clones_and_charged_what_requests_consume",
            "the server reports no consumed capacity: each write is charged one unit",
        );
    } else {
        assert!(rate.write_debt > 8.0, "{rate:?}");
    }
    // The write still went through, and reads draw from their own budget.
    assert_eq!(Note::get(&client, "n1").await.unwrap(), Some(note));
    assert_eq!(client.rate().unwrap().read_debt, 0.0);
    assert!(
        env.client.rate().is_none(),
        "an unlimited client has no budget"
    );
}

#[tokio::test]
async fn an_adaptive_limit_halves_the_budget_of_what_was_throttled() {
    let (env, faults) = faulty_file_env::<Note>(&[], S3Settings::default()).await;
    let client = limited(&env.client, RateLimit::adaptive(100.0, 40.0));
    let started = std::time::Instant::now();
    for i in 0..3 {
        faults.fail_nth(1, None, FaultKind::Throttle);
        let err = client
            .save(&mut Note {
                id: format!("n{i}"),
                text: "t".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    }
    faults.reset();
    let rate = client.rate().unwrap();
    // 40 halved three times is 5; it recovers by 4 per second since (at most the time the
    // three calls took).
    let bound = 5.0 + 4.0 * started.elapsed().as_secs_f64();
    assert!(
        rate.write >= 5.0 && rate.write <= bound,
        "{rate:?}, at most {bound}"
    );
    assert_eq!(rate.read, 100.0, "reads were not throttled");
    // Requests still go through at the lower rate, on a spawned task too.
    let spawned = tokio::spawn(async move {
        client
            .save(&mut Note {
                id: "ok".into(),
                text: "t".into(),
            })
            .await
    });
    spawned.await.unwrap().unwrap();
}
