use dynox_core::DynamoModel;

#[derive(DynamoModel)]
#[dynamo(table = "accounts")]
struct Account {
    #[dynamo(hash_key)]
    id: String,
    #[dynamo(version)]
    version: u64,
}

async fn deletes(client: &dynox_core::Client, account: &Account) -> dynox_core::Result<()> {
    // Checked: these compile.
    client.delete_item(account).await?;
    Account::delete(client, "a").expect_version(3).await?;
    Account::delete(client, "a").any_version().await?;
    client.transact_write().delete_item(account).await?;

    // A versioned model deleted by key alone, with no version check: none of these compile.
    Account::delete(client, "a").await?;
    client.delete(Account::key_of("a")).return_old().await?;
    client.transact_write().delete(Account::key_of("a")).await?;
    let _ = client.delete_all([Account::key_of("a")]).await;
    Ok(())
}

fn main() {
    let _ = deletes;
}
