//! The documents web app: a page that lists documents (from the table alone), uploads a file
//! from the browser straight to S3 with a presigned POST form and a progress bar, attaches it
//! to a new item, downloads through a presigned GET link and deletes. The application server
//! never carries file bytes: it signs forms and links, checks what arrived, and writes items.
//!
//! [`router`] is the whole app; the `web` binary serves it on 127.0.0.1 with the embedded
//! servers, and `tests/integration/browser.rs` drives it in headless Chromium.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dynox::s3::{DeclaredFile, S3Error, S3Object, UploadRefusal, UploadRules};
use dynox::{Client, DynamoModel};
use serde::{Deserialize, Serialize};

/// A document: a title and its file, kept in S3.
#[derive(Debug, Clone, DynamoModel)]
#[dynamo(table = "web-documents")]
pub struct Document {
    /// A random id the server gives when the upload starts.
    #[dynamo(hash_key)]
    pub id: String,
    /// What the user called it.
    pub title: String,
    /// When it was attached, in seconds since the Unix epoch.
    pub created: u64,
    /// The file: uploaded by the browser, attached after checks. Once its document is
    /// deleted it stays readable for ten minutes ([`RETENTION`]), longer than the five of the
    /// links the page hands out, so no link stops working early; a sweep removes it after.
    #[s3(bucket = "web-documents", prefix = "documents/", retain = "10m")]
    pub file: S3Object,
}

/// How long a deleted document's file stays readable: the field's `retain = "10m"`.
pub const RETENTION: Duration = Duration::from_secs(600);

/// The page, with its script and styles.
const PAGE: &str = include_str!("page.html");

/// The bucket CORS rule a page served from `origin` needs to POST uploads to the bucket and
/// fetch downloads from it.
pub fn cors_for(origin: &str) -> dynox::aws_sdk_s3::types::CorsConfiguration {
    let rule = dynox::aws_sdk_s3::types::CorsRule::builder()
        .allowed_origins(origin)
        .allowed_methods("POST")
        .allowed_methods("GET")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(600)
        .build()
        .expect("origins and methods are set");
    dynox::aws_sdk_s3::types::CorsConfiguration::builder()
        .cors_rules(rule)
        .build()
        .expect("a rule is set")
}

/// What browsers may upload: at most 100 MiB, of these types, with their SHA-256 declared.
pub fn upload_rules() -> UploadRules {
    UploadRules::new(100 << 20)
        .min_size(1)
        .require_sha256()
        .content_types([
            "application/pdf",
            "image/*",
            "text/plain",
            "text/csv",
            "application/json",
            "application/zip",
        ])
}

#[derive(Clone)]
struct App {
    client: Client,
    rules: UploadRules,
}

/// The app's routes over `client` (whose settings map the `web-documents` bucket).
pub fn router(client: Client) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/documents", get(list).post(attach))
        .route("/api/uploads", post(start_upload))
        .route(
            "/api/documents/{id}",
            axum::routing::delete(delete_document),
        )
        .route("/api/documents/{id}/file", get(download))
        .with_state(App {
            client,
            rules: upload_rules(),
        })
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// A document as the page shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Listed {
    /// The item's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The file's name.
    pub file_name: String,
    /// The file's content type.
    pub content_type: String,
    /// The file's size in bytes.
    pub size: u64,
    /// When it was attached (seconds since the Unix epoch).
    pub created: u64,
}

impl From<&Document> for Listed {
    fn from(doc: &Document) -> Self {
        Self {
            id: doc.id.clone(),
            title: doc.title.clone(),
            file_name: doc.file.file_name().to_owned(),
            content_type: doc.file.content_type().unwrap_or_default().to_owned(),
            size: doc.file.size().unwrap_or_default(),
            created: doc.created,
        }
    }
}

/// Every document, newest first: one scan of the table, no S3 request.
async fn list(State(app): State<App>) -> Result<Json<Vec<Listed>>, Failure> {
    let mut docs: Vec<Listed> = app
        .client
        .scan::<Document>()
        .all()
        .await?
        .iter()
        .map(Listed::from)
        .collect();
    docs.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    Ok(Json(docs))
}

/// What the page declares before uploading.
#[derive(Debug, Deserialize)]
struct UploadRequest {
    file_name: String,
    content_type: String,
    /// Its size: S3 accepts exactly this many bytes.
    size: u64,
    /// Its SHA-256, base64: S3 refuses other bytes, and every download is checked against it.
    sha256: String,
}

/// A form for one upload, for a new document id.
#[derive(Debug, Serialize)]
struct UploadForm {
    id: String,
    url: String,
    fields: Vec<(String, String)>,
    key: String,
}

async fn start_upload(
    State(app): State<App>,
    Json(request): Json<UploadRequest>,
) -> Result<Json<UploadForm>, Failure> {
    let id = format!("{:016x}", fastrand::u64(..));
    let form = dynox::s3::presign_upload(
        &app.client,
        Document::key_of(id.clone()),
        Document::fields().file,
        &DeclaredFile::new(&request.file_name, &request.content_type)
            .size(request.size)
            .sha256(request.sha256),
        &app.rules,
    )
    .await?;
    Ok(Json(UploadForm {
        id,
        url: form.url,
        fields: form.fields,
        key: form.key,
    }))
}

/// What the page sends once S3 has the file.
#[derive(Debug, Deserialize)]
struct AttachRequest {
    id: String,
    key: String,
    file_name: String,
    title: String,
}

/// Checks the upload and creates the document: refused (nothing written) when the upload
/// is not what this id's form allowed, or when the id already has a document.
async fn attach(
    State(app): State<App>,
    Json(request): Json<AttachRequest>,
) -> Result<(StatusCode, Json<Listed>), Failure> {
    let file = dynox::s3::attach(
        &app.client,
        Document::key_of(request.id.clone()),
        Document::fields().file,
        &request.file_name,
        &request.key,
        &app.rules,
    )
    .await?;
    let title = request.title.trim();
    let mut doc = Document {
        id: request.id,
        title: if title.is_empty() {
            request.file_name.clone()
        } else {
            title.chars().take(200).collect()
        },
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        file,
    };
    app.client.create(&mut doc).await?;
    Ok((StatusCode::CREATED, Json(Listed::from(&doc))))
}

/// A redirect to a presigned GET of the file, valid for five minutes.
async fn download(State(app): State<App>, Path(id): Path<String>) -> Result<Response, Failure> {
    let Some(doc) = Document::get(&app.client, id.clone()).await? else {
        return Err(Failure::not_found(&id));
    };
    let url = doc
        .file
        .presigned_url(&app.client, Duration::from_secs(300))
        .await?;
    Ok(Redirect::to(&url).into_response())
}

async fn delete_document(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    app.client.delete(Document::key_of(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An error as the page gets it: a status and a message.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn not_found(id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("no document `{id}`"),
        }
    }
}

impl From<S3Error> for Failure {
    fn from(error: S3Error) -> Self {
        let status = match &error {
            S3Error::UploadRefused { reason, .. } => match **reason {
                UploadRefusal::Missing => StatusCode::NOT_FOUND,
                UploadRefusal::AlreadyAttached => StatusCode::CONFLICT,
                UploadRefusal::NoCredentials => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            S3Error::InvalidKey { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl From<dynox::Error> for Failure {
    fn from(error: dynox::Error) -> Self {
        let status = if error.is_condition_failed() {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_GATEWAY
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": self.message }).to_string(),
        )
            .into_response()
    }
}
