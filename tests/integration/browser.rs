//! The documents web app (examples/documents_web) driven in headless Chromium through
//! WebDriver: choose a real file, upload it straight to S3 with the page's progress bar
//! reaching 100%, see it listed, download it through its link and compare bytes, delete it,
//! and check both stores directly at each step. A screenshot of the page is kept.
//!
//! Needs Debian's `chromium` and `chromium-driver`: in CI (`CI` set) their absence fails the
//! test; locally it is skipped with a note. The browser gets a proxy on a closed loopback port
//! for everything but loopback, and no background networking, so it reaches nothing beyond
//! 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use dynox_examples::documents_web::{cors_for, router, Document};
use dynox_s3::S3Settings;
use dynox_tests::{file_env, FileEnv};
use fantoccini::{ClientBuilder, Locator};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The first of `names` found on PATH.
fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// chromedriver on a port of its choosing, bound to loopback; killed on drop.
struct Driver {
    process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start(binary: &Path) -> Driver {
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let mut process = tokio::process::Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        // It says when it listens.
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        loop {
            match lines.next_line().await.expect("read chromedriver's output") {
                Some(line) if line.contains("started successfully") => break,
                Some(_) => continue,
                None => panic!("chromedriver exited before it was ready"),
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// The raw item of document `id`, if any.
async fn raw_item(
    env: &FileEnv,
    id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    dynox_tests::raw_item(&env.client, Document::key_of(id)).await
}

/// A CORS rule on the test's bucket for the app's origin, as the `web` example puts.
async fn allow_origin(env: &FileEnv, origin: &str) {
    env.s3
        .put_bucket_cors()
        .bucket(env.bucket("web-documents"))
        .cors_configuration(cors_for(origin))
        .send()
        .await
        .expect("a CORS rule for the app's origin");
}

#[tokio::test]
async fn the_documents_page_uploads_lists_downloads_and_deletes_in_a_real_browser() {
    let (Some(driver), Some(chromium)) = (
        find(&["chromedriver", "chromium-driver"]),
        find(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        let message = "headless Chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)";
        if std::env::var_os("CI").is_some() {
            panic!("{message}; .ci/run installs them");
        }
        eprintln!("NOTE: browser test skipped: {message}");
        dynox_tests::capability_note(
            &dynox_tests::backend().await,
            "the_documents_page_uploads_lists_downloads_and_deletes_in_a_real_browser",
            &format!("skipped locally: {message}"),
        );
        return;
    };
    let env = file_env::<Document>(&["web-documents"], S3Settings::default()).await;
    // The app, on a loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let app = router(env.client.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let s3_endpoint = match env.backend.s3_server() {
        // Answers browsers on loopback origins as a bucket CORS rule would.
        dynox_local::Server::Embedded => dynox_local::shared().unwrap().s3_endpoint(),
        dynox_local::Server::Endpoint(url) => {
            allow_origin(&env, &app_url).await;
            url.clone()
        }
        _ => {
            dynox_tests::capability_note(
                &env.backend,
                "the_documents_page_uploads_lists_downloads_and_deletes_in_a_real_browser",
                "not run against AWS: the browser is kept on loopback",
            );
            return;
        }
    };

    // A real file: 3 MiB, so the upload reports progress along the way.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quarterly report.pdf");
    let mut data = b"%PDF-1.7\n".to_vec();
    data.extend(dynox_tests::content(3 << 20, 42));
    std::fs::write(&path, &data).unwrap();
    let sha256: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let driver = Driver::start(&driver).await;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,820", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--metrics-recording-only",
                // Anything not on loopback goes to a closed loopback port.
                "--proxy-server=http://127.0.0.1:9",
            ],
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    browser.set_window_size(1200, 820).await.ok();

    browser.goto(&app_url).await.unwrap();
    browser.find(Locator::Id("empty")).await.unwrap();
    browser
        .find(Locator::Id("title"))
        .await
        .unwrap()
        .send_keys("Quarterly report")
        .await
        .unwrap();
    browser
        .find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    browser
        .find(Locator::Id("upload"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The page says how the upload ended: wait for that, without polling.
    let status = browser
        .execute_async(
            r#"const done = arguments[0];
               const status = document.getElementById("status");
               const ended = () => status.className === "error" || status.textContent.startsWith("Uploaded");
               if (ended()) { done(status.textContent); } else {
                 new MutationObserver((_, observer) => {
                   if (ended()) { observer.disconnect(); done(status.textContent); }
                 }).observe(status, { subtree: true, childList: true, characterData: true, attributes: true });
               }"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, serde_json::json!("Uploaded “Quarterly report”."));
    // Listed (the page refreshes the list right after).
    let row = browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#documents tr[data-title='Quarterly report']"))
        .await
        .unwrap_or_else(|e| panic!("the document was not listed: {e}"));
    let id = row.attr("data-id").await.unwrap().expect("a row id");

    // The progress bar reached 100%, through increasing progress events.
    let bar = browser
        .execute("return document.getElementById('progress').value;", vec![])
        .await
        .unwrap();
    assert_eq!(bar, serde_json::json!(100));
    let text = browser.find(Locator::Id("progress-text")).await.unwrap();
    assert_eq!(text.text().await.unwrap(), "100%");
    let events = browser
        .execute("return window.dynoxProgress;", vec![])
        .await
        .unwrap();
    let events: Vec<(u64, u64)> = serde_json::from_value(events).unwrap();
    assert!(!events.is_empty());
    let (last_loaded, total) = *events.last().unwrap();
    assert_eq!(last_loaded, total, "{events:?}");
    assert!(total >= data.len() as u64, "the form and the file: {total}");
    assert!(events.windows(2).all(|w| w[0].0 <= w[1].0), "{events:?}");

    // The screenshot a user would see: the bar at 100%, the status, the new row.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../target/browser/documents-{}.png",
        env.backend
            .name()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    ));
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    std::fs::write(&shot, browser.screenshot().await.unwrap()).unwrap();
    let shot = shot.canonicalize().unwrap();
    dynox_tests::capability_note(
        &env.backend,
        "the_documents_page_uploads_lists_downloads_and_deletes_in_a_real_browser",
        &format!("screenshot of the page kept at {}", shot.display()),
    );

    // Both stores: the item references the object S3 holds, with its size and type.
    let item = raw_item(&env, &id).await.expect("the item");
    let Some(AttributeValue::M(file)) = item.get("file") else {
        panic!("no file attribute: {item:?}");
    };
    let Some(AttributeValue::S(key)) = file.get("key") else {
        panic!("no key: {file:?}");
    };
    // The page declared the SHA-256; S3 checked it and the item records it.
    use base64::Engine;
    let declared = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data));
    assert_eq!(file.get("sha256"), Some(&AttributeValue::S(declared)));
    let head = env
        .s3
        .head_object()
        .bucket(env.bucket("web-documents"))
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length, Some(data.len() as i64));
    assert_eq!(head.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(env.keys("web-documents").await, vec![key.clone()]);

    // From here to the delete the app's S3 client sends nothing: a fresh load of the page
    // lists from the table alone, and the download goes from S3 to the browser.
    env.log.clear();
    browser.refresh().await.unwrap();
    let row = browser
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#documents tr[data-title='Quarterly report']"))
        .await
        .unwrap();

    // The app only redirects to S3: the bytes never pass through it.
    let link = row
        .find(Locator::Css("a.download"))
        .await
        .unwrap()
        .prop("href")
        .await
        .unwrap()
        .unwrap();
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&link)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status().as_u16(), 303);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&s3_endpoint), "{location}");

    // Downloaded by the browser through the link, hashed there.
    let downloaded = browser
        .execute_async(
            r#"const [href, done] = arguments;
               fetch(href)
                 .then((r) => r.ok ? r.arrayBuffer() : Promise.reject(new Error("HTTP " + r.status)))
                 .then((bytes) => crypto.subtle.digest("SHA-256", bytes))
                 .then((digest) => done(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")))
                 .catch((e) => done("failed: " + e.message));"#,
            vec![serde_json::json!(link)],
        )
        .await
        .unwrap();
    assert_eq!(downloaded.as_str(), Some(sha256.as_str()));
    // The log also shows the links the app presigned (locally: their signature is in the
    // query); nothing else.
    let log = env.log.requests();
    let presigned = log
        .iter()
        .filter(|r| r.contains("X-Amz-Signature="))
        .count();
    assert_eq!(presigned, 2, "one link for each download: {log:?}");
    assert_eq!(log.len(), presigned, "the app sent S3 requests: {log:?}");

    // Delete: the row goes, then the item and the object.
    row.find(Locator::Css("button.delete"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let gone = browser
        .execute_async(
            r#"const [id, done] = arguments;
               const gone = () => !document.querySelector(`tr[data-id="${id}"]`)
                 && document.getElementById("status").textContent === "Deleted.";
               if (gone()) { done(true); } else {
                 new MutationObserver((_, observer) => {
                   if (gone()) { observer.disconnect(); done(true); }
                 }).observe(document.body, { subtree: true, childList: true, characterData: true });
               }"#,
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
    assert_eq!(gone, serde_json::json!(true));
    assert!(raw_item(&env, &id).await.is_none());
    // The file outlives the links handed out before the delete (the field's retention is
    // longer than their five minutes): the one the app redirected to still downloads.
    let late = reqwest::get(&location).await.unwrap();
    assert!(late.status().is_success(), "{}", late.status());
    assert_eq!(late.bytes().await.unwrap().as_ref(), data.as_slice());
    let left = env.keys("web-documents").await;
    assert_eq!(left.len(), 2, "the file and its retention mark: {left:?}");
    assert!(left[1].starts_with(&format!("{key}{}", dynox_s3::RETAIN_INFIX)));
    // A sweep after the retention removes both.
    let report = dynox_s3::sweep::<Document>(&env.client)
        .grace(Duration::ZERO)
        .as_of(
            std::time::SystemTime::now()
                + dynox_examples::documents_web::RETENTION
                + Duration::from_secs(2),
        )
        .delete()
        .await
        .unwrap();
    assert_eq!(report.deleted, 2, "{report}");
    assert!(env.keys("web-documents").await.is_empty());
    assert!(browser
        .find(Locator::Css("#empty:not([hidden])"))
        .await
        .is_ok());

    // Ending the session is teardown, not behaviour under test: chromedriver can
    // answer it with an error while Chromium shuts down on a loaded machine, and
    // dropping `Driver` stops chromedriver either way.
    if let Err(error) = browser.close().await {
        eprintln!("NOTE: closing the browser session failed after every check passed: {error}");
    }
}
