//! Stream records of the Streams API (`aws-sdk-dynamodbstreams`) as dynox [`ChangeRecord`]s.
//!
//! The Streams SDK has its own `AttributeValue` type, the same shape as DynamoDB's; images are
//! converted to DynamoDB's so models decode them as they decode items.

use aws_sdk_dynamodb::types::AttributeValue as Dynamo;
use aws_sdk_dynamodbstreams::types::{AttributeValue as Streams, OperationType, Record};
use dynox_core::item::Item;
use dynox_core::stream::{ChangeKind, ChangeRecord};

/// The [`ChangeRecord`] of a Streams API record; `None` for a record without its change (no
/// event name or no `dynamodb` part), which no DynamoDB stream sends.
pub fn change_record(record: &Record) -> Option<ChangeRecord> {
    let kind = match record.event_name()? {
        OperationType::Insert => ChangeKind::Insert,
        OperationType::Modify => ChangeKind::Modify,
        OperationType::Remove => ChangeKind::Remove,
        _ => return None,
    };
    let change = record.dynamodb()?;
    let identity = record.user_identity();
    Some(
        ChangeRecord::new(
            kind,
            change.keys().map(image).unwrap_or_default(),
            change.sequence_number().unwrap_or_default(),
        )
        .with_old_image(change.old_image.as_ref().map(image))
        .with_new_image(change.new_image.as_ref().map(image))
        .with_user_identity(
            identity.and_then(|i| i.r#type()),
            identity.and_then(|i| i.principal_id()),
        ),
    )
}

/// An image as a DynamoDB item.
fn image(map: &std::collections::HashMap<String, Streams>) -> Item {
    map.iter().map(|(k, v)| (k.clone(), value(v))).collect()
}

/// One attribute value as DynamoDB's type.
pub fn value(v: &Streams) -> Dynamo {
    match v {
        Streams::S(s) => Dynamo::S(s.clone()),
        Streams::N(n) => Dynamo::N(n.clone()),
        Streams::B(b) => Dynamo::B(b.clone()),
        Streams::Bool(b) => Dynamo::Bool(*b),
        Streams::Null(n) => Dynamo::Null(*n),
        Streams::Ss(v) => Dynamo::Ss(v.clone()),
        Streams::Ns(v) => Dynamo::Ns(v.clone()),
        Streams::Bs(v) => Dynamo::Bs(v.clone()),
        Streams::L(v) => Dynamo::L(v.iter().map(value).collect()),
        Streams::M(m) => Dynamo::M(m.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
        // A type newer than this SDK knows: null, so decoding names the field.
        _ => Dynamo::Null(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::{Identity, StreamRecord};
    use std::collections::HashMap;

    #[test]
    fn a_ttl_removal_keeps_its_images_and_is_recognised() {
        let old = HashMap::from([
            ("pk".to_owned(), Streams::S("a".into())),
            (
                "file".to_owned(),
                Streams::M(HashMap::from([("size".to_owned(), Streams::N("3".into()))])),
            ),
            ("tags".to_owned(), Streams::Ss(vec!["x".into()])),
        ]);
        let record = Record::builder()
            .event_name(OperationType::Remove)
            .user_identity(
                Identity::builder()
                    .r#type("Service")
                    .principal_id("dynamodb.amazonaws.com")
                    .build(),
            )
            .dynamodb(
                StreamRecord::builder()
                    .keys("pk", Streams::S("a".into()))
                    .set_old_image(Some(old))
                    .sequence_number("42")
                    .build(),
            )
            .build();
        let change = change_record(&record).unwrap();
        assert_eq!(change.kind, ChangeKind::Remove);
        assert!(change.ttl_expired);
        assert_eq!(change.sequence_number, "42");
        let old = change.old_image.unwrap();
        assert_eq!(old["tags"], Dynamo::Ss(vec!["x".into()]));
        assert!(matches!(&old["file"], Dynamo::M(m) if m["size"] == Dynamo::N("3".into())));
        assert!(change.new_image.is_none());

        // A user's delete is not an expiry.
        let user = Record::builder()
            .event_name(OperationType::Remove)
            .dynamodb(StreamRecord::builder().sequence_number("43").build())
            .build();
        assert!(!change_record(&user).unwrap().ttl_expired);
    }
}
