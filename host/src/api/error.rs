//! `ApiError`: every failure answers `{"code", "message", "details"}` with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::docker::DockerError;
use crate::error::Error;

/// The error body of every route.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code to branch on.
    pub code: String,
    /// For humans.
    pub message: String,
    /// Technical details (validation problems, the engine's message, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                details: None,
            },
        }
    }

    /// Adds technical details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.body.details = Some(details);
        self
    }

    /// 400 for a body that is not valid JSON/YAML.
    pub fn malformed(details: impl ToString) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "The request body could not be parsed.",
        )
        .with_details(serde_json::Value::String(details.to_string()))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = crate::ops::code_of(&e);
        let message = e.to_string();
        match e {
            Error::ServiceNotFound(_) => Self::new(StatusCode::NOT_FOUND, code, message),
            Error::Invalid(problems) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                .with_details(serde_json::to_value(problems).unwrap_or_default()),
            Error::WouldLose(lost) => {
                let lost: Vec<super::types::services::LostSetting> =
                    lost.into_iter().map(Into::into).collect();
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                    .with_details(serde_json::to_value(lost).unwrap_or_default())
            }
            Error::NameTaken(_) | Error::AlreadyManaged(_) => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            Error::NameInUseUnmanaged {
                ref kind,
                ref id,
                ref containers,
                ..
            } => {
                let details = serde_json::json!({
                    "kind": kind,
                    "id": id,
                    "containers": containers,
                    "adopt": format!("/api/v1/services/{id}/adopt"),
                });
                Self::new(StatusCode::CONFLICT, code, message).with_details(details)
            }
            Error::Policy(problems) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                .with_details(serde_json::to_value(problems).unwrap_or_default()),
            Error::HookFailed {
                ref member,
                hook,
                index,
                exit_code,
                ref output,
            } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_details(
                serde_json::json!({
                    "member": member,
                    "hook": hook,
                    "index": index,
                    "exit_code": exit_code,
                    "output": output,
                }),
            ),
            Error::Unmanaged(_) | Error::DependencyNotReady { .. } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            Error::Docker(DockerError::Unavailable(d)) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "Docker is unavailable; retry shortly.",
            )
            .with_details(d.into()),
            Error::Docker(DockerError::NotFound(d)) => Self::new(
                StatusCode::NOT_FOUND,
                code,
                "Docker does not know that object.",
            )
            .with_details(d.into()),
            Error::Docker(DockerError::Conflict(d)) => {
                let message = if d.contains("port is already allocated")
                    || d.contains("address already in use")
                {
                    "A host port of this service is already in use."
                } else if d.contains("is already in use by container") {
                    "A container name of this service is already in use."
                } else {
                    "Docker refused because of a conflict."
                };
                Self::new(StatusCode::CONFLICT, code, message).with_details(d.into())
            }
            // Docker's 400: the definition asks for something the engine refuses (no command,
            // an invalid mount, …). The user's input, so 422 with the engine's words.
            Error::Docker(DockerError::Rejected(d)) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "Docker rejected the definition; details has the engine's message.",
            )
            .with_details(d.into()),
            Error::Docker(DockerError::Other(d)) => {
                Self::new(StatusCode::BAD_GATEWAY, code, "Docker reported an error.")
                    .with_details(d.into())
            }
            Error::RegistryNotFound(_) | Error::TemplateNotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, code, message)
            }
            // The host's files refused (permissions, a read-only file system): its state, not
            // the request, is in the way.
            Error::HostFiles { path, message: why } => Self::new(
                StatusCode::CONFLICT,
                code,
                format!("The host refused a file operation on {path}: {why}"),
            )
            .with_details(serde_json::json!({"path": path, "message": why})),
            // An upstream the administrator named (a catalog URL) did not answer as it should.
            Error::TemplateSource {
                source_url,
                message: why,
            } => Self::new(
                StatusCode::BAD_GATEWAY,
                code,
                format!("The template catalog could not be read: {why}"),
            )
            .with_details(serde_json::json!({"source": source_url})),
            Error::Secret(d) => {
                tracing::error!(error = %d, "stored secret unavailable");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "A stored secret could not be used; check SDMD_SECRET_KEY.",
                )
            }
            Error::Database(db) => match crate::db::classify(&db) {
                crate::db::Failure::Unavailable => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "The database is unavailable; retry shortly.",
                ),
                // 22021 character_not_in_repertoire: a value with a NUL character, which
                // PostgreSQL text cannot hold. The input's fault, never a 500.
                crate::db::Failure::UnstorableText => Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    "A value contains a character that cannot be stored (NUL).",
                ),
                crate::db::Failure::Other => {
                    // Logged in full here; the client gets the kind, not the SQL.
                    tracing::error!(error = %db, "database error");
                    Self::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "An internal error occurred.",
                    )
                }
            },
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Error::Database(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        // Let the logging middleware see 5xx causes without the body being logged twice.
        resp.extensions_mut().insert(ErrorLogged);
        resp
    }
}

/// Marker on responses produced from an [`ApiError`].
#[derive(Clone, Copy)]
pub struct ErrorLogged;

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's 400 is the definition's fault (422 with Docker's words); its 500 stays an
    /// upstream fault (502); an unreachable engine stays 503.
    #[test]
    fn docker_answers_map_to_statuses() {
        let engine = |status_code: u16, message: &str| {
            ApiError::from(Error::Docker(DockerError::from(
                bollard::errors::Error::DockerResponseServerError {
                    status_code,
                    message: message.into(),
                },
            )))
        };
        let e = engine(400, "No command specified");
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body.code, "docker_rejected");
        assert_eq!(
            e.body.details,
            Some(serde_json::Value::String("No command specified".into()))
        );
        let e = engine(500, "driver failed programming external connectivity");
        assert_eq!(
            (e.status, e.body.code.as_str()),
            (StatusCode::BAD_GATEWAY, "docker_error")
        );
        let e = engine(
            409,
            "Conflict. The container name is already in use by container",
        );
        assert_eq!(
            (e.status, e.body.code.as_str()),
            (StatusCode::CONFLICT, "docker_conflict")
        );
        let e = ApiError::from(Error::Docker(DockerError::Unavailable("refused".into())));
        assert_eq!(
            (e.status, e.body.code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "docker_unavailable")
        );
    }
}
