//! One table shared with pydynox 1.8.0 (Python), as a team moving to Rust runs it for a
//! while: each side saves, the other reads, downloads, replaces, clears and deletes, and both
//! stores are checked after each step. pydynox runs as a subprocess
//! (`tests/interop/pydynox_agent.py`, what it writes: `tests/interop/NOTES.md`) with the
//! Python that `DYNOX_PYDYNOX_PYTHON` names (`scripts/test` makes `.venv-pydynox` and sets it);
//! unset, the test notes that it did not run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_core::DynamoModel;
use dynox_local::Server;
use dynox_s3::{S3Object, S3Settings};
use dynox_tests::{capability_note, file_env, FileEnv};
use serde_json::Value;

/// The model pydynox's agent declares: hash key `pk`, a string, a file under `files/`.
#[derive(Debug, DynamoModel)]
#[dynamo(table = "interop_docs")]
struct Doc {
    #[dynamo(hash_key)]
    pk: String,
    title: String,
    #[s3(bucket = "interop", prefix = "files/")]
    doc: Option<S3Object>,
}

/// pydynox, driven one command at a time.
struct Pydynox<'a> {
    python: String,
    env: &'a FileEnv,
    dynamodb: String,
    s3: String,
    dir: tempfile::TempDir,
}

impl Pydynox<'_> {
    /// Runs `args`; the JSON it printed, or a panic naming the command and pydynox's error.
    fn run(&self, args: &[&str]) -> Value {
        let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/pydynox_agent.py");
        let region = self
            .env
            .backend
            .sdk_config()
            .region()
            .map(|r| r.to_string());
        // The credentials dynox's own clients use (the environment's, else dynox-local's).
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        let output = Command::new(&self.python)
            .arg(agent)
            .args(["--table", &self.env.client.table_name::<Doc>()])
            .args(["--bucket", self.env.bucket("interop"), "--prefix", "files"])
            .args(args)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.dynamodb)
            .env("AWS_ENDPOINT_URL_S3", &self.s3)
            .env(
                "AWS_REGION",
                region.unwrap_or_else(|| dynox_local::REGION.into()),
            )
            .env(
                "AWS_ACCESS_KEY_ID",
                var("AWS_ACCESS_KEY_ID", dynox_local::ACCESS_KEY_ID),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                var("AWS_SECRET_ACCESS_KEY", dynox_local::SECRET_ACCESS_KEY),
            )
            .output()
            .expect("start the pydynox agent");
        assert!(
            output.status.success(),
            "pydynox {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the agent prints JSON")
    }

    /// A local file holding `content`, for pydynox to upload.
    fn file(&self, name: &str, content: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// What pydynox downloads for `pk`.
    fn download(&self, pk: &str) -> Vec<u8> {
        let out = self.dir.path().join(format!("{pk}.out"));
        self.run(&["download", pk, &out.to_string_lossy()]);
        std::fs::read(out).unwrap()
    }

    /// The file metadata pydynox reads for `pk` (`Null` when the item has no file).
    fn file_of(&self, pk: &str) -> Value {
        self.run(&["get", pk])["item"]["doc"].clone()
    }
}

/// The endpoint of a server, for the agent; `None` for AWS itself.
fn endpoint(server: &Server, embedded: impl FnOnce() -> String) -> Option<String> {
    match server {
        Server::Embedded => Some(embedded()),
        Server::Endpoint(url) => Some(url.clone()),
        _ => None,
    }
}

async fn keys(env: &FileEnv) -> Vec<String> {
    let mut keys = env.keys("interop").await;
    keys.sort();
    keys
}

async fn raw_doc(env: &FileEnv, pk: &str) -> Option<AttributeValue> {
    let item = dynox_tests::raw_item(&env.client, Doc::key_of(pk)).await;
    item.expect("the item exists").remove("doc")
}

