//! Shapes of `/api/v1/registries`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::credentials;

/// What the API shows of stored credentials (never the password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistryView {
    /// Registry host, e.g. `ghcr.io` or `127.0.0.1:5000`.
    pub host: String,
    /// User name.
    pub username: String,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

impl From<credentials::RegistryView> for RegistryView {
    fn from(v: credentials::RegistryView) -> Self {
        Self {
            host: v.host,
            username: v.username,
            updated_at: v.updated_at,
        }
    }
}

/// Credentials to store.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentials {
    /// User name.
    #[schema(pattern = "\\S")]
    pub username: String,
    /// Password or access token (write-only).
    #[schema(min_length = 1)]
    pub password: String,
}

impl From<NewCredentials> for credentials::NewCredentials {
    fn from(c: NewCredentials) -> Self {
        Self {
            username: c.username,
            password: c.password,
        }
    }
}
