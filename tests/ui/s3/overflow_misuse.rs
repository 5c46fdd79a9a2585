use dynox_core::DynamoModel;
use dynox_s3::{S3Object, S3Text};

#[derive(DynamoModel)]
#[dynamo(table = "notes")]
struct Note {
    #[dynamo(hash_key)]
    pk: String,
    // An overflow value moved to S3 is its item's alone: it cannot be shared.
    #[s3(bucket = "notes", overflow, shared)]
    shared_body: String,
    // A file is always in S3: `overflow` is for ordinary attributes.
    #[s3(bucket = "notes", overflow)]
    file: S3Object,
    #[s3(bucket = "notes", overflow)]
    text: Option<S3Text>,
    // `overflow` is a flag.
    #[s3(bucket = "notes", overflow = "yes")]
    valued: String,
    // An overflow field still needs a bucket for the values it moves.
    #[s3(overflow)]
    no_bucket: String,
}

fn main() {}
