//! Scan (filters, parallel segments, limits, counts) and query filters and counts.

use std::collections::BTreeSet;

use dynox_core::DynamoModel;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "readings")]
struct Reading {
    #[dynamo(hash_key)]
    sensor: String,
    #[dynamo(range_key)]
    at: u64,
    celsius: i32,
    status: String,
}

/// 3 sensors × 20 readings; `celsius` = at, status "alert" when at ≥ 15.
async fn seeded() -> dynox_core::Client {
    let client = dynox_tests::client_with::<Reading>().await;
    for sensor in ["s1", "s2", "s3"] {
        for at in 0..20u64 {
            let status = if at >= 15 { "alert" } else { "ok" };
            client
                .save(&mut Reading {
                    sensor: sensor.into(),
                    at,
                    celsius: at as i32,
                    status: status.into(),
                })
                .await
                .unwrap();
        }
    }
    client
}

fn ids(readings: &[Reading]) -> BTreeSet<(String, u64)> {
    readings.iter().map(|r| (r.sensor.clone(), r.at)).collect()
}

#[tokio::test]
async fn scans_read_everything_in_one_or_many_segments() {
    let client = seeded().await;
    let one = Reading::scan(&client).all().await.unwrap();
    assert_eq!(one.len(), 60);
    let four = Reading::scan(&client)
        .segments(4)
        .page_size(7)
        .all()
        .await
        .unwrap();
    assert_eq!(
        ids(&four),
        ids(&one),
        "segments together cover the table exactly once"
    );
    assert_eq!(four.len(), 60);
    assert_eq!(
        Reading::scan(&client)
            .limit(25)
            .page_size(10)
            .all()
            .await
            .unwrap()
            .len(),
        25
    );
    assert_eq!(
        Reading::scan(&client).segments(3).count().await.unwrap(),
        60
    );
}

#[tokio::test]
async fn filters_apply_to_scans_and_queries() {
    let client = seeded().await;
    let f = Reading::fields();
    let alerts = Reading::scan(&client)
        .filter(f.status.eq("alert"))
        .segments(2)
        .all()
        .await
        .unwrap();
    assert_eq!(alerts.len(), 15);
    assert!(alerts.iter().all(|r| r.at >= 15));
    assert_eq!(
        Reading::scan(&client)
            .filter(f.celsius.between(5, 9) & f.sensor.ne("s3"))
            .count()
            .await
            .unwrap(),
        10
    );

    let warm = Reading::query(&client, "s2")
        .filter(f.celsius.ge(18))
        .all()
        .await
        .unwrap();
    assert_eq!(warm.iter().map(|r| r.at).collect::<Vec<_>>(), [18, 19]);
    assert_eq!(Reading::query(&client, "s2").count().await.unwrap(), 20);
    assert_eq!(
        Reading::query(&client, "s2")
            .page_size(3)
            .filter(f.status.eq("alert"))
            .count()
            .await
            .unwrap(),
        5
    );
}
