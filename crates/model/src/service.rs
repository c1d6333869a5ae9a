//! A service as SDMD stores it: the current revision's definition and project files.

use chrono::{DateTime, Utc};

use crate::spec::Definition;

/// A service as stored: its current revision's definition.
#[derive(Debug, Clone)]
pub struct StoredService {
    /// Service name.
    pub name: String,
    /// Current revision number.
    pub revision: i32,
    /// The definition at that revision.
    pub definition: Definition,
    /// Containers of an unmanaged service this one was adopted from.
    pub adopted_from: Vec<String>,
    /// When the service was first stored.
    pub created_at: DateTime<Utc>,
    /// When the last revision was stored.
    pub updated_at: DateTime<Utc>,
    /// The project files in clear, filled in by `ops::load` (empty in lists).
    pub files: Vec<StoredFile>,
    /// The document as written, when stored apart from the definition (filled by `ops::load`).
    pub source: Option<serde_json::Value>,
    /// The project directory, when it is not `<stacks>/<service>` (an adopted compose project's
    /// own working directory).
    pub project_dir: Option<String>,
    /// Volumes of the containers it was adopted from: never removed by SDMD.
    pub foreign_volumes: Vec<String>,
}

/// A project file as stored: sealed ones hold ciphertext.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Path relative to the project directory.
    pub path: String,
    /// Whether `content` is sealed with the installation's key.
    pub sealed: bool,
    /// The bytes (ciphertext when sealed).
    pub content: Vec<u8>,
}