#[tokio::test]
async fn dynox_and_pydynox_share_a_table_and_its_files() {
    let env = file_env::<Doc>(&["interop"], S3Settings::default()).await;
    let test = "dynox_and_pydynox_share_a_table_and_its_files";
    let Ok(python) = std::env::var("DYNOX_PYDYNOX_PYTHON") else {
        capability_note(
            &env.backend,
            test,
            "DYNOX_PYDYNOX_PYTHON is unset: pydynox not run",
        );
        return;
    };
    let servers = || dynox_local::shared().expect("the embedded servers");
    let (Some(dynamodb), Some(s3)) = (
        endpoint(env.backend.dynamodb_server(), || {
            servers().dynamodb_endpoint()
        }),
        endpoint(env.backend.s3_server(), || servers().s3_endpoint()),
    ) else {
        capability_note(&env.backend, test, "no local endpoint to give pydynox");
        return;
    };
    let py = Pydynox {
        python,
        env: &env,
        dynamodb,
        s3,
        dir: tempfile::tempdir().unwrap(),
    };
    let client = &env.client;

    // pydynox saves; dynox reads it (bare ETag read quoted, the name from the key), downloads
    // it (checked by size, ETag and S3's own checksum), and replaces it: the old object goes.
    py.run(&[
        "save",
        "P#1",
        "from python",
        &py.file("p1.txt", b"written by pydynox"),
    ]);
    let p1_key = py.file_of("P#1")["key"].as_str().unwrap().to_owned();
    let got = Doc::get(client, "P#1")
        .await
        .unwrap()
        .expect("dynox reads P#1");
    assert_eq!(got.title, "from python");
    let file = got.doc.as_ref().expect("a file");
    assert_eq!(file.file_name(), "p1.txt");
    assert!(file.etag().unwrap().starts_with('"'), "{:?}", file.etag());
    assert_eq!(file.get_bytes(client).await.unwrap(), "written by pydynox");
    let mut replaced = got;
    replaced.doc = Some(S3Object::from_bytes("replaced by dynox", "r.txt"));
    client.save(&mut replaced).await.unwrap();
    assert_eq!(py.download("P#1"), b"replaced by dynox");
    assert!(!keys(&env).await.contains(&p1_key), "the old object goes");

    // pydynox saves; dynox clears it (the file stays, marked kept) and deletes another.
    py.run(&[
        "save",
        "P#2",
        "to clear",
        &py.file("p2.txt", b"cleared by dynox"),
    ]);
    py.run(&[
        "save",
        "P#3",
        "to delete",
        &py.file("p3.txt", b"deleted by dynox"),
    ]);
    let (p2_key, p3_key) = (
        py.file_of("P#2")["key"].as_str().unwrap().to_owned(),
        py.file_of("P#3")["key"].as_str().unwrap().to_owned(),
    );
    let mut p2 = Doc::get(client, "P#2").await.unwrap().unwrap();
    p2.doc = None;
    client.save(&mut p2).await.unwrap();
    assert_eq!(py.file_of("P#2"), Value::Null, "pydynox reads the clear");
    Doc::delete(client, "P#3").await.unwrap();
    assert_eq!(py.run(&["get", "P#3"])["item"], Value::Null);
    let after = keys(&env).await;
    assert!(after.contains(&p2_key), "a cleared file stays: {after:?}");
    assert!(
        !after.contains(&p3_key),
        "a deleted item's file goes: {after:?}"
    );

    // dynox saves; pydynox reads and downloads it, replaces one, clears one, deletes one.
    let mut saved = Vec::new();
    for pk in ["D#1", "D#2", "D#3", "D#4"] {
        let mut d = Doc {
            pk: pk.into(),
            title: "from rust".into(),
            doc: Some(S3Object::from_bytes(
                format!("written by dynox: {pk}"),
                "d.txt",
            )),
        };
        client.save(&mut d).await.unwrap();
        saved.push(d.doc.as_ref().unwrap().key().unwrap().to_owned());
    }
    let seen = py.file_of("D#1");
    assert_eq!(seen["key"], saved[0].as_str());
    assert_eq!(seen["size"], "written by dynox: D#1".len());
    assert_eq!(py.download("D#1"), b"written by dynox: D#1");
    py.run(&["replace", "D#2", &py.file("d2.txt", b"replaced by pydynox")]);
    let d2 = Doc::get(client, "D#2").await.unwrap().unwrap();
    assert_eq!(
        d2.doc.unwrap().get_bytes(client).await.unwrap(),
        "replaced by pydynox"
    );
    py.run(&["clear", "D#3"]);
    assert_eq!(
        raw_doc(&env, "D#3").await,
        Some(AttributeValue::Null(true)),
        "pydynox clears to NULL"
    );
    assert!(Doc::get(client, "D#3")
        .await
        .unwrap()
        .unwrap()
        .doc
        .is_none());
    py.run(&["delete", "D#4"]);
    assert_eq!(Doc::get(client, "D#4").await.unwrap().map(|d| d.pk), None);
    let after = keys(&env).await;
    assert!(
        !after.contains(&saved[3]),
        "pydynox deletes the file: {after:?}"
    );

    // The sweep keeps what pydynox cleared (as both libraries promise) and collects the
    // dynox object pydynox's replace left behind; pydynox's own objects carry no dynox owner
    // and are never touched.
    let report = dynox_s3::sweep::<Doc>(client)
        .as_of(SystemTime::now() + Duration::from_secs(48 * 3600))
        .delete()
        .await
        .unwrap();
    assert_eq!((report.cleared, report.deleted), (1, 1), "{report}");
    let after = keys(&env).await;
    assert!(
        after.contains(&saved[2]),
        "D#3's cleared file stays: {after:?}"
    );
    assert!(
        !after.contains(&saved[1]),
        "D#2's replaced file goes: {after:?}"
    );
    assert!(
        after.contains(&p2_key),
        "P#2's cleared file stays: {after:?}"
    );
    assert_eq!(py.download("D#1"), b"written by dynox: D#1");
}
