//! The domain error: what went wrong, in terms callers branch on. The `api` module maps it to
//! HTTP statuses and the `{code, message, details}` shape.

use crate::docker::DockerError;
use crate::spec::Problem;

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No service (managed or unmanaged) of that name.
    #[error("service `{0}` not found")]
    ServiceNotFound(String),
    /// The definition (or another input) failed validation; every problem is listed.
    #[error("the definition is invalid ({} problem(s))", .0.len())]
    Invalid(Vec<Problem>),
    /// A service of that name already exists.
    #[error("a service named `{0}` already exists")]
    NameTaken(String),
    /// A managed service cannot take a name that an unmanaged compose project or container
    /// already has: the list would show two services under one name.
    #[error(
        "`{name}` is already the name of {} that SDMD does not manage ({}). Adopt it with POST /api/v1/services/{id}/adopt, or choose another name.",
        .kind.noun(),
        .containers.join(", ")
    )]
    NameInUseUnmanaged {
        /// The name asked for.
        name: String,
        /// What holds it (compose or standalone).
        kind: crate::live::Kind,
        /// The holder's id, which its routes (and adopt) accept.
        id: String,
        /// The holder's container names.
        containers: Vec<String>,
    },
    /// The operation needs a service SDMD manages.
    #[error("`{0}` is not managed by SDMD: adopt it first")]
    Unmanaged(String),
    /// The service is already managed (e.g. adopt of a managed service).
    #[error("`{0}` is already managed by SDMD")]
    AlreadyManaged(String),
    /// Adopt found settings a definition cannot express; nothing was stored. The caller may
    /// accept the loss (`accept_loss=true`).
    #[error(
        "adopting would lose {} setting(s) a definition cannot express; nothing was stored. Pass accept_loss=true to adopt without them",
        .0.len()
    )]
    WouldLose(Vec<crate::docker::LostSetting>),
    /// A member's dependency did not become ready.
    #[error("member `{member}` waits for `{dependency}`: {reason}")]
    DependencyNotReady {
        /// The member that could not start.
        member: String,
        /// The dependency it waited for.
        dependency: String,
        /// Why it is not ready.
        reason: String,
    },
    /// The definition breaks the host's policy (`SDMD_POLICY`); every rule broken is listed.
    #[error("the definition breaks the host's policy ({} problem(s))", .0.len())]
    Policy(Vec<Problem>),
    /// A `post_start`/`pre_stop` hook of the definition exited non-zero (compose v2 fails the
    /// operation the same way).
    #[error("member `{member}`: {hook}[{index}] exited with status {exit_code}")]
    HookFailed {
        /// The member whose hook failed.
        member: String,
        /// `post_start` or `pre_stop`.
        hook: &'static str,
        /// Its position in the list.
        index: usize,
        /// The command's exit code.
        exit_code: i64,
        /// The last few KiB of its output.
        output: String,
    },
    /// The Docker engine failed or refused.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// PostgreSQL failed.
    #[error("database error: {0}")]
    Database(#[from] crate::db::DbError),
    /// No credentials are stored for that registry.
    #[error("no credentials stored for registry `{0}`")]
    RegistryNotFound(String),
    /// A stored secret cannot be used (no key, or the wrong one).
    #[error("{0}")]
    Secret(String),
    /// No template of that id in the catalog.
    #[error("template `{0}` not found")]
    TemplateNotFound(String),
    /// A file-system operation on the host failed (creating a bind source, changing an owner).
    #[error("{path}: {message}")]
    HostFiles {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// A template catalog could not be fetched or read.
    #[error("template catalog {source_url}: {message}")]
    TemplateSource {
        /// The catalog's URL.
        source_url: String,
        /// Why.
        message: String,
    },
}
