//! The file cascade as an AWS Lambda function: deploy it on the DynamoDB stream of the
//! `documents` table (the `documents` example's model) and every object of a document is
//! deleted when the document leaves by any road: time to live, a console delete, another
//! service's raw `DeleteItem` or `PutItem`.
//!
//! Build and deploy with cargo-lambda (<https://www.cargo-lambda.info>):
//!
//! ```text
//! cargo lambda build --release -p dynox-examples --bin stream_cascade_lambda
//! cargo lambda deploy stream_cascade_lambda --iam-role arn:aws:iam::ACCOUNT:role/dynox-cascade
//! aws lambda create-event-source-mapping --function-name stream_cascade_lambda \
//!     --event-source-arn "$STREAM_ARN" --starting-position TRIM_HORIZON \
//!     --function-response-types ReportBatchItemFailures \
//!     --bisect-batch-on-function-error --maximum-retry-attempts 10 \
//!     --destination-config '{"OnFailure":{"Destination":"arn:aws:sqs:REGION:ACCOUNT:dynox-cascade-dlq"}}'
//! ```
//!
//! The table's stream must carry old images (`StreamView::NewAndOldImages`). The role needs
//! `dynamodb:DescribeStream`, `dynamodb:GetRecords`, `dynamodb:GetShardIterator` and
//! `dynamodb:ListStreams` on the stream, `s3:GetObject` and `s3:DeleteObject` on the
//! model's prefixes, and `sqs:SendMessage` on the failure destination. `DYNOX_TABLE_PREFIX`
//! sets the client's table prefix (the environment's), if any.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use dynox::s3::S3Object;
use dynox::{Client, DynamoModel};
use lambda_runtime::{service_fn, Error, LambdaEvent};

/// The model whose table's stream this function consumes (as in the `documents` example).
#[derive(Debug, DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(range_key)]
    sk: String,
    name: String,
    #[s3(bucket = "company-docs", prefix = "documents/")]
    content: Option<S3Object>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::builder(&config)
        .table_prefix(std::env::var("DYNOX_TABLE_PREFIX").unwrap_or_default())
        .build();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let client = client.clone();
        async move { cascade(&client, event.payload).await }
    }))
    .await
}

/// One invocation: the cascade over the batch, a log line per record, and the partial batch
/// failures for Lambda.
async fn cascade(client: &Client, event: Event) -> Result<DynamoDbEventResponse, Error> {
    let handled = dynox::streams::lambda::handle::<Document>(client, event).await?;
    for record in &handled.records {
        println!("{record}");
        for (object, error) in &record.failed {
            eprintln!("  could not delete {object}: {error}");
        }
    }
    if let Some(error) = &handled.error {
        eprintln!("stopped: {error}");
    }
    Ok(handled.response)
}
