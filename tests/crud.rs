use dynox_core::DynamoModel;

#[derive(Debug, Clone, PartialEq, DynamoModel)]
#[dynamo(table = "users")]
struct User {
    #[dynamo(hash_key)]
    id: String,
    name: String,
    age: Option<u32>,
}

#[tokio::test]
async fn save_then_get() {
    let client = dynox_tests::client_with::<User>().await;
    let user = User { id: "u1".into(), name: "Ada".into(), age: Some(36) };
    client.save(&user).await.unwrap();
    let loaded = User::get(&client, "u1").await.unwrap();
    assert_eq!(loaded, Some(user));
}
