//! The object keys dynox lays out: safe whatever the key values and file names (no `..`, no
//! control characters, a too long name refused), and custom key templates.

use dynox_core::DynamoModel;
use dynox_s3::{S3Error, S3Object, S3Settings};
use dynox_tests::{file_env, stored};

use super::{doc, env, Document};

#[tokio::test]
async fn hostile_key_values_and_file_names_make_safe_keys() {
    let env = env().await;
    for (i, (pk, name)) in [
        ("../../etc", "../../passwd"),
        ("a/b#c d", "ünï cödé 🚀.txt"),
        ("ctl\u{1}\n", "tab\tname"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = doc(pk, Some(S3Object::from_bytes(vec![i as u8; 5], name)));
        env.client.save(&mut d).await.unwrap();
        let key = &stored(&d.content).key;
        assert!(key.starts_with("documents/"), "{key}");
        assert!(!key.split('/').any(|s| s == ".." || s == "."), "{key}");
        assert!(!key.chars().any(char::is_control), "{key:?}");
        let loaded = Document::get(&env.client, pk, "v1").await.unwrap().unwrap();
        assert_eq!(
            loaded
                .content
                .unwrap()
                .get_bytes(&env.client)
                .await
                .unwrap()
                .as_ref(),
            &[i as u8; 5]
        );
    }
    let mut long = doc(
        "LONG",
        Some(S3Object::from_bytes(vec![1], "n".repeat(2000))),
    );
    let err = env.client.save(&mut long).await.unwrap_err();
    match err.s3() {
        Some(S3Error::InvalidKey { field, .. }) => assert_eq!(*field, "content"),
        other => panic!("expected InvalidKey, got {other:?} from {err:?}"),
    }
}

#[tokio::test]
async fn a_custom_key_template_lays_out_objects() {
    #[derive(Debug, DynamoModel)]
    #[dynamo(table = "avatars")]
    struct Avatar {
        #[dynamo(hash_key)]
        user: String,
        #[s3(
            bucket = "avatars",
            prefix = "img/",
            key = "{prefix}{table}/{field}/{hash}-{upload}-{file}"
        )]
        image: S3Object,
    }
    let env = file_env::<Avatar>(&["avatars"], S3Settings::default()).await;
    let mut a = Avatar {
        user: "ada".into(),
        image: S3Object::from_bytes(vec![1, 2], "me.png"),
    };
    env.client.save(&mut a).await.unwrap();
    let key = a.image.key().unwrap();
    assert!(key.starts_with("img/avatars/image/ada-"), "{key}");
    assert!(key.ends_with("-me.png"), "{key}");
    assert_eq!(env.keys("avatars").await, vec![key.to_owned()]);
}
