//! Extractors that answer in our error shape: definitions as JSON or YAML, queries, paths, and
//! the audit context of a request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::db::audit::AuditContext;
use crate::project::Project;
use indexmap::IndexMap;

/// The principal of a request, inserted into request extensions by the auth layer.
#[derive(Debug, Clone)]
pub struct Principal {
    /// How the audit log names them (email, `token:<name>:<id>`).
    pub name: String,
    /// The user (JWT `sub`); none for API tokens.
    pub user_id: Option<uuid::Uuid>,
    /// The built-in session; none for API tokens and Supabase tokens without one.
    pub session_id: Option<uuid::Uuid>,
}

/// The `x-request-id` a client sent, taken off the request by [`take_client_request_id`] so the
/// server's own id replaces it; audit rows keep it as `client_request_id`.
#[derive(Debug, Clone)]
pub struct ClientRequestId(pub String);

/// Longest client request id kept, in bytes.
pub const CLIENT_REQUEST_ID_LIMIT: usize = 128;

/// Middleware (outside the request-id layer): moves the client's `x-request-id` into
/// [`ClientRequestId`], so the id that audit rows, logs and the response carry is always one the
/// server made.
pub async fn take_client_request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let sent: Vec<String> = req
        .headers_mut()
        .remove("x-request-id")
        .into_iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    if let Some(id) = sent.first().filter(|s| !s.is_empty()) {
        let kept = crate::db::audit::truncate(id, CLIENT_REQUEST_ID_LIMIT).into_owned();
        req.extensions_mut().insert(ClientRequestId(kept));
    }
    next.run(req).await
}

/// Who is acting, from where, under which request id.
pub struct Audit(pub AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let actor = parts
            .extensions
            .get::<Principal>()
            .map_or_else(|| "system".to_owned(), |p| p.name.clone());
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The resolved client (trusted proxies honoured), else the TCP peer.
        let client_ip = parts
            .extensions
            .get::<super::client_ip::ClientIp>()
            .map(|c| c.0.to_string())
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_string())
            });
        let client_request_id = parts
            .extensions
            .get::<ClientRequestId>()
            .map(|c| c.0.clone());
        Ok(Self(AuditContext {
            actor,
            request_id,
            client_ip,
            client_request_id,
        }))
    }
}

/// A service's project as sent: a definition document (`application/json`, or
/// `application/yaml`, also `text/yaml`, `application/x-yaml`), optionally with `files:
/// {path: content}`; or `multipart/form-data` with a part `compose` (the YAML or JSON), an
/// optional part `name`, and one part per file named by its path in the project directory.
/// Validation happens in `ops` (interpolation needs the files), every problem reported.
pub struct ProjectBody(pub Project, pub FilesSent);

/// Whether a request sent project files (multipart, or a `files` key): a `PUT` that sent none
/// keeps the service's current files instead of removing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesSent(pub bool);

/// Decodes a JSON or YAML body into an untyped document.
pub fn decode_document(content_type: &str, bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" | "" => serde_json::from_slice(bytes).map_err(ApiError::malformed),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => {
            crate::spec::yaml_document(bytes).map_err(|e| {
                // Well-formed YAML with an integer beyond 128 bits: the document parses, SDMD
                // cannot hold the value (JSON bodies read such numbers as floats).
                if e.contains("invalid type: integer `")
                    && (e.contains("as u128") || e.contains("as i128"))
                {
                    crate::error::Error::Invalid(vec![crate::spec::Problem {
                        field: "(document)".into(),
                        message: format!(
                            "has an integer SDMD cannot represent (more than 128 bits): {e}"
                        ),
                    }])
                    .into()
                } else {
                    ApiError::malformed(e)
                }
            })
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Send the definition as application/json, application/yaml or multipart/form-data, not {other}."
            ),
        )),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    crate::error::Error::Invalid(vec![crate::spec::Problem {
        field: field.into(),
        message: message.into(),
    }])
    .into()
}

