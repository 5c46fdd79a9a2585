//! Direct uploads from a browser (or any holder of the form) are hostile input: what S3
//! itself refuses through the signed POST policy, what `attach` refuses before an item may
//! reference an object, and what the sweep removes when an upload is never attached.

use std::time::Duration;

use dynox_core::DynamoModel;
use dynox_s3::{
    DeclaredFile, PresignedUpload, S3Error, S3Object, S3Settings, UploadRefusal, UploadRules,
};
use dynox_tests::{file_env, FileEnv};

#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "documents")]
struct Document {
    #[dynamo(hash_key)]
    pk: String,
    #[dynamo(range_key)]
    sk: String,
    #[s3(bucket = "company-docs", prefix = "documents/")]
    content: Option<S3Object>,
}

/// A field whose keys do not contain the item's key: only the object's metadata ties an
/// upload to its item.
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "inbox")]
struct Inbox {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "inbox", prefix = "in/", key = "{prefix}{upload}/{file}")]
    file: Option<S3Object>,
}

async fn env() -> FileEnv {
    file_env::<Document>(&["company-docs"], S3Settings::default()).await
}

fn rules() -> UploadRules {
    UploadRules::new(64 * 1024)
        .min_size(1)
        .content_types(["application/pdf", "image/*"])
}

async fn presign(env: &FileEnv, pk: &str, file_name: &str, content_type: &str) -> PresignedUpload {
    presign_declared(env, pk, DeclaredFile::new(file_name, content_type)).await
}

async fn presign_declared(env: &FileEnv, pk: &str, file: DeclaredFile) -> PresignedUpload {
    dynox_s3::presign_upload(
        &env.client,
        Document::key_of(pk, "v1"),
        Document::fields().content,
        &file,
        &rules(),
    )
    .await
    .unwrap()
}

