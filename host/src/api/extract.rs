//! Extractors that answer in our error shape: definitions as JSON or YAML, queries, paths, and
//! the audit context of a request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::db::audit::AuditContext;
use crate::spec::Definition;

/// The principal of a request, inserted into request extensions by the auth layer.
#[derive(Debug, Clone)]
pub struct Principal {
    /// How the audit log names them (email, `token:<name>`).
    pub name: String,
    /// The user (JWT `sub`); none for API tokens.
    pub user_id: Option<uuid::Uuid>,
    /// The built-in session; none for API tokens and Supabase tokens without one.
    pub session_id: Option<uuid::Uuid>,
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
        Ok(Self(AuditContext {
            actor,
            request_id,
            client_ip,
        }))
    }
}

/// A definition document: `application/json`, or `application/yaml` (also `text/yaml`,
/// `application/x-yaml`), validated with every problem reported.
pub struct DefinitionBody(pub Definition);

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
            crate::spec::yaml_document(bytes).map_err(ApiError::malformed)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Send the definition as application/json or application/yaml, not {other}."),
        )),
    }
}

impl<S: Send + Sync> FromRequest<S> for DefinitionBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
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
        crate::spec::parse(&doc)
            .map(Self)
            .map_err(|p| crate::error::Error::Invalid(p).into())
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
