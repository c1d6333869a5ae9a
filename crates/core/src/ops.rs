//! Service operations: the domain functions handlers and the CLI call. Each mutation writes
//! exactly one audit row; definition changes write it in the same transaction as the change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use sdmd_model::audit::Action;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::{self, services::StoredService};
use crate::docker::{
    ContainerInfo, ContainerState, DockerError, Filter, Health, LogLine, container_body, labels,
};
use crate::error::{Error, Result};
use crate::events::{Event, Operation, OperationStep, Phase};
use crate::live::{self, Kind, Status};
use crate::project::Project;
use crate::spec::{Condition, Definition, DependsOn, Problem, split_image_ref};
use crate::state::AppState;
pub use sdmd_model::updates::PendingUpdate;

mod graph;

/// How long a member waits for a `service_healthy` dependency.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a member waits for a `service_completed_successfully` dependency (a migration job,
/// say). compose waits without limit; a deploy holds the service's lock, so SDMD bounds it.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A service as the API shows it.
#[derive(Debug, Clone)]
pub struct ServiceView {
    /// The service's address in the API: the name of a managed service, `compose:<project>`
    /// or `container:<name>` for an unmanaged one (unique in the list, even when names repeat).
    pub id: String,
    /// Service name.
    pub name: String,
    /// managed, compose or standalone.
    pub kind: Kind,
    /// Overall status.
    pub status: Status,
    /// Current revision (managed only).
    pub revision: Option<i32>,
    /// Whether any container exists.
    pub deployed: bool,
    /// How many containers it has.
    pub containers_total: usize,
    /// How many of them run.
    pub containers_running: usize,
    /// Its containers.
    pub containers: Vec<ContainerInfo>,
    /// The stored definition (managed only; omitted in lists).
    pub definition: Option<Definition>,
    /// When the definition was first stored.
    pub created_at: Option<DateTime<Utc>>,
    /// When the last revision was stored.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the latest registry check found a newer image (managed only).
    pub update_available: bool,
    /// What the latest check found, when it found something (a tag move before a digest).
    pub pending_update: Option<PendingUpdate>,
    /// When the service was last updated successfully.
    pub last_updated: Option<DateTime<Utc>>,
    /// Its update schedule, when one is stored (managed only).
    pub schedule: Option<crate::timetable::Schedule>,
    /// What compose would warn about in the stored document (e.g. a variable that is not set
    /// and has no default becomes empty); only in answers to a store.
    pub warnings: Vec<Problem>,
    /// Settings of the adopted containers that the definition does not carry, so the first
    /// deploy will not reproduce them; only in the answer to an adopt with `accept_loss=true`.
    pub dropped: Vec<crate::docker::LostSetting>,
}

fn view(g: live::Group, stored: Option<&StoredService>, with_definition: bool) -> ServiceView {
    ServiceView {
        id: g.id(),
        status: g.status(),
        deployed: !g.containers.is_empty(),
        containers_total: g.containers.len(),
        containers_running: g.running(),
        name: g.name,
        kind: g.kind,
        revision: stored.map(|s| s.revision),
        definition: stored
            .filter(|_| with_definition)
            .map(|s| s.definition.clone()),
        created_at: stored.map(|s| s.created_at),
        updated_at: stored.map(|s| s.updated_at),
        update_available: false,
        pending_update: None,
        last_updated: None,
        schedule: None,
        warnings: Vec::new(),
        dropped: Vec::new(),
        containers: g.containers,
    }
}

fn ensure_docker(state: &AppState) -> Result<()> {
    if state.live.connected() {
        Ok(())
    } else {
        Err(Error::Docker(DockerError::Unavailable(
            "the Docker events stream is not connected".into(),
        )))
    }
}

/// What the services list reads from PostgreSQL: from memory while it is current
/// (`crate::cache`), else read now (and kept, while the invalidation listener runs).
async fn stored_state(state: &AppState) -> Result<Arc<crate::cache::Stored>> {
    // The version is read before the rows: what is kept under it is at least as new.
    let version = state.hot.stored_version(state.bus.audits());
    if let Some(v) = &version
        && let Some(hit) = state.hot.stored.get(v)
    {
        return Ok(hit);
    }
    let stored = Arc::new(crate::cache::Stored {
        services: db::services::list(&state.db).await?,
        updates: db::updates::summaries(&state.db).await?,
        pending: db::updates::pending(&state.db).await?,
        schedules: db::schedules::all(&state.db)
            .await?
            .iter()
            .map(|r| (r.service.clone(), crate::timetable::Schedule::from_row(r)))
            .collect(),
    });
    if let Some(v) = version {
        state.hot.stored.put(v, stored.clone());
    }
    Ok(stored)
}

/// Every service, managed and unmanaged, from the live cache (no Docker call).
pub async fn list(state: &AppState) -> Result<Vec<ServiceView>> {
    ensure_docker(state)?;
    let stored = stored_state(state).await?;
    let by_name: HashMap<&str, &StoredService> = stored
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let groups = live::group(state.live.containers().await, &stored.services);
    Ok(groups
        .into_iter()
        .map(|g| {
            let s = (g.kind == Kind::Managed)
                .then(|| by_name.get(g.name.as_str()).copied())
                .flatten();
            let mut v = view(g, s, false);
            if let Some((available, last)) = s.and_then(|s| stored.updates.get(&s.name)) {
                v.update_available = *available;
                v.last_updated = *last;
                v.pending_update = stored.pending.get(&v.name).cloned();
            }
            v.schedule = s.and_then(|s| stored.schedules.get(&s.name).cloned());
            v
        })
        .collect())
}

/// The services list rendered by `render` (the API's JSON), rebuilt only when its inputs changed
/// (live containers, stored state): the same bytes and tag until then.
pub async fn list_rendered<E: From<Error>>(
    state: &AppState,
    render: impl FnOnce(Vec<ServiceView>) -> std::result::Result<Vec<u8>, E>,
) -> std::result::Result<Arc<crate::cache::Rendered>, E> {
    ensure_docker(state)?;
    // Versions first, inputs after (see `crate::cache`).
    let version = state
        .hot
        .list_version(state.bus.audits(), state.live.version());
    if let Some(v) = &version
        && let Some(hit) = state.hot.list.get(v)
    {
        return Ok(hit);
    }
    let rendered = Arc::new(crate::cache::Rendered::new(render(list(state).await?)?));
    if let Some(v) = version {
        state.hot.list.put(v, rendered.clone());
    }
    Ok(rendered)
}

/// One service with its definition (managed) and containers, by id or bare name
/// (`live::Address`).
pub async fn get(state: &AppState, name: &str) -> Result<ServiceView> {
    let stored = db::services::list(&state.db).await?;
    let containers = if state.live.connected() {
        state.live.containers().await
    } else {
        Vec::new()
    };
    let address = live::Address::parse(name);
    let found = live::group(containers, &stored)
        .into_iter()
        .find(|g| address.matches(g));
    match found {
        Some(g) => {
            let s = stored
                .iter()
                .find(|s| s.name == g.name && g.kind == Kind::Managed);
            if s.is_none() {
                ensure_docker(state)?;
            }
            let mut v = view(g, s, true);
            if s.is_some() {
                if let Some((available, last)) =
                    db::updates::summaries(&state.db).await?.get(&v.name)
                {
                    v.update_available = *available;
                    v.last_updated = *last;
                }
                v.pending_update = db::updates::pending(&state.db).await?.remove(&v.name);
            }
            Ok(v)
        }
        None => {
            ensure_docker(state)?;
            Err(Error::ServiceNotFound(name.to_owned()))
        }
    }
}

/// Adopts the unmanaged service an id or bare name addresses. `adopt` works on bare names; an
/// id is checked here first, so that `container:<x>` never adopts a compose project `<x>` (the
/// bare name's precedence) and an id of nothing answers `service_not_found`.
pub async fn adopt_address(
    state: &AppState,
    ctx: &AuditContext,
    address: &str,
    accept_loss: bool,
) -> Result<ServiceView> {
    let a = live::Address::parse(address);
    if let live::Address::Exact(kind, name) = a {
        ensure_docker(state)?;
        let groups = live::group(state.live.containers().await, &[]);
        if !groups.iter().any(|g| a.matches(g)) {
            return Err(Error::ServiceNotFound(address.to_owned()));
        }
        // Under the bare name `adopt` would take the first unmanaged group of that name.
        if let Some(first) = live::find(&groups, name).filter(|g| g.kind != kind) {
            return Err(Error::NameInUseUnmanaged {
                name: name.to_owned(),
                kind: first.kind,
                id: first.id(),
                containers: first.containers.iter().map(|c| c.name.clone()).collect(),
            });
        }
    }
    adopt(state, ctx, a.name(), accept_loss).await
}

/// A managed service as deploy, update and lifecycle operations need it: when the revision has
/// a source document, its definition is resolved now (interpolation happens on deploy, with the
/// variables of this moment) and its files are opened.
pub(crate) async fn load(state: &AppState, name: &str) -> Result<StoredService> {
    let mut conn = state.db.acquire().await?;
    match db::services::get(&mut conn, name).await? {
        Some(mut s) => {
            if let Some((Some(source), files)) = db::services::project(&mut conn, name).await? {
                drop(conn);
                let files = open_files(state, name, files)?;
                let project = Project {
                    source: source.clone(),
                    files: files
                        .iter()
                        .map(|f| (f.path.clone(), f.content.clone()))
                        .collect(),
                };
                s.definition = resolve_project(state, name, s.project_dir.as_deref(), &project)
                    .await?
                    .definition;
                s.files = files;
                s.source = Some(source);
            }
            Ok(s)
        }
        None => {
            // Distinguish "exists but unmanaged" from "does not exist at all". `name` may be an
            // unmanaged service's id; grouping with the stored services keeps a managed
            // service's containers out of a same-named compose project.
            let unmanaged = state.live.connected() && {
                let stored = db::services::list(&state.db).await?;
                live::find(&live::group(state.live.containers().await, &stored), name)
                    .is_some_and(|g| g.kind != Kind::Managed)
            };
            Err(if unmanaged {
                Error::Unmanaged(name.to_owned())
            } else {
                Error::ServiceNotFound(name.to_owned())
            })
        }
    }
}

/// The stable error code of an error (shared with the API and the audit log).
pub fn code_of(e: &Error) -> &'static str {
    match e {
        Error::ServiceNotFound(_) => "service_not_found",
        Error::Invalid(_) => "validation_failed",
        Error::NameTaken(_) => "name_taken",
        Error::NameInUseUnmanaged { .. } => "name_in_use_unmanaged",
        Error::Unmanaged(_) => "unmanaged_service",
        Error::AlreadyManaged(_) => "already_managed",
        Error::WouldLose(_) => "adopt_would_lose_settings",
        Error::DependencyNotReady { .. } => "dependency_not_ready",
        Error::HookFailed { .. } => "hook_failed",
        Error::Policy(_) => "policy_violation",
        Error::Docker(DockerError::Unavailable(_)) => "docker_unavailable",
        Error::Docker(DockerError::NotFound(_)) => "docker_not_found",
        Error::Docker(DockerError::Conflict(_)) => "docker_conflict",
        Error::Docker(DockerError::Rejected(_)) => "docker_rejected",
        Error::Docker(DockerError::Other(_)) => "docker_error",
        Error::Database(_) => "database_error",
        Error::RegistryNotFound(_) => "registry_not_found",
        Error::Secret(_) => "secret_unavailable",
        Error::TemplateNotFound(_) => "template_not_found",
        Error::TemplateSource { .. } => "template_source_unavailable",
        Error::HostFiles { .. } => "host_files_failed",
    }
}

/// Appends an audit row outside any other change and publishes it ([`change::record_alone`]).
pub(crate) async fn audit_alone(
    state: &AppState,
    ctx: &AuditContext,
    action: Action,
    target: &str,
    result: &str,
    details: serde_json::Value,
) {
    let record = Record {
        action,
        target: Some(target),
        result,
        details,
    };
    crate::change::record_alone(&state.db, &state.bus, ctx, record).await;
}