/// POSTs `data` with the form's fields, each replaced by `overrides` where named, as a
/// browser would: the fields in order, then the file. Returns the status and body.
async fn post(form: &PresignedUpload, data: Vec<u8>, overrides: &[(&str, &str)]) -> (u16, String) {
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &form.fields {
        let value = overrides
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(value.as_str(), |(_, v)| v);
        multipart = multipart.text(name.clone(), value.to_owned());
    }
    let file = reqwest::multipart::Part::bytes(data).file_name(form.file_name.clone());
    multipart = multipart.part("file", file);
    let response = reqwest::Client::new()
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

async fn attach(
    env: &FileEnv,
    pk: &str,
    file_name: &str,
    key: &str,
) -> dynox_core::Result<S3Object> {
    attach_under(env, pk, file_name, key, &rules()).await
}

/// [`attach`] under other rules than [`rules`].
async fn attach_under(
    env: &FileEnv,
    pk: &str,
    file_name: &str,
    key: &str,
    rules: &UploadRules,
) -> dynox_core::Result<S3Object> {
    dynox_s3::attach(
        &env.client,
        Document::key_of(pk, "v1"),
        Document::fields().content,
        file_name,
        key,
        rules,
    )
    .await
}

/// The bytes of the file the stored document `pk` (version `v1`) references, read back.
async fn stored_bytes(env: &FileEnv, pk: &str) -> Vec<u8> {
    let document = Document::get(&env.client, pk, "v1").await.unwrap();
    let document = document.expect("the document is stored");
    let file = document.content.expect("it references a file");
    file.get_bytes(&env.client).await.unwrap().to_vec()
}

fn refusal(result: dynox_core::Result<S3Object>) -> UploadRefusal {
    match result {
        Err(dynox_core::Error::S3(S3Error::UploadRefused {
            reason,
            table,
            field,
            ..
        })) => {
            assert_eq!((table, field), ("documents", "content"));
            *reason
        }
        other => panic!("expected a refused upload, got {other:?}"),
    }
}

/// Whether the S3 server refused the POST; on a server that does not enforce POST policies
/// (moto), writes a capability note and returns `None`.
fn s3_refused(env: &FileEnv, test: &str, (status, body): (u16, String)) -> Option<()> {
    if (200..300).contains(&status) {
        if matches!(env.backend.s3_server(), dynox_local::Server::Endpoint(_)) {
            dynox_tests::capability_note(
                &env.backend,
                test,
                "this endpoint accepts POST uploads that break their signed policy; checked on the embedded s3s-fs",
            );
            return None;
        }
        panic!("{test}: S3 accepted a POST that breaks its policy ({status})");
    }
    assert!(matches!(status, 400 | 403), "{test}: {status} {body}");
    Some(())
}

#[tokio::test]
async fn a_form_upload_is_attached_after_its_checks_and_read_back() {
    let env = env().await;
    let form = presign(&env, "UP#1", "scan.pdf", "application/pdf").await;
    assert!(form.key.starts_with("documents/UP/1/v1/"), "{}", form.key);
    assert!(form.key.ends_with("/scan.pdf"), "{}", form.key);
    assert!(form.url.ends_with('/'), "{}", form.url);
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "key",
        "Content-Type",
        "policy",
        "x-amz-signature",
        "x-amz-meta-dynox-item",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert_eq!(form.size_range, (1, 64 * 1024));

    let data = dynox_tests::content(10_000, 8);
    let (status, body) = post(&form, data.clone(), &[]).await;
    assert!((200..300).contains(&status), "{status} {body}");

    let file = attach(&env, "UP#1", "scan.pdf", &form.key).await.unwrap();
    assert_eq!(file.size(), Some(10_000));
    assert_eq!(file.content_type(), Some("application/pdf"));
    assert_eq!(file.file_name(), "scan.pdf");
    let head = env
        .s3
        .head_object()
        .bucket(&form.bucket)
        .key(&form.key)
        .send()
        .await
        .unwrap();
    assert_eq!(file.etag(), head.e_tag.as_deref());

    let mut doc = Document {
        pk: "UP#1".into(),
        sk: "v1".into(),
        content: Some(file),
    };
    env.client.save(&mut doc).await.unwrap();
    assert_eq!(stored_bytes(&env, "UP#1").await, data);
}

#[tokio::test]
async fn s3_refuses_a_post_that_breaks_the_policy() {
    let env = env().await;
    let test = "s3_refuses_a_post_that_breaks_the_policy";

    // Larger than content-length-range.
    let form = presign(&env, "BIG#1", "big.pdf", "application/pdf").await;
    let result = post(&form, vec![1; 64 * 1024 + 1], &[]).await;
    if s3_refused(&env, test, result).is_none() {
        return;
    }
    // Smaller (empty).
    assert!(s3_refused(&env, test, post(&form, Vec::new(), &[]).await).is_some());
    // Another content type than the signed one.
    let html = post(
        &form,
        b"<script>".to_vec(),
        &[("Content-Type", "text/html")],
    )
    .await;
    assert!(s3_refused(&env, test, html).is_some());
    // Another key, or other metadata, than the signed ones.
    let other_key = post(&form, vec![1; 10], &[("key", "documents/elsewhere.pdf")]).await;
    assert!(s3_refused(&env, test, other_key).is_some());
    let other_item = post(&form, vec![1; 10], &[("x-amz-meta-dynox-item", "0000")]).await;
    assert!(s3_refused(&env, test, other_item).is_some());
    // A tampered policy (its signature no longer matches).
    let policy = &form.fields.iter().find(|(n, _)| n == "policy").unwrap().1;
    let tampered = format!("{}A", &policy[..policy.len() - 1]);
    let result = post(&form, vec![1; 10], &[("policy", &tampered)]).await;
    assert!(s3_refused(&env, test, result).is_some());

    // None of them stored anything.
    assert!(env.keys("company-docs").await.is_empty());
    // The untampered form still works.
    let (status, body) = post(&form, vec![1; 10], &[]).await;
    assert!((200..300).contains(&status), "{status} {body}");
}

#[tokio::test]
async fn a_content_type_the_rules_do_not_allow_is_refused_before_presigning() {
    let env = env().await;
    let result = dynox_s3::presign_upload(
        &env.client,
        Document::key_of("T#1", "v1"),
        Document::fields().content,
        &DeclaredFile::new("page.html", "text/html; charset=utf-8"),
        &rules(),
    )
    .await;
    match result {
        Err(dynox_core::Error::S3(S3Error::UploadRefused { reason, .. })) => assert_eq!(
            *reason,
            UploadRefusal::ContentType {
                found: "text/html".into(),
                allowed: vec!["application/pdf".into(), "image/*".into()],
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn attach_refuses_another_items_key_and_keys_outside_the_field() {
    let env = env().await;
    let form = presign(&env, "A#1", "a.pdf", "application/pdf").await;
    let (status, _) = post(&form, vec![1; 100], &[]).await;
    assert!((200..300).contains(&status));

    // Item B attaching item A's upload.
    assert_eq!(
        refusal(attach(&env, "B#1", "a.pdf", &form.key).await),
        UploadRefusal::NotThisItemsKey
    );
    // Another file name than the key's.
    assert_eq!(
        refusal(attach(&env, "A#1", "b.pdf", &form.key).await),
        UploadRefusal::NotThisItemsKey
    );
    // Keys outside the field's layout: another prefix, a walk up, a made-up upload id.
    let upload_id = form.key.split('/').nth(4).unwrap();
    for key in [
        format!("thumbs/A/1/v1/{upload_id}/a.pdf"),
        format!("documents/A/1/v1/{upload_id}/../a.pdf"),
        "documents/A/1/v1/not-an-upload-id/a.pdf".to_owned(),
        format!("documents/A/1/v1/{upload_id}/a.pdf/x"),
    ] {
        assert_eq!(
            refusal(attach(&env, "A#1", "a.pdf", &key).await),
            UploadRefusal::NotThisItemsKey,
            "{key}"
        );
    }
    // The rightful attach works.
    attach(&env, "A#1", "a.pdf", &form.key).await.unwrap();
}

#[tokio::test]
async fn attach_refuses_an_upload_made_for_another_item_when_keys_do_not_tell() {
    let env = file_env::<Inbox>(&["inbox"], S3Settings::default()).await;
    let rules = UploadRules::new(1024);
    let form = dynox_s3::presign_upload(
        &env.client,
        Inbox::key_of("mine"),
        Inbox::fields().file,
        &DeclaredFile::new("a.txt", "text/plain"),
        &rules,
    )
    .await
    .unwrap();
    assert!(form.key.starts_with("in/"), "{}", form.key);
    let (status, body) = post(&form, b"hello".to_vec(), &[]).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let theirs = dynox_s3::attach(
        &env.client,
        Inbox::key_of("theirs"),
        Inbox::fields().file,
        "a.txt",
        &form.key,
        &rules,
    )
    .await;
    assert!(
        matches!(
            &theirs,
            Err(dynox_core::Error::S3(S3Error::UploadRefused { reason, .. })) if **reason == UploadRefusal::OtherItem
        ),
        "{theirs:?}"
    );
    dynox_s3::attach(
        &env.client,
        Inbox::key_of("mine"),
        Inbox::fields().file,
        "a.txt",
        &form.key,
        &rules,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn attach_refuses_what_is_missing_or_was_not_a_direct_upload() {
    let env = env().await;
    // Presigned, never uploaded.
    let form = presign(&env, "M#1", "m.pdf", "application/pdf").await;
    assert_eq!(
        refusal(attach(&env, "M#1", "m.pdf", &form.key).await),
        UploadRefusal::Missing
    );
    // An object put at an upload key of the item by other means: no dynox metadata.
    env.s3
        .put_object()
        .bucket(&form.bucket)
        .key(&form.key)
        .content_type("application/pdf")
        .body(vec![1u8; 10].into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        refusal(attach(&env, "M#1", "m.pdf", &form.key).await),
        UploadRefusal::NotADirectUpload
    );
}

#[tokio::test]
async fn attach_checks_size_and_type_again() {
    let env = env().await;
    let form = presign(&env, "S#1", "s.png", "image/png").await;
    let (status, _) = post(&form, vec![1; 1000], &[]).await;
    assert!((200..300).contains(&status));
    let (env, key) = (&env, form.key.as_str());
    let attach_with =
        |rules: UploadRules| async move { attach_under(env, "S#1", "s.png", key, &rules).await };
    assert_eq!(
        refusal(attach_with(UploadRules::new(999)).await),
        UploadRefusal::TooLarge {
            size: 1000,
            max: 999
        }
    );
    assert_eq!(
        refusal(attach_with(UploadRules::new(5000).min_size(1001)).await),
        UploadRefusal::TooSmall {
            size: 1000,
            min: 1001
        }
    );
    assert_eq!(
        refusal(attach_with(UploadRules::new(5000).content_types(["application/pdf"])).await),
        UploadRefusal::ContentType {
            found: "image/png".into(),
            allowed: vec!["application/pdf".into()]
        }
    );
    attach_with(rules()).await.unwrap();
}

#[tokio::test]
async fn a_replayed_attach_is_refused() {
    let env = env().await;
    let form = presign(&env, "R#1", "r.pdf", "application/pdf").await;
    let (status, _) = post(&form, vec![1; 100], &[]).await;
    assert!((200..300).contains(&status));
    let file = attach(&env, "R#1", "r.pdf", &form.key).await.unwrap();
    let mut doc = Document {
        pk: "R#1".into(),
        sk: "v1".into(),
        content: Some(file),
    };
    env.client.save(&mut doc).await.unwrap();

    // The same attach again: the item already holds the object.
    assert_eq!(
        refusal(attach(&env, "R#1", "r.pdf", &form.key).await),
        UploadRefusal::AlreadyAttached
    );
    // After the file was replaced, the replaced object is gone: still refused.
    doc.content = Some(S3Object::from_bytes(b"%PDF new".to_vec(), "new.pdf"));
    env.client.save(&mut doc).await.unwrap();
    assert_eq!(
        refusal(attach(&env, "R#1", "r.pdf", &form.key).await),
        UploadRefusal::Missing
    );
}

#[tokio::test]
async fn an_upload_never_attached_is_swept_after_the_grace_period() {
    let env = env().await;
    let form = presign(&env, "N#1", "n.pdf", "application/pdf").await;
    let (status, _) = post(&form, vec![1; 100], &[]).await;
    assert!((200..300).contains(&status));

    let young = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!((young.too_young, young.deleted), (1, 0));
    assert_eq!(env.keys("company-docs").await, vec![form.key.clone()]);

    let old = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .delete()
        .await
        .unwrap();
    assert_eq!(old.deleted, 1, "{old:?}");
    assert!(env.keys("company-docs").await.is_empty());
    assert_eq!(
        refusal(attach(&env, "N#1", "n.pdf", &form.key).await),
        UploadRefusal::Missing
    );
}

#[tokio::test]
async fn a_declared_size_and_sha256_are_enforced_by_s3_and_recorded() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let env = env().await;
    let test = "a_declared_size_and_sha256_are_enforced_by_s3_and_recorded";
    let data = dynox_tests::content(5_000, 3);
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data));
    let declared = DeclaredFile::new("d.pdf", "application/pdf")
        .size(data.len() as u64)
        .sha256(&sha256);
    let form = presign_declared(&env, "D#1", declared).await;
    assert_eq!(form.size_range, (5_000, 5_000));
    assert_eq!(form.sha256.as_deref(), Some(sha256.as_str()));

    // One byte short, or other bytes of the declared size: S3 stores nothing.
    let short = post(&form, data[..4_999].to_vec(), &[]).await;
    let mut other = data.clone();
    other[10] ^= 1;
    if s3_refused(&env, test, short).is_none() {
        // A server that stores what it should have refused: the declared SHA-256 the item
        // records still refuses the bytes on every download.
        let (status, body) = post(&form, other, &[]).await;
        assert!((200..300).contains(&status), "{status} {body}");
        let file = attach(&env, "D#1", "d.pdf", &form.key).await.unwrap();
        assert_eq!(file.sha256(), Some(sha256.as_str()));
        let error = file.get_bytes(&env.client).await.unwrap_err();
        assert!(
            matches!(
                error,
                dynox_core::Error::S3(S3Error::ChecksumMismatch { .. })
            ),
            "{error:?}"
        );
    } else {
        assert!(s3_refused(&env, test, post(&form, other, &[]).await).is_some());
        if !env.keys("company-docs").await.is_empty() {
            // Real S3 stores nothing it refused; s3s-fs writes the bytes before checking
            // them, then stores no metadata. attach refuses what S3 said it refused.
            dynox_tests::capability_note(
                &env.backend,
                test,
                "this S3 server keeps the bytes of an upload it refused for its checksum (BadDigest); attach refuses them",
            );
            assert_eq!(
                refusal(attach(&env, "D#1", "d.pdf", &form.key).await),
                UploadRefusal::NotADirectUpload
            );
        }
    }

    let (status, body) = post(&form, data.clone(), &[]).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let strict = rules().require_sha256();
    let file = attach_under(&env, "D#1", "d.pdf", &form.key, &strict)
        .await
        .unwrap();
    assert_eq!(file.sha256(), Some(sha256.as_str()));
}

#[tokio::test]
async fn declarations_the_rules_do_not_allow_are_refused_before_presigning() {
    let env = env().await;
    let presign = |file: DeclaredFile, rules: UploadRules| {
        let client = env.client.clone();
        async move {
            let result = dynox_s3::presign_upload(
                &client,
                Document::key_of("X#1", "v1"),
                Document::fields().content,
                &file,
                &rules,
            )
            .await;
            match result {
                Err(dynox_core::Error::S3(S3Error::UploadRefused { reason, .. })) => *reason,
                other => panic!("{other:?}"),
            }
        }
    };
    let pdf = || DeclaredFile::new("x.pdf", "application/pdf");
    assert_eq!(
        presign(pdf().size(64 * 1024 + 1), rules()).await,
        UploadRefusal::TooLarge {
            size: 64 * 1024 + 1,
            max: 64 * 1024
        }
    );
    assert_eq!(
        presign(pdf().size(0), rules()).await,
        UploadRefusal::TooSmall { size: 0, min: 1 }
    );
    assert_eq!(
        presign(pdf().sha256("not base64 of 32 bytes"), rules()).await,
        UploadRefusal::InvalidChecksum
    );
    assert_eq!(
        presign(pdf(), rules().require_sha256()).await,
        UploadRefusal::NoChecksum
    );
}

#[tokio::test]
async fn attach_refuses_an_upload_without_a_checksum_when_the_rules_require_one() {
    let env = env().await;
    let form = presign(&env, "C#1", "c.pdf", "application/pdf").await;
    let (status, _) = post(&form, vec![1; 100], &[]).await;
    assert!((200..300).contains(&status));
    let strict = rules().require_sha256();
    let result = attach_under(&env, "C#1", "c.pdf", &form.key, &strict).await;
    assert_eq!(refusal(result), UploadRefusal::NoChecksum);
}

#[tokio::test]
async fn replays_racing_each_other_store_one_item_and_lose_no_object() {
    let env = env().await;
    let form = presign(&env, "RACE#1", "r.pdf", "application/pdf").await;
    let data = dynox_tests::content(300, 5);
    let (status, _) = post(&form, data.clone(), &[]).await;
    assert!((200..300).contains(&status));
    // Both attaches pass their checks before either item is written.
    let first = attach(&env, "RACE#1", "r.pdf", &form.key).await.unwrap();
    let second = attach(&env, "RACE#1", "r.pdf", &form.key).await.unwrap();
    let doc = |file: S3Object| Document {
        pk: "RACE#1".into(),
        sk: "v1".into(),
        content: Some(file),
    };
    let (mut a, mut b) = (doc(first), doc(second));
    let (of_a, of_b) = tokio::join!(env.client.create(&mut a), env.other.create(&mut b));
    // Exactly one create stores the item; the refused one removes nothing it did not upload.
    assert!(of_a.is_ok() != of_b.is_ok(), "{of_a:?} {of_b:?}");
    let a_won = of_a.is_ok();
    let refused = of_a.err().or(of_b.err()).unwrap();
    assert!(refused.is_condition_failed(), "{refused:?}");
    assert_eq!(env.keys("company-docs").await, vec![form.key.clone()]);
    assert_eq!(stored_bytes(&env, "RACE#1").await, data);

    // The loser saving its value again (a plain save) rewrites the same reference and
    // removes nothing.
    let (loser, client) = if a_won {
        (&mut b, &env.other)
    } else {
        (&mut a, &env.client)
    };
    client.save(loser).await.unwrap();
    assert_eq!(env.keys("company-docs").await, vec![form.key.clone()]);
    let loaded = Document::get(&env.client, "RACE#1", "v1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.content.unwrap().key(), Some(form.key.as_str()));
}
