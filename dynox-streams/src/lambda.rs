//! The file cascade as an AWS Lambda handler (feature `lambda`), on `aws_lambda_events`.
//!
//! [`handle`] runs [`dynox_s3::cascade()`] on each record of a DynamoDB Streams event, in
//! order, and reports partial batch failures: the first record whose objects could not all
//! be dealt with is named in `batchItemFailures`, so Lambda retries from that record only
//! (the records before it are done; the ones after it come again with it).
//!
//! Configure the event source mapping with `FunctionResponseTypes: ["ReportBatchItemFailures"]`
//! (else a failure retries the whole batch), `BisectBatchOnFunctionError: true`, a
//! `MaximumRetryAttempts` and an on-failure destination, and the table's stream with
//! `NEW_AND_OLD_IMAGES`. The function's role needs `dynamodb:DescribeStream`,
//! `dynamodb:GetRecords`, `dynamodb:GetShardIterator`, `dynamodb:ListStreams` on the stream,
//! `dynamodb:GetItem` on the table (for `OLD_IMAGE` streams), and `s3:GetObject`
//! (HEAD) and `s3:DeleteObject` on the model's buckets and prefixes.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use dynox_core::item::Item;
use dynox_core::stream::{ChangeKind, ChangeRecord};
use dynox_core::Client;
use dynox_s3::{FileModels, RecordReport, S3Error};

use crate::error::StreamError;

/// The [`ChangeRecord`] of a Lambda event's record; `None` for an event name that is not
/// `INSERT`, `MODIFY` or `REMOVE`.
pub fn change_record(record: &EventRecord) -> Option<ChangeRecord> {
    let kind = ChangeKind::from_event_name(&record.event_name)?;
    let change = &record.change;
    let image = |item: &serde_dynamo::Item| -> Option<Item> {
        (!item.is_empty()).then(|| item.clone().into())
    };
    let identity = record.user_identity.as_ref();
    Some(
        ChangeRecord::new(
            kind,
            image(&change.keys).unwrap_or_default(),
            change.sequence_number.clone().unwrap_or_default(),
        )
        .with_old_image(image(&change.old_image))
        .with_new_image(image(&change.new_image))
        .with_user_identity(
            identity.map(|i| i.type_.as_str()),
            identity.map(|i| i.principal_id.as_str()),
        ),
    )
}

/// What [`handle`] did: the response for Lambda, and a report per record it processed.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Handled {
    /// The response to return from the function (partial batch failures).
    pub response: DynamoDbEventResponse,
    /// One report per record processed, in order; the last one is the failed record, if any.
    pub records: Vec<RecordReport>,
    /// The error that stopped the batch at a record before any of its objects was looked at
    /// (reading the item failed); that record is the response's failure.
    pub error: Option<dynox_core::Error>,
}

/// Runs the file cascade of model `M` (or of the models of a tuple sharing a table, each record
/// to the model of its entity type) on the records of `event`, stopping at the first record
/// that could not be finished, which the response names for Lambda to retry.
///
/// A stream without old images is an error of the whole invocation
/// ([`S3Error::StreamWithoutOldImages`]): no retry can fix it, and it must not pass silently.
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// # use dynox_s3::S3Object;
/// # #[derive(DynamoModel)] #[dynamo(table = "documents")]
/// # struct Document { #[dynamo(hash_key)] pk: String,
/// #   #[s3(bucket = "docs")] file: S3Object }
/// # async fn demo(client: Client, event: aws_lambda_events::event::dynamodb::Event)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// let handled = dynox_streams::lambda::handle::<Document>(&client, event).await?;
/// for record in &handled.records {
///     println!("{record}");
/// }
/// let response = handled.response; // returned to Lambda
/// # Ok(()) }
/// ```
pub async fn handle<M: FileModels>(client: &Client, event: Event) -> Result<Handled, StreamError> {
    let mut handled = Handled::default();
    for record in &event.records {
        let Some(change) = change_record(record) else {
            continue;
        };
        let outcome = match dynox_s3::cascade::<M>(client, &change).await {
            Ok(outcome) => outcome,
            Err(e @ dynox_core::Error::S3(S3Error::StreamWithoutOldImages { .. })) => {
                return Err(e.into())
            }
            Err(e) => {
                // Could not even look at the record's objects: retried like a failed one.
                handled.error = Some(e);
                fail(&mut handled, &change.sequence_number);
                break;
            }
        };
        let complete = outcome.is_complete();
        handled.records.push(outcome);
        if !complete {
            fail(&mut handled, &change.sequence_number);
            break;
        }
    }
    Ok(handled)
}

/// Names record `sequence_number` as the batch's first failure.
fn fail(handled: &mut Handled, sequence_number: &str) {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number.to_owned());
    handled.response.batch_item_failures.push(failure);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DynamoDB Streams event as Lambda delivers it: a user's MODIFY and a TTL REMOVE.
    const EVENT: &str = r#"{
      "Records": [
        {
          "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1",
          "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
          "dynamodb": {
            "ApproximateCreationDateTime": 1700000000,
            "Keys": {"pk": {"S": "doc-1"}},
            "OldImage": {"pk": {"S": "doc-1"}, "n": {"N": "1"},
                         "file": {"M": {"bucket": {"S": "b"}, "key": {"S": "k1"}}}},
            "NewImage": {"pk": {"S": "doc-1"}, "n": {"N": "2"}},
            "SequenceNumber": "111", "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES"
          },
          "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/2024-01-01T00:00:00.000"
        },
        {
          "eventID": "2", "eventName": "REMOVE", "eventVersion": "1.1",
          "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
          "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
          "dynamodb": {
            "ApproximateCreationDateTime": 1700000100,
            "Keys": {"pk": {"S": "doc-2"}},
            "OldImage": {"pk": {"S": "doc-2"}, "tags": {"SS": ["a", "b"]}},
            "SequenceNumber": "222", "SizeBytes": 38, "StreamViewType": "NEW_AND_OLD_IMAGES"
          },
          "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/2024-01-01T00:00:00.000"
        }
      ]
    }"#;

    #[test]
    fn a_lambda_event_becomes_change_records_with_ttl_told_apart() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let event: Event = serde_json::from_str(EVENT).unwrap();
        let records: Vec<ChangeRecord> = event.records.iter().filter_map(change_record).collect();
        assert_eq!(records.len(), 2);

        let modify = &records[0];
        assert_eq!(modify.kind, ChangeKind::Modify);
        assert!(!modify.ttl_expired);
        assert_eq!(modify.sequence_number, "111");
        assert_eq!(modify.keys["pk"], AttributeValue::S("doc-1".into()));
        let old = modify.old_image.as_ref().unwrap();
        assert_eq!(old["n"], AttributeValue::N("1".into()));
        assert!(
            matches!(&old["file"], AttributeValue::M(m) if m["key"] == AttributeValue::S("k1".into()))
        );
        assert_eq!(
            modify.new_image.as_ref().unwrap()["n"],
            AttributeValue::N("2".into())
        );

        let remove = &records[1];
        assert_eq!(remove.kind, ChangeKind::Remove);
        assert!(remove.ttl_expired);
        assert!(remove.new_image.is_none());
        assert_eq!(
            remove.old_image.as_ref().unwrap()["tags"],
            AttributeValue::Ss(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn a_failure_names_its_record_in_the_response() {
        let mut handled = Handled::default();
        fail(&mut handled, "222");
        let json = serde_json::to_value(&handled.response).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "222"}]})
        );
    }
}