/// Runs a Docker operation and records its outcome (ok or the error code) in the audit log.
async fn audited<T: Serialize>(
    state: &AppState,
    ctx: &AuditContext,
    action: Action,
    target: &str,
    op: impl Future<Output = Result<T>>,
) -> Result<T> {
    state.bus.publish(Event::Operation {
        service: target.into(),
        action: Operation::Audited(action),
        phase: Phase::Started,
        message: String::new(),
    });
    let r = op.await;
    let (result, details, phase, message) = match &r {
        Ok(v) => (
            "ok",
            serde_json::to_value(v).unwrap_or_default(),
            Phase::Finished,
            String::new(),
        ),
        Err(e) => (
            code_of(e),
            json!({ "error": e.to_string() }),
            Phase::Failed,
            e.to_string(),
        ),
    };
    audit_alone(state, ctx, action, target, result, details).await;
    state.bus.publish(Event::Operation {
        service: target.into(),
        action: Operation::Audited(action),
        phase,
        message,
    });
    r
}

fn problem(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(vec![Problem {
        field: field.into(),
        message: message.into(),
    }])
}

fn name_taken(e: crate::db::DbError, name: &str) -> Error {
    match &e {
        e if crate::db::violated_constraint(e) == Some("services_name_key") => {
            Error::NameTaken(name.to_owned())
        }
        _ => Error::Database(e),
    }
}

/// Refuses a name that an unmanaged compose project or container already has, so one name never
/// shows as two services (the holder can be adopted instead). Checked against the live view;
/// while Docker is unreachable there is nothing to check against and the name is accepted
/// (storing a definition needs only the database), and the list still tells the two apart by id.
async fn ensure_name_free(state: &AppState, name: &str) -> Result<()> {
    if !state.live.connected() {
        return Ok(());
    }
    let groups = live::group(state.live.containers().await, &[]);
    match live::holder_of(&groups, name) {
        Some(g) => Err(Error::NameInUseUnmanaged {
            name: name.to_owned(),
            kind: g.kind,
            id: g.id(),
            containers: g.containers.iter().map(|c| c.name.clone()).collect(),
        }),
        None => Ok(()),
    }
}

fn secret_box(state: &AppState) -> Result<&crate::secrets::SecretBox> {
    state.secrets.as_deref().ok_or_else(|| {
        Error::Secret("no secret key is configured, so sealed files cannot be stored".into())
    })
}

fn file_context(service: &str, path: &str) -> String {
    format!("service-file:{service}/{path}")
}

/// Seals what must be sealed (`.env`, env files, secrets) for storage.
pub(crate) fn seal_files(
    state: &AppState,
    service: &str,
    project: &Project,
) -> Result<Vec<db::services::StoredFile>> {
    project
        .files
        .iter()
        .map(|(path, content)| {
            let sealed = crate::project::is_sealed(path, &project.source);
            let content = if sealed {
                secret_box(state)?
                    .seal(content, &file_context(service, path))
                    .map_err(|e| Error::Secret(e.to_string()))?
            } else {
                content.clone()
            };
            Ok(db::services::StoredFile {
                path: path.clone(),
                sealed,
                content,
            })
        })
        .collect()
}

/// Opens stored files (sealed ones decrypted).
fn open_files(
    state: &AppState,
    service: &str,
    files: Vec<db::services::StoredFile>,
) -> Result<Vec<db::services::StoredFile>> {
    files
        .into_iter()
        .map(|mut f| {
            if f.sealed {
                f.content = secret_box(state)?
                    .open(&f.content, &file_context(service, &f.path))
                    .map_err(|e| Error::Secret(e.to_string()))?;
            }
            Ok(f)
        })
        .collect()
}

/// The project directory of a service: its own (an adopted compose project's working
/// directory) or `<stacks>/<service>`.
pub fn project_dir(state: &AppState, service: &str, own: Option<&str>) -> std::path::PathBuf {
    match own {
        Some(dir) => std::path::PathBuf::from(dir),
        None => state.stacks_dir.join(service),
    }
}

/// Resolves a project with the variables of this moment: the service's `.env`, then SDMD's
/// stored variables, its `SDMD_VARIABLES` file and the standard defaults
/// (`crate::variables::lookup`), then — lowest — the service's standard folders
/// (`crate::variables::folder_variables`: a global variable of the same name wins).
pub(crate) async fn resolve_project(
    state: &AppState,
    service: &str,
    own_dir: Option<&str>,
    project: &Project,
) -> Result<crate::project::Resolved> {
    let mut vars = crate::variables::lookup(state).await?;
    for (name, value) in crate::variables::folder_variables(state.appdata_dir(), service) {
        vars.entry(name).or_insert(crate::project::Global {
            value,
            secret: false,
            origin: crate::project::Origin::Default,
        });
    }
    let globals = |k: &str| vars.get(k).cloned();
    crate::project::resolve_with(project, &globals, &project_dir(state, service, own_dir))
        .map_err(Error::Invalid)
}

/// Refuses a definition the host's policy (`SDMD_POLICY`) forbids: checked when a definition is
/// stored and before every deploy or update (a policy tightened later stops what it forbids from
/// being (re)created; stop, delete and reading still work).
pub(crate) fn check_policy(
    state: &AppState,
    def: &Definition,
    own_dir: Option<&str>,
) -> Result<()> {
    if !state.policy.is_active() {
        return Ok(());
    }
    let problems = state
        .policy
        .check(def, &project_dir(state, &def.name, own_dir));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Policy(problems))
    }
}

