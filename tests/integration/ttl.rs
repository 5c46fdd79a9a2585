//! `#[dynamo(ttl)]`: a point in time stored as epoch seconds, and time to live enabled on it
//! by `create_table`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use dynox_core::DynamoModel;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "sessions")]
struct Session {
    #[dynamo(hash_key)]
    token: String,
    #[dynamo(ttl)]
    expires_at: SystemTime,
    last_seen: Option<SystemTime>,
}

#[tokio::test]
async fn ttl_is_enabled_and_times_round_trip_as_epoch_seconds() {
    let client = dynox_tests::client_with::<Session>().await;
    let described = client
        .dynamodb()
        .describe_time_to_live()
        .table_name(client.table_name::<Session>())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(described.attribute_name.as_deref(), Some("expires_at"));
    assert!(matches!(
        described.time_to_live_status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ));
    // Creating it again (if_not_exists) leaves TTL as it is.
    client
        .create_table::<Session>()
        .if_not_exists()
        .await
        .unwrap();

    let expires_at = UNIX_EPOCH + Duration::from_secs(4_102_444_800); // 2100-01-01
    let mut session = Session {
        token: "t".into(),
        expires_at,
        last_seen: None,
    };
    client.save(&mut session).await.unwrap();
    let raw = client
        .dynamodb()
        .get_item()
        .table_name(client.table_name::<Session>())
        .key("token", AttributeValue::S("t".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(raw["expires_at"], AttributeValue::N("4102444800".into()));
    assert!(!raw.contains_key("last_seen"));
    assert_eq!(Session::get(&client, "t").await.unwrap(), Some(session));
}
