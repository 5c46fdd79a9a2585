use dynox_core::DynamoModel;
use dynox_s3::{DeclaredFile, S3Object, UploadRules};

#[derive(DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    id: String,
    title: String,
    #[s3(bucket = "docs")]
    content: Option<S3Object>,
    #[s3(bucket = "docs", overflow)]
    body: String,
}

#[derive(DynamoModel)]
#[dynamo(table = "other")]
struct Other {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "docs")]
    content: Option<S3Object>,
}

async fn forms(client: &dynox_core::Client) -> dynox_core::Result<()> {
    let file = DeclaredFile::new("a.pdf", "application/pdf");
    let rules = UploadRules::new(1 << 20);
    // The file field, typed: compiles.
    dynox_s3::presign_upload(client, Document::key_of("a"), Document::fields().content, &file, &rules).await?;
    // A string field, an overflow field, a field named by a string, another model's field:
    // none compiles.
    dynox_s3::presign_upload(client, Document::key_of("a"), Document::fields().body, &file, &rules).await?;
    dynox_s3::presign_upload(client, Document::key_of("a"), Document::fields().title, &file, &rules).await?;
    dynox_s3::presign_upload(client, Document::key_of("a"), "content", &file, &rules).await?;
    dynox_s3::attach(client, Document::key_of("a"), Other::fields().content, "a.pdf", "k", &rules).await?;
    Ok(())
}

fn main() {
    let _ = forms;
}