/// Stores a new service (revision 1) from a project: its document as written and its files.
pub async fn create(state: &AppState, ctx: &AuditContext, project: Project) -> Result<ServiceView> {
    let resolved = resolve_project(state, &document_name(&project.source), None, &project).await?;
    check_policy(state, &resolved.definition, None)?;
    let def = resolved.display;
    let files = seal_files(state, &def.name, &project)?;
    let src = db::services::RevisionSource {
        source: Some(&project.source),
        files: &files,
    };
    let mut tx = Change::begin(&state.db).await?;
    // A managed service of that name is the more precise answer than an unmanaged holder.
    if db::services::get(&mut tx, &def.name).await?.is_some() {
        return Err(Error::NameTaken(def.name));
    }
    ensure_name_free(state, &def.name).await?;
    db::services::insert(&mut tx, &def, &ctx.actor, &[], src)
        .await
        .map_err(|e| name_taken(e, &def.name))?;
    tx.record(
        ctx,
        Record {
            action: Action::ServiceCreate,
            target: Some(&def.name),
            result: "ok",
            details: json!({"revision": 1}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    let mut view = get(state, &def.name).await?;
    view.warnings = resolved.warnings;
    Ok(view)
}

/// The `name` a document gives itself (validated with the rest of it).
fn document_name(source: &serde_json::Value) -> String {
    source
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Stores a new revision of an existing service's definition.
pub async fn replace(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    project: Project,
) -> Result<ServiceView> {
    let own_dir = {
        let mut conn = state.db.acquire().await?;
        db::services::get(&mut conn, name)
            .await?
            .and_then(|s| s.project_dir)
    };
    let resolved = resolve_project(state, name, own_dir.as_deref(), &project).await?;
    check_policy(state, &resolved.definition, own_dir.as_deref())?;
    let def = resolved.display;
    if def.name != name {
        return Err(problem(
            "name",
            format!("must be `{name}` (renaming a service is not supported)"),
        ));
    }
    let mut tx = Change::begin(&state.db).await?;
    let old = db::services::get(&mut tx, name)
        .await?
        .ok_or_else(|| Error::ServiceNotFound(name.into()))?;
    let (old_source, old_files) = db::services::project(&mut tx, name)
        .await?
        .unwrap_or_default();
    let old_files = open_files(state, name, old_files)?;
    let same_files = old_files.len() == project.files.len()
        && old_files
            .iter()
            .all(|f| project.files.get(&f.path) == Some(&f.content));
    let same_source = old_source.as_ref().unwrap_or(&serde_json::Value::Null) == &project.source
        || (old_source.is_none()
            && serde_json::to_value(&old.definition).ok().as_ref() == Some(&project.source));
    if old.definition == def && same_source && same_files {
        // Nothing changed: no new revision, no audit row.
        drop(tx);
        let mut view = get(state, name).await?;
        view.warnings = resolved.warnings;
        return Ok(view);
    }
    let files = seal_files(state, name, &project)?;
    let src = db::services::RevisionSource {
        source: Some(&project.source),
        files: &files,
    };
    let revision = db::services::new_revision(&mut tx, &def, &ctx.actor, src)
        .await?
        .ok_or_else(|| Error::ServiceNotFound(name.into()))?;
    let changed: Vec<&String> = def
        .services
        .keys()
        .chain(old.definition.services.keys())
        .filter(|m| def.services.get(*m) != old.definition.services.get(*m))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let record = Record {
        action: Action::ServiceEdit,
        target: Some(name),
        result: "ok",
        details: json!({"revision": {"from": old.revision, "to": revision}, "members_changed": changed}),
    };
    tx.record(ctx, record).await?;
    tx.commit(&state.bus).await?;
    let mut view = get(state, name).await?;
    view.warnings = resolved.warnings;
    Ok(view)
}

/// Containers SDMD created for a service (asked from Docker, not the cache).
async fn managed_containers(state: &AppState, name: &str) -> Result<Vec<ContainerInfo>> {
    Ok(state
        .docker
        .list_containers(Filter::Label(labels::SERVICE, name))
        .await?)
}

/// What a removal did.
#[derive(Debug, Clone)]
pub struct RemoveReport {
    /// Containers removed.
    pub containers: Vec<String>,
    /// Volumes removed.
    pub volumes: Vec<String>,
}

/// Removes a service's containers, network (and volumes when asked), then its definition.
pub async fn delete(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    volumes: bool,
) -> Result<RemoveReport> {
    let _guard = state.locks.lock(name).await;
    let stored = load(state, name).await?;
    let docker_part = async {
        let mut report = RemoveReport {
            containers: Vec::new(),
            volumes: Vec::new(),
        };
        let mut containers = managed_containers(state, name).await?;
        containers.sort_by_key(|c| std::cmp::Reverse(order_index(&stored.definition, c)));
        // External and adopted volumes are someone else's data.
        let mut external: Vec<String> = stored
            .definition
            .volumes
            .iter()
            .filter(|(_, d)| d.external)
            .map(|(v, _)| stored.definition.volume_name(v))
            .collect();
        external.extend(stored.foreign_volumes.iter().cloned());
        let mut anonymous = Vec::new();
        for c in containers {
            if volumes {
                // Anonymous volumes a recreate carried over are mounted by name, so the engine's
                // `v` does not see them: remove them explicitly (never an external one).
                for (_, v) in state.docker.volume_mounts(&c.id).await? {
                    if is_anonymous_volume(&v) && !external.contains(&v) {
                        anonymous.push(v);
                    }
                }
            }
            // `pre_stop` hooks first, as compose's `down` runs them.
            if let Some(member) = c.label(labels::MEMBER) {
                stop_with_hooks(state, Some(&stored.definition), member, &c.id).await?;
            }
            // Anonymous volumes of SDMD's own containers go only when volumes were asked for.
            stop_and_remove_with(state, &c.id, volumes).await?;
            report.containers.push(c.name);
        }
        // Every network SDMD may have created for the service; only those carrying its label
        // are removed (external ones and anyone else's never are).
        let d = &stored.definition;
        let mut networks = vec![d.network_name()];
        for (key, decl) in &d.networks {
            let n = d.network_docker_name(key);
            if !decl.external && !networks.contains(&n) {
                networks.push(n);
            }
        }
        for n in networks {
            state
                .docker
                .remove_network_labelled(&n, labels::SERVICE, name)
                .await?;
        }
        if volumes {
            // Only volumes SDMD created for this service carry its label; external and adopted
            // volumes (someone else's data) never do, so they are never removed.
            let labelled = state.docker.volumes_labelled(labels::SERVICE, name).await?;
            for v in labelled.into_iter().chain(anonymous) {
                if external.contains(&v) || report.volumes.contains(&v) {
                    continue;
                }
                state.docker.remove_volume(&v).await?;
                report.volumes.push(v);
            }
        }
        Ok::<_, Error>(report)
    }
    .await;
    let report = match docker_part {
        Ok(r) => r,
        Err(e) => {
            audit_alone(
                state,
                ctx,
                Action::ServiceDelete,
                name,
                code_of(&e),
                json!({"error": e.to_string()}),
            )
            .await;
            return Err(e);
        }
    };
    let mut tx = Change::begin(&state.db).await?;
    if !db::services::delete(&mut tx, name).await? {
        return Err(Error::ServiceNotFound(name.into()));
    }
    let record = Record {
        action: Action::ServiceDelete,
        target: Some(name),
        result: "ok",
        details: json!({"revision": stored.revision, "containers": report.containers, "volumes": report.volumes}),
    };
    tx.record(ctx, record).await?;
    tx.commit(&state.bus).await?;
    Ok(report)
}

/// Stops a container (one already gone or stopping is fine) and removes it, keeping its
/// volumes: a deploy never removes a volume.
pub(crate) async fn stop_and_remove(state: &AppState, id: &str) -> Result<(), DockerError> {
    stop_and_remove_with(state, id, false).await
}

/// [`stop_and_remove`], removing the container's anonymous volumes when `anonymous_volumes`.
async fn stop_and_remove_with(
    state: &AppState,
    id: &str,
    anonymous_volumes: bool,
) -> Result<(), DockerError> {
    // The container's own StopTimeout: the grace period of the revision that created it, as
    // compose v2 stops a container it replaces.
    state.docker.stop_default(id).await.or_else(ignore_gone)?;
    state.docker.remove_container(id, anonymous_volumes).await
}

/// Seconds `member` gets between its stop signal and SIGKILL: its `stop_grace_period`
/// (truncated to seconds, as compose v2's StopTimeout), or `None` for the container's own
/// StopTimeout (unmanaged containers, members without a grace period: the engine's 10 s).
pub(crate) fn stop_timeout(def: Option<&Definition>, member: &str) -> Option<i32> {
    let grace = def?
        .services
        .get(member)?
        .runtime
        .stop_grace_period
        .as_deref()?;
    crate::spec::runtime::grace_seconds(grace).and_then(|s| i32::try_from(s).ok())
}

async fn stop_member(
    state: &AppState,
    def: Option<&Definition>,
    member: &str,
    id: &str,
) -> Result<(), DockerError> {
    match stop_timeout(def, member) {
        Some(t) => state.docker.stop(id, t).await,
        None => state.docker.stop_default(id).await,
    }
}

/// Which of a member's lifecycle hooks to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// Right after the container started.
    PostStart,
    /// Before a running container is stopped.
    PreStop,
}

/// Runs `member`'s `post_start` or `pre_stop` hooks in container `id`, in order, as compose v2
/// does (an exec each; the first non-zero exit fails the operation). Answers without doing
/// anything when the member has none.
pub(crate) async fn run_hooks(
    state: &AppState,
    def: Option<&Definition>,
    member: &str,
    id: &str,
    point: HookPoint,
) -> Result<()> {
    let Some(m) = def.and_then(|d| d.services.get(member)) else {
        return Ok(());
    };
    let (hooks, name) = match point {
        HookPoint::PostStart => (&m.runtime.post_start, OperationStep::PostStart),
        HookPoint::PreStop => (&m.runtime.pre_stop, OperationStep::PreStop),
    };
    for (index, hook) in hooks.iter().enumerate() {
        if let Some(d) = def {
            publish_step(
                state,
                &d.name,
                name,
                format!("member {member}: running {name}[{index}]"),
            );
        }
        let (exit_code, output) = state.docker.exec(id, hook).await?;
        if exit_code != 0 {
            return Err(Error::HookFailed {
                member: member.to_owned(),
                hook: name.as_str(),
                index,
                exit_code,
                output,
            });
        }
    }
    Ok(())
}

/// Stops a member's container after its `pre_stop` hooks (when it is running: an exec needs
/// a running container; compose ignores a container that is already gone).
pub(crate) async fn stop_with_hooks(
    state: &AppState,
    def: Option<&Definition>,
    member: &str,
    id: &str,
) -> Result<()> {
    if def
        .and_then(|d| d.services.get(member))
        .is_some_and(|m| !m.runtime.pre_stop.is_empty())
    {
        let running = matches!(
            state.docker.container_status(id).await,
            Ok((ContainerState::Running, _))
        );
        if running {
            match run_hooks(state, def, member, id, HookPoint::PreStop).await {
                Err(Error::Docker(DockerError::NotFound(_) | DockerError::Conflict(_))) => {}
                other => other?,
            }
        }
    }
    stop_member(state, def, member, id)
        .await
        .or_else(ignore_gone)?;
    Ok(())
}

/// Removes a member's container that a deploy replaces or scales away (volumes kept), after its
/// `pre_stop` hooks, as compose v2 stops a container it recreates.
async fn retire(state: &AppState, def: &Definition, member: &str, id: &str) -> Result<()> {
    stop_with_hooks(state, Some(def), member, id).await?;
    Ok(stop_and_remove(state, id).await?)
}

/// Docker names an anonymous volume with 64 hex digits.
pub(crate) fn is_anonymous_volume(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn ignore_gone(e: DockerError) -> Result<(), DockerError> {
    match e {
        DockerError::NotFound(_) => Ok(()),
        // 304 "already stopped" arrives as success; a conflict here means it is being removed.
        DockerError::Conflict(_) => Ok(()),
        e => Err(e),
    }
}

fn order_index(def: &Definition, c: &ContainerInfo) -> usize {
    let order = def.start_order();
    c.label(labels::MEMBER)
        .and_then(|m| order.iter().position(|o| o == m))
        .unwrap_or(usize::MAX)
}

/// What a deploy (or start/stop/restart/update) did per member.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActionReport {
    /// Members created for the first time.
    pub created: Vec<String>,
    /// Members recreated because their configuration or image changed.
    pub recreated: Vec<String>,
    /// Members started.
    pub started: Vec<String>,
    /// Members stopped.
    pub stopped: Vec<String>,
    /// Members left as they were.
    pub unchanged: Vec<String>,
    /// Containers removed (members no longer defined, replaced adopted containers).
    pub removed: Vec<String>,
    /// Bind sources owned by another user than the member runs as (deploys only; see
    /// `crate::permissions`).
    #[serde(skip)]
    pub warnings: Vec<crate::permissions::Warning>,
}

fn publish_step(state: &AppState, service: &str, step: OperationStep, message: String) {
    state.bus.publish(Event::Operation {
        service: service.into(),
        action: Operation::Step(step),
        phase: Phase::Step,
        message,
    });
}

/// Pulls `member`'s image when it is missing locally, unless its `pull_policy` is `never`
/// (compose v2 then fails: the image must already be there).
async fn ensure_image(state: &AppState, def: &Definition, member: &str) -> Result<()> {
    let (service, m) = (&def.name, &def.services[member]);
    let image = &m.image;
    if state.docker.image(image).await?.is_none() {
        if m.runtime.pull_policy.as_deref() == Some("never") {
            return Err(problem(
                &format!("services.{member}.pull_policy"),
                format!("image `{image}` is not present on the engine and pull_policy is never"),
            ));
        }
        publish_step(
            state,
            service,
            OperationStep::Deploy,
            format!("pulling {image}"),
        );
        pull_one(state, service, image).await?;
    }
    Ok(())
}

pub(crate) async fn pull_one(state: &AppState, service: &str, image: &str) -> Result<()> {
    let bus = state.bus.clone();
    let (svc, img) = (service.to_owned(), image.to_owned());
    let login = match crate::registry::ImageRef::parse(image) {
        Some(r) => crate::credentials::for_host(state, &r.registry)
            .await?
            .map(|c| crate::docker::RegistryLogin {
                username: c.username,
                password: c.password,
                server: r.registry.clone(),
            }),
        None => None,
    };
    state
        .docker
        .pull(image, login, move |progress| {
            bus.publish(Event::PullProgress {
                service: svc.clone(),
                image: img.clone(),
                progress,
            });
        })
        .await?;
    Ok(())
}

/// The containers of members, by member, in replica order (the first is the one
/// `network_mode: service:X` joins, as compose joins X's first container).
pub(crate) type Peers = HashMap<String, Vec<String>>;

/// The first container of each member, as the create body wants them.
fn first_of(peers: &Peers) -> HashMap<String, String> {
    peers
        .iter()
        .filter_map(|(m, ids)| Some((m.clone(), ids.first()?.clone())))
        .collect()
}

/// Waits until `member`'s dependencies meet their conditions, every replica of each (compose
/// v2 checks them all). A dependency marked `required: false` that is missing or not ready only
/// warns, as compose does; a dependency scaled to 0 is not waited for (compose neither).
pub(crate) async fn wait_dependencies(
    state: &AppState,
    def: &Definition,
    member: &str,
    ids: &Peers,
) -> Result<()> {
    let Some(m) = def.services.get(member) else {
        return Ok(());
    };
    for (dep, d) in &m.depends_on {
        if def
            .services
            .get(dep)
            .is_some_and(|dm| dm.runtime.replicas() == 0)
        {
            continue;
        }
        match wait_dependency(state, member, dep, d, ids).await {
            Err(Error::DependencyNotReady { reason, .. }) if !d.required => {
                tracing::warn!(member, dependency = %dep, %reason, "optional dependency not ready");
                publish_step(
                    state,
                    &def.name,
                    OperationStep::Deploy,
                    format!(
                        "{member}: optional dependency {dep} is not ready ({reason}); going on"
                    ),
                );
            }
            r => r?,
        }
    }
    Ok(())
}

async fn wait_dependency(
    state: &AppState,
    member: &str,
    dep: &str,
    d: &DependsOn,
    ids: &Peers,
) -> Result<()> {
    let not_ready = |reason: String| Error::DependencyNotReady {
        member: member.into(),
        dependency: dep.to_owned(),
        reason,
    };
    let Some(ids) = ids.get(dep).filter(|ids| !ids.is_empty()) else {
        return Err(not_ready("it has no container".into()));
    };
    if d.condition == Condition::ServiceStarted {
        // The dependency's own step started it before this one runs; as in compose (1.29 and
        // v2), `service_started` orders the starts and waits for nothing more: a dependency
        // that has already run to its end (a one-shot job) does not fail its dependents.
        return Ok(());
    }
    let timeout = match d.condition {
        Condition::ServiceCompletedSuccessfully => COMPLETION_TIMEOUT,
        _ => HEALTHY_TIMEOUT,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    for (i, id) in ids.iter().enumerate() {
        // Replicas after the first are named in the reason.
        let not_ready = |reason: String| {
            not_ready(if i == 0 {
                reason
            } else {
                format!("its replica {}: {reason}", i + 1)
            })
        };
        wait_container(state, id, d.condition, deadline, timeout, not_ready).await?;
    }
    Ok(())
}

/// Waits until one container of a dependency meets `condition` (or `deadline` passes).
async fn wait_container(
    state: &AppState,
    id: &str,
    condition: Condition,
    deadline: tokio::time::Instant,
    timeout: Duration,
    not_ready: impl Fn(String) -> Error,
) -> Result<()> {
    loop {
        let (st, health) = state.docker.container_status(id).await?;
        match (condition, st, health) {
            (Condition::ServiceCompletedSuccessfully, ContainerState::Exited, _) => {
                return match state.docker.exit_code(id).await? {
                    Some(0) => Ok(()),
                    Some(code) => Err(not_ready(format!("it exited with status {code}"))),
                    None => Err(not_ready("it exited without a status".into())),
                };
            }
            (_, ContainerState::Exited | ContainerState::Dead, _) => {
                return Err(not_ready(format!("its container is {}", state_word(st))));
            }
            (Condition::ServiceHealthy, ContainerState::Running, Health::Healthy) => return Ok(()),
            (Condition::ServiceHealthy, _, Health::Unhealthy) => {
                return Err(not_ready("its health check reports unhealthy".into()));
            }
            (Condition::ServiceHealthy, ContainerState::Running, Health::None) => {
                return Err(not_ready(
                    "it has no health check, so it can never be healthy".into(),
                ));
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(not_ready(format!(
                "not {} after {} s (state {}, health {:?})",
                match condition {
                    Condition::ServiceHealthy => "healthy",
                    Condition::ServiceStarted => "running",
                    Condition::ServiceCompletedSuccessfully => "completed",
                },
                timeout.as_secs(),
                state_word(st),
                health
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn state_word(s: ContainerState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Creates and starts replica `number` of a member, removing it again if it cannot start (a
/// port conflict, say) so that a retry starts clean.
///
/// `carried` are the volume mounts of the container this one replaces (see [`container_body`]);
/// `peers` the containers of members already created (for `network_mode: service:X`).
pub(crate) async fn create_member(
    state: &AppState,
    def: &Definition,
    revision: i32,
    member: &str,
    number: u32,
    carried: &[(String, String)],
    peers: &Peers,
) -> Result<String> {
    ensure_image(state, def, member).await?;
    create_and_start(state, def, revision, member, number, carried, peers).await
}

/// [`create_member`] once the image is known to be present.
async fn create_and_start(
    state: &AppState,
    def: &Definition,
    revision: i32,
    member: &str,
    number: u32,
    carried: &[(String, String)],
    peers: &Peers,
) -> Result<String> {
    let m = &def.services[member];
    let mut body = container_body(def, member, revision, carried, &first_of(peers))
        .ok_or_else(|| Error::ServiceNotFound(member.into()))?;
    body.labels
        .get_or_insert_with(HashMap::new)
        .insert(labels::REPLICA.to_owned(), number.to_string());
    let id = state
        .docker
        .create_container(
            &def.replica_name(member, number),
            m.runtime.platform.as_deref(),
            body,
        )
        .await?;
    // The other networks are joined before start, so the process sees them all from the start.
    // Secrets and configs compose copies in rather than mounts (see `copied_files`).
    let copied = crate::docker::copied_files(def, member);
    let started = match state.docker.copy_files(&id, &copied).await {
        Ok(()) => state.docker.connect_networks(&id, def, member).await,
        Err(e) => Err(e),
    };
    let started = match started {
        Ok(()) => state.docker.start(&id).await,
        Err(e) => Err(e),
    };
    if let Err(e) = started {
        if let Err(cleanup) = state.docker.remove_container(&id, false).await {
            tracing::warn!(error = %cleanup, container = %id, "could not remove a container that failed to start");
        }
        return Err(e.into());
    }
    // A failing hook fails the deploy but leaves the started container, as compose v2 does.
    run_hooks(state, Some(def), member, &id, HookPoint::PostStart).await?;
    Ok(id)
}

pub(crate) async fn refresh_live(state: &AppState, id: &str) {
    if let Err(e) = state.live.refresh(&state.docker, id, &state.bus).await {
        tracing::debug!(error = %e, "live refresh after an operation failed; the events stream will catch up");
    }
}

/// Applies the current revision: networks, volumes and missing images up front, then members in
/// dependency order, those without a dependency path between them concurrently. Members
/// whose configuration hash is unchanged are left alone (started if stopped). Members in
/// profiles none of which is in `profiles` (`*` = all) are neither created nor touched.
pub async fn deploy(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    profiles: &[String],
) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let stored = load(state, name).await?;
    audited(
        state,
        ctx,
        Action::ServiceDeploy,
        name,
        deploy_locked(state, &stored, profiles),
    )
    .await
}

/// A managed service's mounts with host path, mode, owner, existence and cached size.
pub async fn mounts(state: &AppState, name: &str) -> Result<Vec<crate::mounts::MountView>> {
    let stored = load(state, name).await?;
    crate::mounts::of(state, &stored.definition).await
}

/// Lists (dry run) or makes the owner changes that give each writable bind source of a managed
/// service under the data root or a shared root to the user its member runs as (see
/// `crate::permissions::fix`); made ones are audited as `service.permissions`.
pub async fn fix_permissions(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    apply: bool,
) -> Result<crate::permissions::Plan> {
    let _guard = state.locks.lock(name).await;
    let stored = load(state, name).await?;
    crate::permissions::fix(state, ctx, &stored.definition, apply).await
}

/// Writes a service's files into its project directory (sealed ones 0600) and checks that no
/// bind source under the stacks directory leads outside it through a symlink.
async fn write_project_dir(state: &AppState, stored: &StoredService) -> Result<()> {
    // An adopted compose project's own directory already holds its files: it is the user's.
    if (stored.files.is_empty() && stored.source.is_none()) || stored.project_dir.is_some() {
        return Ok(());
    }
    let dir = project_dir(state, &stored.name, None);
    let stacks = state.stacks_dir.as_ref().clone();
    let files: Vec<(String, bool, Vec<u8>)> = stored
        .files
        .iter()
        .map(|f| (f.path.clone(), f.sealed, f.content.clone()))
        .collect();
    let binds: Vec<std::path::PathBuf> = stored
        .definition
        .services
        .values()
        .flat_map(|m| m.volumes.iter())
        .filter_map(|v| match v {
            crate::spec::VolumeEntry::Short(s) => match crate::spec::Mount::parse(s) {
                Ok(crate::spec::Mount::Bind { source, .. }) => {
                    Some(std::path::PathBuf::from(source))
                }
                _ => None,
            },
            crate::spec::VolumeEntry::Long(l) => l.source.as_ref().map(std::path::PathBuf::from),
        })
        .filter(|p| p.starts_with(&stacks))
        .collect();
    let written = tokio::task::spawn_blocking(move || -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (path, sealed, content) in files {
            let target = dir.join(&path);
            crate::project::check_no_symlink_escape(&target, &stacks)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let mode = if sealed { 0o600 } else { 0o644 };
            // Replace, never write through: a symlink placed at the path is not followed.
            let tmp = target.with_extension("sdmd-tmp");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)
                .or_else(|_| {
                    std::fs::remove_file(&tmp)?;
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(mode)
                        .open(&tmp)
                })
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            f.write_all(&content)
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
        for b in binds {
            crate::project::check_no_symlink_escape(&b, &stacks)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| {
        Error::Docker(DockerError::Other(format!(
            "writing the project directory: {e}"
        )))
    })?;
    written.map_err(|m| problem("files", m))
}

/// Refuses attributes the engine is too old to honour (it would silently ignore them).
async fn check_engine(state: &AppState, def: &Definition) -> Result<()> {
    let needs = def.engine_requirements();
    if needs.is_empty() {
        return Ok(());
    }
    let have = state.docker.ping().await?;
    let problems: Vec<Problem> = needs
        .into_iter()
        .filter(|(_, min)| !api_at_least(&have, min))
        .map(|(field, min)| Problem {
            field,
            message: format!(
                "needs Engine API {min} or later; this engine speaks {have} and would ignore it"
            ),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Compares `major.minor` Engine API versions.
fn api_at_least(have: &str, min: &str) -> bool {
    let v = |s: &str| -> (u32, u32) {
        let mut it = s.split('.').map(|p| p.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    v(have) >= v(min)
}

/// Creates the networks members join (the undeclared `default` is `sdmd_<service>`), all at
/// once; external ones must exist and are never created, as in compose.
async fn ensure_networks(
    state: &AppState,
    def: &Definition,
    service_label: &HashMap<String, String>,
) -> Result<()> {
    let used = def.used_networks();
    futures_util::future::try_join_all(used.iter().map(|(key, decl)| async move {
        let network = def.network_docker_name(key);
        if decl.external {
            if !state.docker.network_exists(&network).await? {
                return Err(external_missing("networks", key, &network));
            }
            return Ok(());
        }
        state
            .docker
            .ensure_network(&network, decl, service_label.clone())
            .await?;
        Ok(())
    }))
    .await?;
    Ok(())
}

/// An `external` network or volume that does not exist: compose refuses the deploy too.
fn external_missing(section: &str, key: &str, name: &str) -> Error {
    let kind = section.trim_end_matches('s');
    problem(
        &format!("{section}.{key}"),
        format!(
            "external {kind} `{name}` does not exist: create it first or drop `external: true`"
        ),
    )
}

/// Creates the top-level volumes members mount (all at once); external ones must exist.
async fn ensure_volumes(
    state: &AppState,
    def: &Definition,
    service_label: &HashMap<String, String>,
) -> Result<()> {
    futures_util::future::try_join_all(def.volumes.iter().map(|(v, decl)| async move {
        let volume = def.volume_name(v);
        if decl.external {
            // As compose: an external volume must exist; SDMD never creates (or removes) it.
            if !state.docker.volume_exists(&volume).await? {
                return Err(external_missing("volumes", v, &volume));
            }
            return Ok(());
        }
        // SDMD's label goes last so a definition's own labels can never claim another service.
        let mut l: HashMap<String, String> = decl
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        l.extend(service_label.clone());
        state
            .docker
            .ensure_volume(
                &volume,
                decl.driver.clone(),
                decl.driver_opts
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                l,
            )
            .await?;
        Ok(())
    }))
    .await?;
    Ok(())
}

/// Pulls, once per distinct image and all at once, the missing images of the members this
/// deploy may create (those without a container of their current configuration, and those
/// sharing another member's network stack, which follow it): compose also pulls every missing
/// image before it creates anything. An image only `pull_policy: never` members use must be
/// present.
async fn ensure_images(
    state: &AppState,
    def: &Definition,
    enabled: &[String],
    existing: &HashMap<String, Vec<ContainerInfo>>,
) -> Result<()> {
    let mut by_image: indexmap::IndexMap<&str, Vec<&str>> = indexmap::IndexMap::new();
    // `pull_policy: always` pulls on every deploy, whatever runs (compose v2's `up`); a member
    // whose image changed is then recreated (see `Current`).
    let mut always: Vec<&str> = Vec::new();
    for member in enabled {
        let m = &def.services[member];
        if m.runtime.replicas() > 0 && m.runtime.pull_policy.as_deref() == Some("always") {
            if !always.contains(&m.image.as_str()) {
                always.push(&m.image);
            }
            continue;
        }
        let hash = def.config_hash(member);
        let current = existing.get(member).is_some_and(|cs| {
            cs.iter()
                .any(|c| c.label(labels::CONFIG_HASH) == Some(hash.as_str()))
        });
        if m.runtime.replicas() > 0 && (!current || m.network.service_dependency().is_some()) {
            by_image.entry(&m.image).or_default().push(member);
        }
    }
    by_image.retain(|image, _| !always.contains(image));
    futures_util::future::try_join_all(always.iter().map(|image| async move {
        publish_step(
            state,
            &def.name,
            OperationStep::Deploy,
            format!("pulling {image} (pull_policy: always)"),
        );
        pull_one(state, &def.name, image).await
    }))
    .await?;
    futures_util::future::try_join_all(by_image.into_iter().map(|(_, members)| {
        // Pulled for the first member that allows it; `never` everywhere refuses a missing image.
        let member = members
            .iter()
            .find(|m| def.services[**m].runtime.pull_policy.as_deref() != Some("never"))
            .unwrap_or(&members[0]);
        ensure_image(state, def, member)
    }))
    .await?;
    Ok(())
}

/// Names the member in an engine error (`conflict: member `web`: port is already allocated`),
/// keeping its kind: with members deployed concurrently the message must say which one failed.
fn in_member(member: &str, e: Error) -> Error {
    let name = |m: String| format!("member `{member}`: {m}");
    match e {
        Error::Docker(DockerError::NotFound(m)) => Error::Docker(DockerError::NotFound(name(m))),
        Error::Docker(DockerError::Conflict(m)) => Error::Docker(DockerError::Conflict(name(m))),
        Error::Docker(DockerError::Rejected(m)) => Error::Docker(DockerError::Rejected(name(m))),
        Error::Docker(DockerError::Other(m)) => Error::Docker(DockerError::Other(name(m))),
        e => e,
    }
}

/// What a deploy did to one member (for a member with replicas: the most that happened to any
/// of them, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum MemberAction {
    /// Left running as it was.
    Unchanged,
    /// Its container was (re)started.
    Started,
    /// Created for the first time.
    Created,
    /// Recreated (configuration or image changed, or it follows a recreated member).
    Recreated,
}

impl MemberAction {
    fn is_new(self) -> bool {
        matches!(self, Self::Created | Self::Recreated)
    }
}

/// One member's deploy result: its containers and what happened to them.
#[derive(Debug, Clone)]
struct Deployed {
    /// Container ids by replica number.
    ids: Vec<String>,
    /// `None`: the member runs no container (scale 0).
    action: Option<MemberAction>,
    /// Its first container is new (members sharing its network stack must follow).
    first_new: bool,
    /// Containers removed because the member was scaled down.
    removed: Vec<String>,
}

/// What a member's deploy step needs to know beyond the definition.
struct MemberPlan {
    /// Its current containers (SDMD's, of any configuration and replica number).
    current: Vec<ContainerInfo>,
    /// Volume mounts of the adopted container its first replica replaces.
    adopted: Vec<(String, String)>,
    /// It shares the network stack of a member this deploy (re)created.
    follows: bool,
    /// A `restart: true` dependency was (re)created or (re)started.
    restart_for: bool,
    /// Containers of the members already deployed (its dependencies among them).
    peers: Peers,
}

/// One replica as a deploy found it: the container to keep, if any, and what a new one carries.
struct Replica {
    number: u32,
    keep: Option<ContainerInfo>,
    carried: Vec<(String, String)>,
    existed: bool,
}

/// What a member's container must carry to be kept: its configuration hash and (when the image
/// is present) the image id its reference resolves to.
#[derive(Clone, Copy)]
struct Current<'a> {
    hash: &'a str,
    image_id: Option<&'a str>,
}

/// Keeps replica `number`'s newest container of the current configuration (unless the member
/// follows a recreated one) and removes the others, noting the volumes a new container takes
/// over from the newest one it replaces (compose keeps anonymous volumes across a recreate).
async fn prepare_replica(
    state: &AppState,
    (def, member): (&Definition, &str),
    now: Current<'_>,
    number: u32,
    mut current: Vec<ContainerInfo>,
    follows: bool,
    adopted: Vec<(String, String)>,
) -> Result<Replica> {
    current.sort_by_key(|c| std::cmp::Reverse(c.created));
    let keep = current
        .iter()
        .position(|c| {
            c.label(labels::CONFIG_HASH) == Some(now.hash)
                && now.image_id.is_none_or(|id| c.image_id == id)
        })
        .filter(|_| !follows);
    let carried = match current.iter().enumerate().find(|(i, _)| Some(*i) != keep) {
        Some((_, c)) if keep.is_none() => state.docker.volume_mounts(&c.id).await?,
        _ => adopted,
    };
    futures_util::future::try_join_all(
        current
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != keep)
            .map(|(_, c)| retire(state, def, member, &c.id)),
    )
    .await?;
    Ok(Replica {
        number,
        existed: !current.is_empty(),
        keep: keep.map(|i| current.swap_remove(i)),
        carried,
    })
}

/// Waits for every future and answers the first error, if any: unlike `try_join_all`, nothing
/// is dropped halfway (a container being created is either started or removed again).
async fn join_settled<T, E: Into<Error>>(
    futures: impl IntoIterator<Item = impl Future<Output = Result<T, E>>>,
) -> Result<Vec<T>> {
    futures_util::future::join_all(futures)
        .await
        .into_iter()
        .map(|r| r.map_err(Into::into))
        .collect()
}

/// Deploys one member: each of its replicas keeps its container when the configuration hash
/// matches (starting it if needed), else gets a new one carrying the old one's volumes; replicas
/// beyond the member's scale are removed, highest numbers first, their volumes kept (compose
/// does the same). Runs once the member's dependencies are done; its replicas go concurrently.
async fn deploy_member(
    state: &AppState,
    def: &Definition,
    revision: i32,
    member: &str,
    plan: MemberPlan,
) -> Result<Deployed> {
    let MemberPlan {
        current,
        adopted,
        follows,
        restart_for,
        peers,
    } = plan;
    let count = def.services[member].runtime.replicas();
    let hash = def.config_hash(member);
    let mut by_number: std::collections::BTreeMap<u32, Vec<ContainerInfo>> = Default::default();
    for c in current {
        by_number.entry(c.replica()).or_default().push(c);
    }
    let extra: Vec<ContainerInfo> = by_number
        .split_off(&(count + 1))
        .into_values()
        .rev()
        .flatten()
        .collect();
    join_settled(extra.iter().map(|c| retire(state, def, member, &c.id))).await?;
    let mut adopted = Some(adopted);
    // A container of the current configuration is kept only while it runs the image its
    // reference names now (compose recreates one whose image changed, e.g. after a pull).
    let image_id = if count > 0 {
        state
            .docker
            .image(&def.services[member].image)
            .await?
            .map(|i| i.id)
    } else {
        None
    };
    let current = Current {
        hash: &hash,
        image_id: image_id.as_deref(),
    };
    let replicas = join_settled((1..=count).map(|n| {
        let cs = by_number.remove(&n).unwrap_or_default();
        // The adopted container's volumes go to the first replica.
        let handed = if n == 1 { adopted.take() } else { None };
        prepare_replica(
            state,
            (def, member),
            current,
            n,
            cs,
            follows,
            handed.unwrap_or_default(),
        )
    }))
    .await?;
    // Kept containers that run and must restart are stopped before the dependencies are waited
    // for, as a compose restart of dependents does.
    let restart = |r: &Replica| {
        r.keep
            .as_ref()
            .is_some_and(|c| c.state == ContainerState::Running && restart_for)
    };
    join_settled(replicas.iter().filter(|r| restart(r)).map(|r| async {
        let id = r.keep.as_ref().map(|c| c.id.as_str()).unwrap_or_default();
        stop_with_hooks(state, Some(def), member, id).await
    }))
    .await?;
    let unchanged = |r: &Replica| {
        r.keep
            .as_ref()
            .is_some_and(|c| c.state == ContainerState::Running && !restart_for)
    };
    if !replicas.iter().all(unchanged) {
        wait_dependencies(state, def, member, &peers).await?;
    }
    if replicas.iter().any(|r| r.keep.is_none()) {
        publish_step(
            state,
            &def.name,
            OperationStep::Deploy,
            format!("creating {member}"),
        );
    }
    let done = join_settled(replicas.iter().map(|r| async {
        let (id, action) = match &r.keep {
            Some(c) if unchanged(r) => (c.id.clone(), MemberAction::Unchanged),
            Some(c) => {
                state.docker.start(&c.id).await?;
                run_hooks(state, Some(def), member, &c.id, HookPoint::PostStart).await?;
                (c.id.clone(), MemberAction::Started)
            }
            None => {
                let id =
                    create_and_start(state, def, revision, member, r.number, &r.carried, &peers)
                        .await?;
                let action = if r.existed {
                    MemberAction::Recreated
                } else {
                    MemberAction::Created
                };
                (id, action)
            }
        };
        refresh_live(state, &id).await;
        Ok::<_, Error>((id, action))
    }))
    .await?;
    Ok(Deployed {
        first_new: done.first().is_some_and(|(_, a)| a.is_new()),
        action: done.iter().map(|(_, a)| *a).max(),
        ids: done.into_iter().map(|(id, _)| id).collect(),
        removed: extra.into_iter().map(|c| c.name).collect(),
    })
}

async fn deploy_locked(
    state: &AppState,
    stored: &StoredService,
    profiles: &[String],
) -> Result<ActionReport> {
    let def = &stored.definition;
    let enabled = def.enabled_members(profiles).map_err(Error::Invalid)?;
    check_policy(state, def, stored.project_dir.as_deref())?;
    check_engine(state, def).await?;
    write_project_dir(state, stored).await?;
    let service_label = HashMap::from([(labels::SERVICE.to_owned(), def.name.clone())]);
    let mut existing: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
    for c in managed_containers(state, &def.name).await? {
        existing
            .entry(c.label(labels::MEMBER).unwrap_or_default().to_owned())
            .or_default()
            .push(c);
    }
    // Networks, volumes and missing images once, up front, all at once.
    tokio::try_join!(
        ensure_networks(state, def, &service_label),
        ensure_volumes(state, def, &service_label),
        ensure_images(state, def, &enabled, &existing),
    )?;
    // Missing bind sources are created owned by the member's user (not root, as Docker would).
    let mut report = ActionReport {
        warnings: crate::permissions::prepare(state, def, &enabled).await?,
        ..ActionReport::default()
    };
    let mut adopted_mounts = replace_adopted(state, stored).await?;
    report.removed.extend(
        stored
            .adopted_from
            .iter()
            .map(|id| id.chars().take(12).collect::<String>()),
    );
    // Members no longer defined go first (they may hold a port or name the new ones need).
    let gone: Vec<ContainerInfo> = existing
        .iter()
        .filter(|(member, _)| !def.services.contains_key(*member))
        .flat_map(|(_, cs)| cs.iter().cloned())
        .collect();
    futures_util::future::try_join_all(gone.iter().map(|c| stop_and_remove(state, &c.id))).await?;
    report.removed.extend(gone.into_iter().map(|c| c.name));
    // Then every member once its dependencies are done, independent ones concurrently.
    let deps: HashMap<String, Vec<String>> = enabled
        .iter()
        .map(|m| (m.clone(), def.services[m].dependencies()))
        .collect();
    let traversal = graph::in_dependency_order(
        &enabled,
        &deps,
        graph::PARALLEL_LIMIT,
        |member, done: &HashMap<String, Deployed>| {
            let plan = MemberPlan::after(
                &def.services[member],
                done,
                existing.remove(member).unwrap_or_default(),
                adopted_mounts.remove(member).unwrap_or_default(),
            );
            let member = member.to_owned();
            async move {
                deploy_member(state, def, stored.revision, &member, plan)
                    .await
                    .map_err(|e| in_member(&member, e))
            }
        },
    )
    .await;
    publish_failures(state, &def.name, &traversal);
    if let Some((_, e)) = traversal.failed.into_iter().next() {
        // The first failure in start order; the others went to the log and the event stream.
        return Err(e);
    }
    for member in enabled {
        let Some(o) = traversal.done.get(&member) else {
            continue;
        };
        report.removed.extend(o.removed.iter().cloned());
        match o.action {
            Some(MemberAction::Created) => report.created.push(member),
            Some(MemberAction::Recreated) => report.recreated.push(member),
            Some(MemberAction::Started) => report.started.push(member),
            Some(MemberAction::Unchanged) => report.unchanged.push(member),
            None => {}
        }
    }
    Ok(report)
}

impl MemberPlan {
    /// The plan of a member deployed after those `done`, with its current containers and the
    /// mounts an adopted container handed it.
    fn after(
        m: &crate::spec::Member,
        done: &HashMap<String, Deployed>,
        current: Vec<ContainerInfo>,
        adopted: Vec<(String, String)>,
    ) -> Self {
        MemberPlan {
            current,
            adopted,
            // A member sharing the network stack (or ipc/pid namespace) of one (re)created
            // now must follow it: its container joined the old container's by id.
            follows: m
                .namespace_owners()
                .iter()
                .any(|d| done.get(d).is_some_and(|o| o.first_new)),
            restart_for: m.depends_on.iter().any(|(dep, d)| {
                d.restart
                    && done
                        .get(dep)
                        .is_some_and(|o| o.action.is_some_and(|a| a != MemberAction::Unchanged))
            }),
            peers: done
                .iter()
                .map(|(k, o)| (k.clone(), o.ids.clone()))
                .collect(),
        }
    }
}

/// Adopted containers are replaced by SDMD's own on the first deploy; each hands its volume
/// mounts to the member that replaces it (by compose service, else by container name), so
/// anonymous volumes keep their data as in any recreate. Returns those mounts by member.
async fn replace_adopted(
    state: &AppState,
    stored: &StoredService,
) -> Result<HashMap<String, Vec<(String, String)>>> {
    let def = &stored.definition;
    let replaced = futures_util::future::try_join_all(stored.adopted_from.iter().map(|id| async {
        let mut handed = None;
        if let Some(c) = state
            .docker
            .list_containers(Filter::Id(id))
            .await?
            .into_iter()
            .next()
        {
            let member = c
                .label(labels::COMPOSE_SERVICE)
                .filter(|m| def.services.contains_key(*m))
                .map(str::to_owned)
                .or_else(|| {
                    def.services
                        .keys()
                        .find(|m| def.container_name(m) == c.name)
                        .cloned()
                });
            if let Some(member) = member {
                handed = Some((member, state.docker.volume_mounts(id).await?));
            }
        }
        stop_and_remove(state, id).await?;
        Ok::<_, Error>(handed)
    }))
    .await?;
    if !stored.adopted_from.is_empty() {
        db::services::clear_adopted(&state.db, &def.name).await?;
    }
    Ok(replaced.into_iter().flatten().collect())
}

/// Logs and announces the members that failed to deploy and those skipped because of them.
fn publish_failures(
    state: &AppState,
    service: &str,
    traversal: &graph::Traversal<Deployed, Error>,
) {
    for (member, e) in &traversal.failed {
        tracing::warn!(service = %service, member, error = %e, "member failed to deploy");
        publish_step(
            state,
            service,
            OperationStep::Deploy,
            format!("{member} failed: {e}"),
        );
    }
    for member in &traversal.skipped {
        publish_step(
            state,
            service,
            OperationStep::Deploy,
            format!("{member} not started: a member it depends on failed"),
        );
    }
}

/// Starts every member in dependency order (managed), or every container (unmanaged).
pub async fn start(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    lifecycle(state, ctx, name, Lifecycle::Start).await
}

/// A lifecycle action on a service's existing containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Start,
    Stop,
    Restart,
}

/// Runs a lifecycle action under the service's lock, audited: a restart stops every container
/// in reverse order, then starts every one in dependency order; a start or stop leaves the
/// containers already as wanted alone.
async fn lifecycle(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    what: Lifecycle,
) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let target = resolve(state, name).await?;
    let action = match what {
        Lifecycle::Start => Action::ServiceStart,
        Lifecycle::Stop => Action::ServiceStop,
        Lifecycle::Restart => Action::ServiceRestart,
    };
    let all = what == Lifecycle::Restart;
    audited(state, ctx, action, name, async {
        let mut report = ActionReport::default();
        if what != Lifecycle::Start {
            walk_containers(state, &target, &mut report, Direction::Stop, all).await?;
        }
        if what != Lifecycle::Stop {
            walk_containers(state, &target, &mut report, Direction::Start, all).await?;
        }
        Ok(report)
    })
    .await
}

/// Runs `step` for each member of the target once the members it depends on are done
/// (`reverse`: once the members depending on it are done), independent ones concurrently, and
/// answers per member, in that order, whether the step acted; the first error in that order
/// fails the whole after every step has settled.
async fn walk<'a, F, Fut>(
    target: &'a Resolved,
    reverse: bool,
    mut step: F,
) -> Result<Vec<(String, bool)>>
where
    F: FnMut(&'a str, &'a [ContainerInfo], Peers) -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let mut order: Vec<String> = target.members.iter().map(|(m, _)| m.clone()).collect();
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(def) = &target.definition {
        for m in &order {
            for d in def
                .services
                .get(m)
                .map(|s| s.dependencies())
                .unwrap_or_default()
            {
                if reverse {
                    deps.entry(d).or_default().push(m.clone());
                } else {
                    deps.entry(m.clone()).or_default().push(d);
                }
            }
        }
    }
    if reverse {
        order.reverse();
    }
    let traversal = graph::in_dependency_order(
        &order,
        &deps,
        graph::PARALLEL_LIMIT,
        |member, done: &HashMap<String, (bool, Vec<String>)>| {
            let (member, cs) = target
                .members
                .iter()
                .find(|(m, _)| m == member)
                .map(|(m, cs)| (m.as_str(), cs.as_slice()))
                .unwrap_or(("", &[]));
            let peers: Peers = done
                .iter()
                .map(|(m, (_, ids))| (m.clone(), ids.clone()))
                .collect();
            let ids: Vec<String> = cs.iter().map(|c| c.id.clone()).collect();
            let fut = step(member, cs, peers);
            async move {
                let acted = fut.await.map_err(|e| in_member(member, e))?;
                Ok::<_, Error>((acted, ids))
            }
        },
    )
    .await;
    if let Some((_, e)) = traversal.failed.into_iter().next() {
        return Err(e);
    }
    Ok(order
        .into_iter()
        .filter_map(|m| {
            let acted = traversal.done.get(&m)?.0;
            Some((m, acted))
        })
        .collect())
}

/// What a lifecycle walk does to each container: start it (members in dependency order) or
/// stop it (in reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Start,
    Stop,
}

impl Direction {
    /// Whether a container in `st` needs the walk (with `all`, a restart: every one does).
    fn needed(self, st: ContainerState, all: bool) -> bool {
        all || match self {
            Direction::Start => st != ContainerState::Running,
            Direction::Stop => matches!(
                st,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            ),
        }
    }
}

/// Starts the target's containers in dependency order, waiting for `depends_on` conditions, or
/// stops them in reverse dependency order (a member once every member depending on it has
/// stopped); independent members and every member's replicas concurrently. Containers already
/// as wanted are left alone unless `all` (a restart).
async fn walk_containers(
    state: &AppState,
    target: &Resolved,
    report: &mut ActionReport,
    direction: Direction,
    all: bool,
) -> Result<()> {
    let def = target.definition.as_ref();
    let reverse = direction == Direction::Stop;
    let walked = walk(target, reverse, |member, cs, peers| async move {
        let todo: Vec<&ContainerInfo> = cs
            .iter()
            .filter(|c| direction.needed(c.state, all))
            .collect();
        if direction == Direction::Start
            && let Some(def) = def
            && !todo.is_empty()
        {
            wait_dependencies(state, def, member, &peers).await?;
        }
        join_settled(todo.iter().map(|c| async {
            match direction {
                Direction::Start => {
                    state.docker.start(&c.id).await?;
                    refresh_live(state, &c.id).await;
                    run_hooks(state, def, member, &c.id, HookPoint::PostStart).await
                }
                Direction::Stop => {
                    stop_with_hooks(state, def, member, &c.id).await?;
                    refresh_live(state, &c.id).await;
                    Ok(())
                }
            }
        }))
        .await?;
        Ok(!todo.is_empty())
    })
    .await?;
    let acted = match direction {
        Direction::Start => &mut report.started,
        Direction::Stop => &mut report.stopped,
    };
    tally(walked, acted, &mut report.unchanged);
    Ok(())
}

/// Sorts a walk's members into those it acted on and those it left as they were.
fn tally(walked: Vec<(String, bool)>, acted: &mut Vec<String>, unchanged: &mut Vec<String>) {
    for (member, did) in walked {
        if did {
            acted.push(member);
        } else {
            unchanged.push(member);
        }
    }
}

/// Stops every member in reverse dependency order.
pub async fn stop(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    lifecycle(state, ctx, name, Lifecycle::Stop).await
}

/// Stops in reverse order, then starts in dependency order.
pub async fn restart(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    lifecycle(state, ctx, name, Lifecycle::Restart).await
}

/// A service's containers by member, members in start order, each member's by replica number.
struct Resolved {
    definition: Option<Definition>,
    members: Vec<(String, Vec<ContainerInfo>)>,
}

impl Resolved {
    /// Every container with its member, in start order.
    fn containers(self) -> Vec<(String, ContainerInfo)> {
        self.members
            .into_iter()
            .flat_map(|(m, cs)| cs.into_iter().map(move |c| (m.clone(), c)))
            .collect()
    }
}

async fn resolve(state: &AppState, name: &str) -> Result<Resolved> {
    let mut conn = state.db.acquire().await?;
    if let Some(stored) = db::services::get(&mut conn, name).await? {
        drop(conn);
        let mut by_member: HashMap<String, std::collections::BTreeMap<u32, ContainerInfo>> =
            HashMap::new();
        for c in managed_containers(state, name).await? {
            let m = c.label(labels::MEMBER).unwrap_or_default().to_owned();
            let replicas = by_member.entry(m).or_default();
            // Two containers of one replica only exist mid-deploy; prefer the newest.
            if replicas
                .get(&c.replica())
                .is_none_or(|old| old.created < c.created)
            {
                replicas.insert(c.replica(), c);
            }
        }
        let mut members = Vec::new();
        for member in stored.definition.start_order() {
            if let Some(cs) = by_member.remove(&member) {
                members.push((member, cs.into_values().collect()));
            }
        }
        // Containers adopted but not yet replaced still belong to the service.
        for id in &stored.adopted_from {
            if let Some(c) = state
                .docker
                .list_containers(Filter::Id(id))
                .await?
                .into_iter()
                .next()
            {
                members.push((c.name.clone(), vec![c]));
            }
        }
        return Ok(Resolved {
            definition: Some(stored.definition),
            members,
        });
    }
    drop(conn);
    ensure_docker(state)?;
    // Grouped with the stored services so that `compose:<name>` never picks up the containers
    // of a managed service of the same name.
    let stored = db::services::list(&state.db).await?;
    let address = live::Address::parse(name);
    let group = live::group(state.live.containers().await, &stored)
        .into_iter()
        .find(|g| g.kind != Kind::Managed && address.matches(g))
        .ok_or_else(|| Error::ServiceNotFound(name.to_owned()))?;
    // A compose service's containers (its replicas) go together.
    let mut members: Vec<(String, Vec<ContainerInfo>)> = Vec::new();
    for c in group.containers {
        let key = c
            .label(labels::COMPOSE_SERVICE)
            .unwrap_or(&c.name)
            .to_owned();
        match members.iter_mut().find(|(m, _)| *m == key) {
            Some((_, cs)) => cs.push(c),
            None => members.push((key, vec![c])),
        }
    }
    Ok(Resolved {
        definition: None,
        members,
    })
}

/// The outcome of pulling one image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageChange {
    /// The image reference.
    pub image: String,
    /// Local image id before the pull.
    pub old_id: Option<String>,
    /// Local image id after the pull.
    pub new_id: Option<String>,
    /// Registry digest before.
    pub old_digest: Option<String>,
    /// Registry digest after.
    pub new_digest: Option<String>,
    /// Whether the tag now points at a different image.
    pub changed: bool,
}

/// What a pull did.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    /// One entry per distinct image of the service.
    pub images: Vec<ImageChange>,
}

fn repo_digest(image: &str, info: Option<&crate::docker::ImageInfo>) -> Option<String> {
    let (repo, _) = split_image_ref(image);
    info?
        .repo_digests
        .iter()
        .find_map(|d| d.strip_prefix(&format!("{repo}@")).map(str::to_owned))
}

/// Describes what a pull did to one image.
pub(crate) fn image_change(
    image: &str,
    before: Option<&crate::docker::ImageInfo>,
    after: Option<&crate::docker::ImageInfo>,
) -> ImageChange {
    ImageChange {
        image: image.to_owned(),
        old_digest: repo_digest(image, before),
        new_digest: repo_digest(image, after),
        changed: before.map(|b| &b.id) != after.map(|a| &a.id),
        old_id: before.map(|b| b.id.clone()),
        new_id: after.map(|a| a.id.clone()),
    }
}

async fn pull_images(state: &AppState, def: &Definition) -> Result<PullReport> {
    let mut images: Vec<String> = Vec::new();
    for m in def.services.values() {
        if !images.contains(&m.image) {
            images.push(m.image.clone());
        }
    }
    let mut out = Vec::new();
    for image in images {
        let before = state.docker.image(&image).await?;
        pull_one(state, &def.name, &image).await?;
        let after = state.docker.image(&image).await?;
        out.push(image_change(&image, before.as_ref(), after.as_ref()));
    }
    Ok(PullReport { images: out })
}

/// Pulls every image of a managed service; progress goes to the event bus.
pub async fn pull(state: &AppState, ctx: &AuditContext, name: &str) -> Result<PullReport> {
    let _guard = state.locks.lock(name).await;
    let stored = load(state, name).await?;
    audited(
        state,
        ctx,
        Action::ServicePull,
        name,
        pull_images(state, &stored.definition),
    )
    .await
}

/// The log lines of one container.
#[derive(Debug, Clone)]
pub struct ContainerLogs {
    /// Container name.
    pub container: String,
    /// Member name.
    pub member: String,
    /// Container state when read.
    pub state: ContainerState,
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
}

/// The containers whose logs a service shows: (member, container).
pub async fn log_targets(state: &AppState, name: &str) -> Result<Vec<(String, ContainerInfo)>> {
    Ok(resolve(state, name).await?.containers())
}

/// The last `tail` lines of every container of a service.
pub async fn logs(state: &AppState, name: &str, tail: u32) -> Result<Vec<ContainerLogs>> {
    let mut out = Vec::new();
    for (member, c) in log_targets(state, name).await? {
        let lines = state.docker.logs_tail(&c.id, tail).await?;
        out.push(ContainerLogs {
            container: c.name,
            member,
            state: c.state,
            lines,
        });
    }
    Ok(out)
}

/// The lines of every container of a service from the last `tail` on, as they are written, each
/// with its container's name; ends when the server shuts down. A line that cannot be read is
/// skipped.
pub async fn follow_logs(
    state: &AppState,
    name: &str,
    tail: u32,
) -> Result<impl futures_util::Stream<Item = (String, LogLine)> + Send + use<>> {
    use futures_util::StreamExt;
    let mut streams = Vec::new();
    for (_, c) in log_targets(state, name).await? {
        let container = c.name.clone();
        let lines = state.docker.logs(&c.id, tail, true).await?;
        streams.push(
            lines
                .filter_map(move |l| std::future::ready(l.ok().map(|l| (container.clone(), l))))
                .boxed(),
        );
    }
    Ok(futures_util::stream::select_all(streams)
        .take_until(state.shutdown.clone().cancelled_owned()))
}

/// Every stored revision of a service's definition, newest first.
pub async fn revisions(state: &AppState, name: &str) -> Result<Vec<db::services::Revision>> {
    let revs = db::services::revisions(&state.db, name).await?;
    if revs.is_empty() {
        return Err(Error::ServiceNotFound(name.into()));
    }
    Ok(revs)
}

/// The compose file and `.env`/env files a docker-compose project was started from, read from
/// its working directory (labels `com.docker.compose.project.config_files` and `…working_dir`).
/// `None` when they are not readable from here or the project used several files (overrides),
/// in which case adopt reconstructs the definition from inspect instead.
async fn compose_project_of(group: &live::Group, name: &str) -> Option<(String, Project)> {
    let first = group.containers.first()?;
    let dir = first
        .label("com.docker.compose.project.working_dir")?
        .to_owned();
    let files = first.label("com.docker.compose.project.config_files")?;
    let [file] = files.split(',').collect::<Vec<_>>()[..] else {
        return None;
    };
    let file = std::path::Path::new(&dir).join(file);
    let dir_path = std::path::PathBuf::from(&dir);
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&file).ok()?;
        let mut source = crate::spec::yaml_document(&bytes).ok()?;
        let obj = source.as_object_mut()?;
        obj.remove("version");
        obj.insert("name".into(), serde_json::Value::String(name));
        let mut files = indexmap::IndexMap::new();
        if let Ok(env) = std::fs::read(dir_path.join(".env")) {
            files.insert(".env".to_owned(), env);
        }
        let env_files: Vec<String> = source["services"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(_, m)| match &m["env_file"] {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|e| e.as_str().or_else(|| e["path"].as_str()))
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // The files its secrets and configs read from the project directory.
        let object_files: Vec<String> = ["secrets", "configs"]
            .iter()
            .flat_map(|k| source[*k].as_object().into_iter().flatten())
            .filter_map(|(_, d)| d["file"].as_str().map(str::to_owned))
            .filter(|f| !f.starts_with('/'))
            .collect();
        for f in env_files.into_iter().chain(object_files) {
            let rel = f.trim_start_matches("./").to_owned();
            if crate::project::check_path(&rel).is_ok()
                && let Ok(content) = std::fs::read(dir_path.join(&rel))
            {
                files.insert(rel, content);
            }
        }
        Some((dir, Project { source, files }))
    })
    .await
    .ok()
    .flatten()
}

/// Every volume the containers of a group mount (named and anonymous): someone else's data.
async fn adopted_volumes(state: &AppState, group: &live::Group) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in &group.containers {
        for (_, v) in state.docker.volume_mounts(&c.id).await? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Adopts a docker-compose project from its own files: the stored document is the original
/// compose file (its `${VAR}` text kept), with its `.env` and env files, and the project's
/// working directory stays its project directory, so `./` paths keep pointing where they did.
async fn adopt_compose_files(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    group: &live::Group,
    dir: &str,
    project: Project,
) -> Result<ServiceView> {
    let resolved = resolve_project(state, name, Some(dir), &project).await?;
    let def = resolved.display;
    let files = seal_files(state, name, &project)?;
    let ids: Vec<String> = group.containers.iter().map(|c| c.id.clone()).collect();
    let mut tx = Change::begin(&state.db).await?;
    db::services::insert(
        &mut tx,
        &def,
        &ctx.actor,
        &ids,
        db::services::RevisionSource {
            source: Some(&project.source),
            files: &files,
        },
    )
    .await
    .map_err(|e| name_taken(e, name))?;
    db::services::set_project_dir(&mut tx, name, dir).await?;
    db::services::set_foreign_volumes(&mut tx, name, &adopted_volumes(state, group).await?).await?;
    tx.record(
        ctx,
        Record {
            action: Action::ServiceAdopt,
            target: Some(name),
            result: "ok",
            details: json!({
                "containers": group.containers.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "from": "compose_file",
                "project_dir": dir,
                "files": project.files.keys().collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    let mut view = get(state, name).await?;
    view.warnings = resolved.warnings;
    Ok(view)
}

/// Parses compose v2's `com.docker.compose.depends_on` label (`service:condition:restart`,
/// comma-separated) into dependencies on the members `by_service` names; entries naming a
/// service outside the group or an unknown condition are left out (the label is informational,
/// and compose itself writes it only for services of the project).
fn compose_depends_on(
    label: &str,
    by_service: &HashMap<String, String>,
) -> Vec<(String, crate::spec::DependsOn)> {
    use crate::spec::{Condition, DependsOn};
    label
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.trim().splitn(3, ':');
            let service = parts.next()?;
            let condition = match parts.next().unwrap_or("service_started") {
                "service_started" => Condition::ServiceStarted,
                "service_healthy" => Condition::ServiceHealthy,
                "service_completed_successfully" => Condition::ServiceCompletedSuccessfully,
                _ => return None,
            };
            let restart = parts.next() == Some("true");
            let member = by_service.get(service)?;
            Some((
                member.clone(),
                DependsOn {
                    condition,
                    restart,
                    required: true,
                },
            ))
        })
        .collect()
}

/// Imports an unmanaged service's definition from its containers (minus image defaults). The
/// containers keep running; the first deploy replaces them with SDMD's own.
///
/// When a container has settings the definition cannot express, nothing is stored and the
/// answer lists them ([`Error::WouldLose`]) unless `accept_loss`: then the definition is stored
/// without them and the answer (and the audit entry) lists what was dropped.
pub async fn adopt(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    accept_loss: bool,
) -> Result<ServiceView> {
    let _guard = state.locks.lock(name).await;
    let mut conn = state.db.acquire().await?;
    if db::services::get(&mut conn, name).await?.is_some() {
        return Err(Error::AlreadyManaged(name.into()));
    }
    drop(conn);
    ensure_docker(state)?;
    let group = live::group(state.live.containers().await, &[])
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| Error::ServiceNotFound(name.to_owned()))?;
    let service_name = crate::spec::ServiceName::parse(name).map_err(|m| problem("name", m))?;
    if group.kind == Kind::Compose
        && let Some((dir, project)) = compose_project_of(&group, name).await
    {
        return adopt_compose_files(state, ctx, name, &group, &dir, project).await;
    }
    let mut inspected = inspect_group(state, &group).await?;
    link_compose_depends_on(&mut inspected.services, &group, inspected.depends_labels);
    refer_to_members(&mut inspected.services);
    fold_replicas(&mut inspected.services, inspected.replicas_of);
    let def = Definition {
        name: service_name.to_string(),
        services: inspected.services,
        volumes: inspected.volumes,
        networks: inspected.networks,
        secrets: indexmap::IndexMap::new(),
        configs: indexmap::IndexMap::new(),
        extensions: indexmap::IndexMap::new(),
    };
    let lost = inspected.lost;
    if !lost.is_empty() && !accept_loss {
        return Err(Error::WouldLose(lost));
    }
    // What inspect produced must pass the same validation as user input.
    let def = crate::spec::parse(&serde_json::to_value(&def).unwrap_or_default())
        .map_err(Error::Invalid)?;
    store_adopted(state, ctx, &group, &def, &inspected.ids, lost).await
}

/// What inspect reads back from the containers of a group, one member each, merged.
#[derive(Default)]
struct Inspected {
    services: indexmap::IndexMap<String, crate::spec::Member>,
    volumes: indexmap::IndexMap<String, crate::spec::VolumeDecl>,
    networks: indexmap::IndexMap<String, crate::spec::network::NetworkDecl>,
    /// The containers' ids, in the group's order.
    ids: Vec<String>,
    /// Settings the first deploy would not reproduce.
    lost: Vec<crate::docker::LostSetting>,
    /// Each member's `com.docker.compose.depends_on` label.
    depends_labels: Vec<(String, String)>,
    /// Compose service → (container number, member key) of each of its containers.
    replicas_of: indexmap::IndexMap<String, Vec<(u32, String)>>,
}

/// Inspects every container of a group into a member of its own (a key already taken gets an
/// `x` appended), merging their volume and network declarations.
async fn inspect_group(state: &AppState, group: &live::Group) -> Result<Inspected> {
    let mut out = Inspected::default();
    for c in &group.containers {
        let mut a = state.docker.adopt_member(&c.id).await?;
        // The first deploy would not reproduce these settings.
        out.lost
            .extend(std::mem::take(&mut a.lost).into_iter().map(|mut l| {
                l.container = c.name.clone();
                l
            }));
        merge_volumes(&mut out.volumes, &mut a);
        merge_networks(&mut out.networks, &mut a);
        let mut member = a.member;
        while out.services.contains_key(&member) {
            member.push('x');
        }
        if let Some(svc) = c.label(labels::COMPOSE_SERVICE) {
            out.replicas_of.entry(svc.to_owned()).or_default().push((
                c.label(labels::COMPOSE_NUMBER)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                member.clone(),
            ));
        }
        if let Some(l) = c.label(labels::COMPOSE_DEPENDS_ON) {
            out.depends_labels.push((member.clone(), l.to_owned()));
        }
        out.services.insert(member, a.spec);
        out.ids.push(c.id.clone());
    }
    Ok(out)
}

/// Adds an adopted member's volume declarations. Two containers of one project share a volume
/// under the same key and name; a key already used for a different volume is renamed, in the
/// member's mounts too.
fn merge_volumes(
    volumes: &mut indexmap::IndexMap<String, crate::spec::VolumeDecl>,
    a: &mut crate::docker::Adopted,
) {
    for (key, decl) in std::mem::take(&mut a.volumes) {
        let renamed = match volumes.get(&key) {
            Some(d) if d != &decl => format!("{}-{key}", a.member),
            _ => key.clone(),
        };
        if renamed != key {
            for m in &mut a.spec.volumes {
                // Adoption writes the short syntax only.
                if let crate::spec::VolumeEntry::Short(s) = m
                    && let Some(rest) = s.strip_prefix(&format!("{key}:"))
                {
                    *s = format!("{renamed}:{rest}");
                }
            }
        }
        volumes.insert(renamed, decl);
    }
}

/// Adds an adopted member's network declarations; as for volumes, a key already used for a
/// different network is renamed, in the member's attachments too.
fn merge_networks(
    networks: &mut indexmap::IndexMap<String, crate::spec::network::NetworkDecl>,
    a: &mut crate::docker::Adopted,
) {
    for (key, decl) in std::mem::take(&mut a.networks) {
        let renamed = match networks.get(&key) {
            Some(d) if d != &decl => format!("{}-{key}", a.member),
            _ => key.clone(),
        };
        if renamed != key
            && let Some(att) = a.spec.network.networks.shift_remove(&key)
        {
            a.spec.network.networks.insert(renamed.clone(), att);
        }
        networks.insert(renamed, decl);
    }
}

/// Compose v2 records `depends_on` in a label (1.29 does not): read back for the services of
/// this group, by their compose service names.
fn link_compose_depends_on(
    services: &mut indexmap::IndexMap<String, crate::spec::Member>,
    group: &live::Group,
    depends_labels: Vec<(String, String)>,
) {
    let by_compose_service: HashMap<String, String> = group
        .containers
        .iter()
        .zip(services.keys())
        .filter_map(|(c, k)| Some((c.label(labels::COMPOSE_SERVICE)?.to_owned(), k.clone())))
        .collect();
    for (member, label) in depends_labels {
        let deps = compose_depends_on(&label, &by_compose_service);
        if let Some(m) = services.get_mut(&member) {
            for (dep, d) in deps {
                if dep != member {
                    m.depends_on.entry(dep).or_insert(d);
                }
            }
        }
    }
}

/// A member referring to another container of the group (links, a shared network stack,
/// namespaces, `volumes_from`) refers to it as a member.
fn refer_to_members(services: &mut indexmap::IndexMap<String, crate::spec::Member>) {
    let by_container: HashMap<String, String> = services
        .iter()
        .filter_map(|(k, m)| Some((m.container_name.clone()?, k.clone())))
        .collect();
    for m in services.values_mut() {
        m.network.links = member_links(std::mem::take(&mut m.network.links), &by_container);
        if let Some(member) = m
            .network
            .network_mode
            .as_deref()
            .and_then(|n| n.strip_prefix("container:"))
            .and_then(|c| by_container.get(c))
        {
            m.network.network_mode = Some(format!("service:{member}"));
        }
        // Namespaces and volumes of another container of the group: `service:<member>`.
        for r in [&mut m.runtime.ipc, &mut m.runtime.pid]
            .into_iter()
            .flatten()
            .chain(m.runtime.volumes_from.iter_mut())
        {
            let Some(rest) = r.strip_prefix("container:") else {
                continue;
            };
            let (cname, mode) = rest.split_once(':').unwrap_or((rest, ""));
            if let Some(member) = by_container.get(cname) {
                let mode = if mode.is_empty() {
                    String::new()
                } else {
                    format!(":{mode}")
                };
                *r = format!("service:{member}{mode}");
            }
        }
    }
}

/// Links read back as `<container>:<alias>`: to `member[:alias]`, dropping the names the
/// engine and compose add (the container name, compose's `<service>_<n>`).
fn member_links(links: Vec<String>, by_container: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for l in links {
        let (cname, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
        let alias = alias.rsplit('/').next().unwrap_or(alias);
        let Some(member) = by_container.get(cname) else {
            // Not a container of this group: kept as is, so validation reports it.
            out.push(l.clone());
            continue;
        };
        let numbered = alias
            .strip_prefix(&format!("{member}_"))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let link = if alias == member || alias == cname || numbered {
            member.clone()
        } else {
            format!("{member}:{alias}")
        };
        if !out.contains(&link) {
            out.push(link);
        }
    }
    out
}

/// Stores an adopted definition (no source document: it was read from inspect) with the
/// group's containers and the volumes they mount as someone else's, audited with what was
/// dropped.
async fn store_adopted(
    state: &AppState,
    ctx: &AuditContext,
    group: &live::Group,
    def: &Definition,
    ids: &[String],
    lost: Vec<crate::docker::LostSetting>,
) -> Result<ServiceView> {
    let name = group.name.as_str();
    let mut tx = Change::begin(&state.db).await?;
    db::services::insert(
        &mut tx,
        def,
        &ctx.actor,
        ids,
        db::services::RevisionSource::NONE,
    )
    .await
    .map_err(|e| name_taken(e, name))?;
    db::services::set_foreign_volumes(&mut tx, name, &adopted_volumes(state, group).await?).await?;
    tx.record(
        ctx,
        Record {
            action: Action::ServiceAdopt,
            target: Some(name),
            result: "ok",
            details: json!({
                "containers": group.containers.iter().map(|c| &c.name).collect::<Vec<_>>(),
                "dropped": lost,
            }),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    let mut view = get(state, name).await?;
    view.dropped = lost;
    Ok(view)
}

/// The containers of one scaled compose service (`scale: N`, `--scale`) become one member with
/// `scale: N` when their settings agree apart from their names (the first replica's settings,
/// no `container_name`: SDMD names the replicas). Replicas that differ — e.g. each with its own
/// anonymous volume, whose data must stay with it — stay members of their own, as does a
/// replica another member refers to.
fn fold_replicas(
    services: &mut indexmap::IndexMap<String, crate::spec::Member>,
    replicas_of: indexmap::IndexMap<String, Vec<(u32, String)>>,
) {
    let unnamed = |m: &crate::spec::Member| {
        let mut m = m.clone();
        m.container_name = None;
        m
    };
    for (_, mut keys) in replicas_of {
        if keys.len() < 2 {
            continue;
        }
        keys.sort();
        let Some(base) = services.get(&keys[0].1).map(unnamed) else {
            continue;
        };
        let same = keys[1..]
            .iter()
            .all(|(_, k)| services.get(k).map(unnamed).as_ref() == Some(&base));
        let distinct: std::collections::HashSet<u32> = keys.iter().map(|(n, _)| *n).collect();
        let referenced = services.iter().any(|(k, m)| {
            !keys.iter().any(|(_, r)| r == k)
                && m.dependencies()
                    .iter()
                    .any(|d| keys.iter().any(|(_, r)| r == d))
        });
        if !same || distinct.len() != keys.len() || referenced {
            continue;
        }
        // The plain key (the compose service's) names the member.
        let name = keys
            .iter()
            .map(|(_, k)| k.clone())
            .min_by_key(String::len)
            .unwrap_or_default();
        let at = keys
            .iter()
            .filter_map(|(_, k)| services.get_index_of(k))
            .min()
            .unwrap_or(0);
        for (_, k) in &keys {
            services.shift_remove(k);
        }
        let mut member = base;
        member.runtime.scale = u32::try_from(keys.len()).ok();
        services.shift_insert(at.min(services.len()), name, member);
    }
}

/// A project file's content as the API shows it.
#[derive(Debug, Clone)]
pub struct FileContent {
    /// Path relative to the project directory.
    pub path: String,
    /// Whether the file is sealed at rest.
    pub sealed: bool,
    /// Whether `content` has its values masked (a sealed file not explicitly revealed).
    pub masked: bool,
    /// The text (masked: `KEY=********` per line for env files, `********` otherwise).
    pub content: String,
}

/// The project of a managed service as stored now (source document and files in clear).
async fn current_project(state: &AppState, name: &str) -> Result<Project> {
    let stored = load(state, name).await?;
    let mut conn = state.db.acquire().await?;
    let source = match db::services::project(&mut conn, name).await? {
        Some((Some(source), _)) => source,
        // Older revisions and adopted services: the definition is its own source.
        _ => serde_json::to_value(&stored.definition).unwrap_or_default(),
    };
    Ok(Project {
        source,
        files: stored
            .files
            .into_iter()
            .map(|f| (f.path, f.content))
            .collect(),
    })
}

/// The files of a service's current revision (never their content).
pub async fn list_files(state: &AppState, name: &str) -> Result<Vec<crate::project::FileInfo>> {
    let project = current_project(state, name).await?;
    Ok(project
        .files
        .iter()
        .map(|(path, content)| {
            use sha2::Digest;
            crate::project::FileInfo {
                path: path.clone(),
                size: content.len(),
                sealed: crate::project::is_sealed(path, &project.source),
                sha256: hex::encode(sha2::Sha256::digest(content)),
            }
        })
        .collect())
}

/// One file. A sealed file is masked unless `reveal`, which is audited.
pub async fn read_file(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    path: &str,
    reveal: bool,
) -> Result<FileContent> {
    let project = current_project(state, name).await?;
    let content = project.files.get(path).ok_or_else(|| {
        problem(
            &format!("files.{path}"),
            "no such file in this service's project",
        )
    })?;
    let sealed = crate::project::is_sealed(path, &project.source);
    let text = String::from_utf8_lossy(content).into_owned();
    if sealed && reveal {
        audit_alone(
            state,
            ctx,
            Action::ServiceFileReveal,
            name,
            "ok",
            json!({"path": path}),
        )
        .await;
    }
    let masked = sealed && !reveal;
    Ok(FileContent {
        path: path.to_owned(),
        sealed,
        masked,
        content: if masked { mask_text(path, &text) } else { text },
    })
}

/// Masks the values of an env-format file (`KEY=********`), or all of anything else.
fn mask_text(path: &str, text: &str) -> String {
    let env_like = path
        .rsplit('/')
        .next()
        .is_some_and(|n| n == ".env" || n.ends_with(".env"))
        || text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l.contains('=')
        });
    if !env_like || path.starts_with("secrets/") {
        return crate::spec::interpolate::MASK.to_owned();
    }
    text.lines()
        .map(|l| match l.split_once('=') {
            Some((k, _)) if !l.trim_start().starts_with('#') => {
                format!("{k}={}", crate::spec::interpolate::MASK)
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Stores a new revision of the document only: the service's current files stay (a plain
/// YAML/JSON `PUT` without `files`).
pub async fn replace_keeping_files(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    source: serde_json::Value,
) -> Result<ServiceView> {
    // Read the stored files directly: they stay even if the current revision no longer resolves.
    let stored = {
        let mut conn = state.db.acquire().await?;
        db::services::project(&mut conn, name)
            .await?
            .map(|(_, files)| files)
            .unwrap_or_default()
    };
    let files = open_files(state, name, stored)?
        .into_iter()
        .map(|f| (f.path, f.content))
        .collect();
    replace(state, ctx, name, Project { source, files }).await
}

/// Replaces (or adds) one file: a new revision, validated like any other.
pub async fn put_file(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    path: &str,
    content: Vec<u8>,
) -> Result<ServiceView> {
    crate::project::check_path(path).map_err(|m| problem(&format!("files.{path}"), m))?;
    let mut project = current_project(state, name).await?;
    project.files.insert(path.to_owned(), content);
    replace(state, ctx, name, project).await
}

/// The effective compose document of the current revision: interpolated, env files merged,
/// relative paths anchored, sealed values masked.
pub async fn resolved_document(state: &AppState, name: &str) -> Result<Definition> {
    let stored = load(state, name).await?;
    let project = current_project(state, name).await?;
    Ok(
        resolve_project(state, name, stored.project_dir.as_deref(), &project)
            .await?
            .display,
    )
}

/// One variable of a member's effective environment, as shown: its value masked when it came
/// from a sealed file or a secret variable.
#[derive(Debug, Clone)]
pub struct EnvVar {
    /// The variable's name.
    pub name: String,
    /// Its value as shown (`********` when masked).
    pub value: String,
    /// Where it came from.
    pub source: crate::project::EnvSource,
}

/// The effective environment of every member of the current revision, with the source of
/// each value, resolved with the variables of this moment (as a deploy now would).
pub async fn environment(
    state: &AppState,
    name: &str,
) -> Result<indexmap::IndexMap<String, Vec<EnvVar>>> {
    let stored = load(state, name).await?;
    let project = current_project(state, name).await?;
    let resolved = resolve_project(state, name, stored.project_dir.as_deref(), &project).await?;
    Ok(resolved
        .display
        .services
        .iter()
        .map(|(member, m)| {
            let sources = resolved.sources.get(member);
            let vars = m
                .environment
                .iter()
                .filter_map(|(k, v)| {
                    let source = sources?.get(k)?.clone();
                    Some(EnvVar {
                        name: k.clone(),
                        value: v.clone(),
                        source,
                    })
                })
                .collect();
            (member.clone(), vars)
        })
        .collect())
}

/// The document as written (with its `${VAR}` text), for export.
pub async fn source_document(state: &AppState, name: &str) -> Result<serde_json::Value> {
    Ok(current_project(state, name).await?.source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Condition;

    #[test]
    fn compose_depends_on_label_reads_back_conditions_and_restart() {
        let by = HashMap::from([
            ("db".to_owned(), "db".to_owned()),
            ("cache".to_owned(), "redis".to_owned()),
        ]);
        let deps = compose_depends_on(
            "db:service_healthy:true,cache:service_started:false,gone:service_started:false,db2:bogus:false",
            &by,
        );
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0].0, "db");
        assert_eq!(deps[0].1.condition, Condition::ServiceHealthy);
        assert!(deps[0].1.restart);
        assert_eq!(deps[1].0, "redis");
        assert_eq!(deps[1].1.condition, Condition::ServiceStarted);
        assert!(!deps[1].1.restart);
        assert!(compose_depends_on("", &by).is_empty());
    }
}