/// Takes `files: {path: content}` out of a JSON/YAML document.
fn split_files(
    mut doc: serde_json::Value,
) -> Result<(serde_json::Value, IndexMap<String, Vec<u8>>), ApiError> {
    let mut files = IndexMap::new();
    if let Some(f) = doc.as_object_mut().and_then(|o| o.remove("files")) {
        let Some(map) = f.as_object() else {
            return Err(invalid("files", "must be a map of path to text content"));
        };
        for (path, content) in map {
            let Some(text) = content.as_str() else {
                return Err(invalid(&format!("files.{path}"), "must be text"));
            };
            files.insert(path.clone(), text.as_bytes().to_vec());
        }
    }
    Ok((doc, files))
}

async fn multipart_project<S: Send + Sync>(req: Request, state: &S) -> Result<Project, ApiError> {
    let mut mp = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut parts = ProjectParts::default();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| ApiError::malformed(e.body_text()))?
    {
        let part = field.name().unwrap_or_default().to_owned();
        let ct = field.content_type().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::malformed(e.body_text()))?;
        parts.add(&part, ct, &file_name, bytes.to_vec())?;
    }
    parts.into_project()
}

/// The parts of a multipart project body, as they arrive.
#[derive(Default)]
struct ProjectParts {
    /// The compose document: its media type and bytes.
    compose: Option<(String, Vec<u8>)>,
    /// The `name` part.
    name: Option<String>,
    /// Every other part: a project file by its path.
    files: IndexMap<String, Vec<u8>>,
}

impl ProjectParts {
    fn add(
        &mut self,
        part: &str,
        ct: String,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ApiError> {
        match part {
            "compose" => self.compose = Some((compose_type(ct, file_name), bytes)),
            "name" => self.name = Some(String::from_utf8_lossy(&bytes).trim().to_owned()),
            "" => {
                return Err(invalid(
                    "files",
                    "every multipart part needs a name (its path)",
                ));
            }
            path => {
                if self.files.insert(path.to_owned(), bytes).is_some() {
                    return Err(invalid(&format!("files.{path}"), "is sent twice"));
                }
            }
        }
        Ok(())
    }

    /// The project: the document (with `name` when it has none) and its files, the parts
    /// before the document's own `files`.
    fn into_project(self) -> Result<Project, ApiError> {
        let Some((ct, bytes)) = self.compose else {
            return Err(invalid(
                "compose",
                "the multipart body needs a part `compose` with the compose file",
            ));
        };
        let (mut source, more) = split_files(decode_document(&ct, &bytes)?)?;
        let mut files = self.files;
        for (p, c) in more {
            files.entry(p).or_insert(c);
        }
        if let Some(n) = self.name
            && let Some(o) = source.as_object_mut()
        {
            o.entry("name").or_insert(serde_json::Value::String(n));
        }
        Ok(Project { source, files })
    }
}

/// The media type of the `compose` part: a generic one is read from the file name (`.json` is
/// JSON, anything else YAML).
fn compose_type(ct: String, file_name: &str) -> String {
    if ct.is_empty() || ct == "application/octet-stream" || ct == "text/plain" {
        if file_name.ends_with(".json") {
            "application/json"
        } else {
            "application/yaml"
        }
        .to_owned()
    } else {
        ct
    }
}

impl<S: Send + Sync> FromRequest<S> for ProjectBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
            return multipart_project(req, state)
                .await
                .map(|p| Self(p, FilesSent(true)));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                ApiError::new(
                    e.status(),
                    "body_unreadable",
                    "The request body could not be read.",
                )
                .with_details(e.body_text().into())
            })?;
        let doc = decode_document(&ct, &bytes)?;
        let sent = doc.get("files").is_some();
        let (source, files) = split_files(doc)?;
        Ok(Self(Project { source, files }, FilesSent(sent)))
    }
}

/// `Query` that rejects with our error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "The query string is invalid.",
                )
                .with_details(e.body_text().into())
            })
    }
}

/// `Json` body that rejects with our error shape.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|j| Self(j.0))
            .map_err(|e| match e {
                axum::extract::rejection::JsonRejection::MissingJsonContentType(_) => {
                    ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "Send the body as application/json.",
                    )
                }
                axum::extract::rejection::JsonRejection::JsonDataError(d) => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "The body does not have the expected shape.",
                )
                .with_details(d.body_text().into()),
                other => ApiError::malformed(other.body_text()),
            })
    }
}

/// `Path` that rejects with our error shape.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    "The URL path is invalid.",
                )
                .with_details(e.body_text().into())
            })
    }
}
