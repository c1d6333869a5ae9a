//! Service operations: the domain functions handlers and the CLI call. Each mutation writes
//! exactly one audit row; definition changes write it in the same transaction as the change.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::audit::{self, AuditContext, NewEntry};
use crate::db::{self, services::StoredService};
use crate::docker::{
    ContainerInfo, ContainerState, DockerError, Filter, Health, LogLine, container_body, labels,
};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::live::{self, Kind, Status};
use crate::spec::{Condition, Definition, Problem, split_image_ref};
use crate::state::AppState;

/// How long a member waits for a `service_healthy` dependency.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(120);
/// Stop timeout before SIGKILL.
const STOP_TIMEOUT_S: i32 = 10;

/// A service as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
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
    /// Its containers.
    pub containers: Vec<ContainerInfo>,
    /// The stored definition (managed only; omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
    /// When the definition was first stored.
    pub created_at: Option<DateTime<Utc>>,
    /// When the last revision was stored.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the latest registry check found a newer image (managed only).
    pub update_available: bool,
    /// What the latest check found, when it found something (a tag move before a digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_update: Option<PendingUpdate>,
    /// When the service was last updated successfully.
    pub last_updated: Option<DateTime<Utc>>,
    /// Its update schedule, when one is stored (managed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::Schedule>,
}

/// The update a service's latest check found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingUpdate {
    /// The image reference of the definition it concerns.
    pub image: String,
    /// `digest` (the tag points at a newer image) or `tag` (the strategy moves to `target`).
    pub kind: String,
    /// For `tag`: the image it moves to.
    pub target: Option<String>,
    /// For `tag`: `major`, `minor`, `patch` or `prerelease`.
    pub semver_diff: Option<String>,
}

fn view(g: live::Group, stored: Option<&StoredService>, with_definition: bool) -> ServiceView {
    ServiceView {
        status: live::status_of(&g.containers),
        deployed: !g.containers.is_empty(),
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

/// Every service, managed and unmanaged, from the live cache (no Docker call).
pub async fn list(state: &AppState) -> Result<Vec<ServiceView>> {
    ensure_docker(state)?;
    let stored = db::services::list(&state.db).await?;
    let by_name: HashMap<&str, &StoredService> =
        stored.iter().map(|s| (s.name.as_str(), s)).collect();
    let updates = db::updates::summaries(&state.db).await?;
    let mut pending = db::updates::pending(&state.db).await?;
    let schedules: HashMap<String, crate::schedule::Schedule> = db::schedules::all(&state.db)
        .await?
        .iter()
        .map(|r| (r.service.clone(), crate::schedule::Schedule::from_row(r)))
        .collect();
    let groups = live::group(state.live.containers().await, &stored);
    Ok(groups
        .into_iter()
        .map(|g| {
            let s = (g.kind == Kind::Managed)
                .then(|| by_name.get(g.name.as_str()).copied())
                .flatten();
            let mut v = view(g, s, false);
            if let Some((available, last)) = s.and_then(|s| updates.get(&s.name)) {
                v.update_available = *available;
                v.last_updated = *last;
                v.pending_update = pending.remove(&v.name);
            }
            v.schedule = s.and_then(|s| schedules.get(&s.name).cloned());
            v
        })
        .collect())
}

/// One service with its definition (managed) and containers.
pub async fn get(state: &AppState, name: &str) -> Result<ServiceView> {
    let stored = db::services::list(&state.db).await?;
    let containers = if state.live.connected() {
        state.live.containers().await
    } else {
        Vec::new()
    };
    let found = live::group(containers, &stored)
        .into_iter()
        .find(|g| g.name == name);
    match found {
        Some(g) => {
            let s = stored
                .iter()
                .find(|s| s.name == name && g.kind == Kind::Managed);
            if s.is_none() {
                ensure_docker(state)?;
            }
            let mut v = view(g, s, true);
            if s.is_some() {
                if let Some((available, last)) = db::updates::summaries(&state.db).await?.get(name)
                {
                    v.update_available = *available;
                    v.last_updated = *last;
                }
                v.pending_update = db::updates::pending(&state.db).await?.remove(name);
            }
            Ok(v)
        }
        None => {
            ensure_docker(state)?;
            Err(Error::ServiceNotFound(name.to_owned()))
        }
    }
}

pub(crate) async fn load(state: &AppState, name: &str) -> Result<StoredService> {
    let mut conn = state.db.acquire().await?;
    match db::services::get(&mut conn, name).await? {
        Some(s) => Ok(s),
        None => {
            // Distinguish "exists but unmanaged" from "does not exist at all".
            let unmanaged = state.live.connected()
                && live::group(state.live.containers().await, &[])
                    .iter()
                    .any(|g| g.name == name);
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
        Error::Unmanaged(_) => "unmanaged_service",
        Error::AlreadyManaged(_) => "already_managed",
        Error::DependencyNotReady { .. } => "dependency_not_ready",
        Error::Docker(DockerError::Unavailable(_)) => "docker_unavailable",
        Error::Docker(DockerError::NotFound(_)) => "docker_not_found",
        Error::Docker(DockerError::Conflict(_)) => "docker_conflict",
        Error::Docker(DockerError::Other(_)) => "docker_error",
        Error::Database(_) => "database_error",
        Error::RegistryNotFound(_) => "registry_not_found",
        Error::Secret(_) => "secret_unavailable",
    }
}

/// Appends an audit row outside any other change and publishes it.
pub(crate) async fn audit_alone(
    state: &AppState,
    ctx: &AuditContext,
    action: &str,
    target: &str,
    result: &str,
    details: serde_json::Value,
) {
    let entry = NewEntry {
        action,
        target: Some(target),
        result,
        details,
    };
    let written = async {
        let mut conn = state.db.acquire().await?;
        audit::record(&mut conn, ctx, &entry).await
    }
    .await;
    match written {
        Ok(e) => state.bus.publish(Event::Audit { entry: e }),
        // The operation itself already happened; losing its audit row must be loud.
        Err(e) => tracing::error!(error = %e, action, target, "failed to write audit row"),
    }
}

/// Runs a Docker operation and records its outcome (ok or the error code) in the audit log.
async fn audited<T: Serialize>(
    state: &AppState,
    ctx: &AuditContext,
    action: &str,
    target: &str,
    op: impl Future<Output = Result<T>>,
) -> Result<T> {
    state.bus.publish(Event::Operation {
        service: target.into(),
        action: action.into(),
        phase: "started".into(),
        message: String::new(),
    });
    let r = op.await;
    let (result, details, phase, message) = match &r {
        Ok(v) => (
            "ok",
            serde_json::to_value(v).unwrap_or_default(),
            "finished",
            String::new(),
        ),
        Err(e) => (
            code_of(e),
            json!({ "error": e.to_string() }),
            "failed",
            e.to_string(),
        ),
    };
    audit_alone(state, ctx, action, target, result, details).await;
    state.bus.publish(Event::Operation {
        service: target.into(),
        action: action.into(),
        phase: phase.into(),
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

fn name_taken(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("services_name_key") => {
            Error::NameTaken(name.to_owned())
        }
        _ => Error::Database(e),
    }
}

/// Stores a new service (revision 1).
pub async fn create(state: &AppState, ctx: &AuditContext, def: Definition) -> Result<ServiceView> {
    let mut tx = state.db.begin().await?;
    db::services::insert(&mut tx, &def, &ctx.actor, &[])
        .await
        .map_err(|e| name_taken(e, &def.name))?;
    let entry = audit::record(
        &mut tx,
        ctx,
        &NewEntry {
            action: "service.create",
            target: Some(&def.name),
            result: "ok",
            details: json!({"revision": 1}),
        },
    )
    .await?;
    tx.commit().await?;
    state.bus.publish(Event::Audit { entry });
    get(state, &def.name).await
}

/// Stores a new revision of an existing service's definition.
pub async fn replace(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    def: Definition,
) -> Result<ServiceView> {
    if def.name != name {
        return Err(problem(
            "name",
            format!("must be `{name}` (renaming a service is not supported)"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let old = db::services::get(&mut tx, name)
        .await?
        .ok_or_else(|| Error::ServiceNotFound(name.into()))?;
    if old.definition == def {
        // Nothing changed: no new revision, no audit row.
        drop(tx);
        return get(state, name).await;
    }
    let revision = db::services::new_revision(&mut tx, &def, &ctx.actor)
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
    let entry = audit::record(
        &mut tx,
        ctx,
        &NewEntry {
            action: "service.edit",
            target: Some(name),
            result: "ok",
            details: json!({"revision": {"from": old.revision, "to": revision}, "members_changed": changed}),
        },
    )
    .await?;
    tx.commit().await?;
    state.bus.publish(Event::Audit { entry });
    get(state, name).await
}

/// Containers SDMD created for a service (asked from Docker, not the cache).
async fn managed_containers(state: &AppState, name: &str) -> Result<Vec<ContainerInfo>> {
    Ok(state
        .docker
        .list_containers(Filter::Label(labels::SERVICE, name))
        .await?)
}

/// What a removal did.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
        let external: Vec<String> = stored
            .definition
            .volumes
            .iter()
            .filter(|(_, d)| d.external)
            .map(|(v, _)| stored.definition.volume_name(v))
            .collect();
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
                "service.delete",
                name,
                code_of(&e),
                json!({"error": e.to_string()}),
            )
            .await;
            return Err(e);
        }
    };
    let mut tx = state.db.begin().await?;
    if !db::services::delete(&mut tx, name).await? {
        return Err(Error::ServiceNotFound(name.into()));
    }
    let entry = audit::record(
        &mut tx,
        ctx,
        &NewEntry {
            action: "service.delete",
            target: Some(name),
            result: "ok",
            details: json!({"revision": stored.revision, "containers": report.containers, "volumes": report.volumes}),
        },
    )
    .await?;
    tx.commit().await?;
    state.bus.publish(Event::Audit { entry });
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
    state
        .docker
        .stop(id, STOP_TIMEOUT_S)
        .await
        .or_else(ignore_gone)?;
    state.docker.remove_container(id, anonymous_volumes).await
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
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
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
}

fn publish_step(state: &AppState, service: &str, action: &str, message: String) {
    state.bus.publish(Event::Operation {
        service: service.into(),
        action: action.into(),
        phase: "step".into(),
        message,
    });
}

async fn ensure_image(state: &AppState, service: &str, image: &str) -> Result<()> {
    if state.docker.image(image).await?.is_none() {
        publish_step(state, service, "deploy", format!("pulling {image}"));
        pull_one(state, service, image).await?;
    }
    Ok(())
}

pub(crate) async fn pull_one(state: &AppState, service: &str, image: &str) -> Result<()> {
    let bus = state.bus.clone();
    let (svc, img) = (service.to_owned(), image.to_owned());
    let login = match crate::registry::ImageRef::parse(image) {
        Some(r) => crate::registry::credentials::for_host(state, &r.registry)
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

/// Waits until `member`'s dependencies meet their conditions.
pub(crate) async fn wait_dependencies(
    state: &AppState,
    def: &Definition,
    member: &str,
    ids: &HashMap<String, String>,
) -> Result<()> {
    let Some(m) = def.services.get(member) else {
        return Ok(());
    };
    for (dep, d) in &m.depends_on {
        let not_ready = |reason: String| Error::DependencyNotReady {
            member: member.into(),
            dependency: dep.clone(),
            reason,
        };
        let Some(id) = ids.get(dep) else {
            return Err(not_ready("it has no container".into()));
        };
        let deadline = tokio::time::Instant::now() + HEALTHY_TIMEOUT;
        loop {
            let (st, health) = state.docker.container_status(id).await?;
            match (d.condition, st, health) {
                (_, ContainerState::Exited | ContainerState::Dead, _) => {
                    return Err(not_ready(format!("its container is {}", state_word(st))));
                }
                (
                    Condition::ServiceStarted,
                    ContainerState::Running | ContainerState::Restarting,
                    _,
                ) => break,
                (Condition::ServiceHealthy, ContainerState::Running, Health::Healthy) => break,
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
                    if d.condition == Condition::ServiceHealthy {
                        "healthy"
                    } else {
                        "running"
                    },
                    HEALTHY_TIMEOUT.as_secs(),
                    state_word(st),
                    health
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

fn state_word(s: ContainerState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Creates and starts a member's container, removing it again if it cannot start (a port
/// conflict, say) so that a retry starts clean.
///
/// `carried` are the volume mounts of the container this one replaces (see [`container_body`]);
/// `peers` the container ids of members already created (for `network_mode: service:X`).
pub(crate) async fn create_member(
    state: &AppState,
    def: &Definition,
    revision: i32,
    member: &str,
    carried: &[(String, String)],
    peers: &HashMap<String, String>,
) -> Result<String> {
    let m = &def.services[member];
    ensure_image(state, &def.name, &m.image).await?;
    let body = container_body(def, member, revision, carried, peers)
        .ok_or_else(|| Error::ServiceNotFound(member.into()))?;
    let id = state
        .docker
        .create_container(&def.container_name(member), body)
        .await?;
    // The other networks are joined before start, so the process sees them all from the start.
    let started = match state.docker.connect_networks(&id, def, member).await {
        Ok(()) => state.docker.start(&id).await,
        Err(e) => Err(e),
    };
    if let Err(e) = started {
        if let Err(cleanup) = state.docker.remove_container(&id, false).await {
            tracing::warn!(error = %cleanup, container = %id, "could not remove a container that failed to start");
        }
        return Err(e.into());
    }
    Ok(id)
}

pub(crate) async fn refresh_live(state: &AppState, id: &str) {
    if let Err(e) = state.live.refresh(&state.docker, id, &state.bus).await {
        tracing::debug!(error = %e, "live refresh after an operation failed; the events stream will catch up");
    }
}

/// Applies the current revision: network, volumes, then members in dependency order. Members
/// whose configuration hash is unchanged are left alone (started if stopped).
pub async fn deploy(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let stored = load(state, name).await?;
    audited(
        state,
        ctx,
        "service.deploy",
        name,
        deploy_locked(state, &stored),
    )
    .await
}

/// Creates the networks members join (the undeclared `default` is `sdmd_<service>`); external
/// ones must exist and are never created, as in compose.
async fn ensure_networks(
    state: &AppState,
    def: &Definition,
    service_label: &HashMap<String, String>,
) -> Result<()> {
    for (key, decl) in def.used_networks() {
        let network = def.network_docker_name(&key);
        if decl.external {
            if !state.docker.network_exists(&network).await? {
                return Err(problem(
                    &format!("networks.{key}"),
                    format!(
                        "external network `{network}` does not exist: create it first or drop `external: true`"
                    ),
                ));
            }
            continue;
        }
        state
            .docker
            .ensure_network(&network, &decl, service_label.clone())
            .await?;
    }
    Ok(())
}

async fn deploy_locked(state: &AppState, stored: &StoredService) -> Result<ActionReport> {
    let def = &stored.definition;
    let service_label = HashMap::from([(labels::SERVICE.to_owned(), def.name.clone())]);
    ensure_networks(state, def, &service_label).await?;
    for (v, decl) in &def.volumes {
        let volume = def.volume_name(v);
        if decl.external {
            // As compose: an external volume must exist; SDMD never creates (or removes) it.
            if !state.docker.volume_exists(&volume).await? {
                return Err(problem(
                    &format!("volumes.{v}"),
                    format!(
                        "external volume `{volume}` does not exist: create it first or drop `external: true`"
                    ),
                ));
            }
            continue;
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
            .ensure_volume(&volume, decl.driver.clone(), l)
            .await?;
    }
    let mut report = ActionReport::default();
    // Adopted containers are replaced by SDMD's own on the first deploy.
    for id in &stored.adopted_from {
        stop_and_remove(state, id).await?;
        report.removed.push(id.chars().take(12).collect());
    }
    if !stored.adopted_from.is_empty() {
        db::services::clear_adopted(&state.db, &def.name).await?;
    }
    let mut existing: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
    for c in managed_containers(state, &def.name).await? {
        existing
            .entry(c.label(labels::MEMBER).unwrap_or_default().to_owned())
            .or_default()
            .push(c);
    }
    // Members no longer defined go first (they may hold a port or name the new ones need).
    for (member, cs) in &existing {
        if !def.services.contains_key(member) {
            for c in cs {
                stop_and_remove(state, &c.id).await?;
                report.removed.push(c.name.clone());
            }
        }
    }
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut recreated: Vec<String> = Vec::new();
    for member in def.start_order() {
        let hash = def.config_hash(&member);
        let mut current = existing.remove(&member).unwrap_or_default();
        // Keep the newest matching container; anything else of this member is stale.
        current.sort_by_key(|c| std::cmp::Reverse(c.created));
        // A member sharing the network stack of one (re)created now must follow it: its
        // container joined the old container's stack by id.
        let follows = def.services[&member]
            .network
            .service_dependency()
            .is_some_and(|d| recreated.contains(&d));
        let keep = current
            .iter()
            .position(|c| c.label(labels::CONFIG_HASH) == Some(hash.as_str()))
            .filter(|_| !follows);
        // The newest container being replaced hands its volumes to the new one (compose keeps
        // anonymous volumes across a recreate; removing them would lose data).
        let carried = match current.iter().enumerate().find(|(i, _)| Some(*i) != keep) {
            Some((_, c)) if keep.is_none() => state.docker.volume_mounts(&c.id).await?,
            _ => Vec::new(),
        };
        for (i, c) in current.iter().enumerate() {
            if Some(i) != keep {
                stop_and_remove(state, &c.id).await?;
            }
        }
        match keep.map(|i| &current[i]) {
            Some(c) => {
                if c.state == ContainerState::Running {
                    report.unchanged.push(member.clone());
                } else {
                    wait_dependencies(state, def, &member, &ids).await?;
                    state.docker.start(&c.id).await?;
                    report.started.push(member.clone());
                }
                ids.insert(member.clone(), c.id.clone());
                refresh_live(state, &c.id).await;
            }
            None => {
                wait_dependencies(state, def, &member, &ids).await?;
                publish_step(state, &def.name, "deploy", format!("creating {member}"));
                let id =
                    create_member(state, def, stored.revision, &member, &carried, &ids).await?;
                recreated.push(member.clone());
                if current.is_empty() {
                    report.created.push(member.clone());
                } else {
                    report.recreated.push(member.clone());
                }
                refresh_live(state, &id).await;
                ids.insert(member, id);
            }
        }
    }
    Ok(report)
}

/// Starts every member in dependency order (managed), or every container (unmanaged).
pub async fn start(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let target = resolve(state, name).await?;
    audited(state, ctx, "service.start", name, async {
        let mut report = ActionReport::default();
        start_in_order(state, &target, &mut report, false).await?;
        Ok(report)
    })
    .await
}

/// Starts the target's containers in dependency order, waiting for `depends_on` conditions;
/// running ones are left alone unless `all` (a restart, after everything was stopped).
async fn start_in_order(
    state: &AppState,
    target: &Resolved,
    report: &mut ActionReport,
    all: bool,
) -> Result<()> {
    let mut ids = HashMap::new();
    for (member, c) in &target.ordered {
        if let Some(def) = &target.definition {
            wait_dependencies(state, def, member, &ids).await?;
        }
        if c.state == ContainerState::Running && !all {
            report.unchanged.push(member.clone());
        } else {
            state.docker.start(&c.id).await?;
            report.started.push(member.clone());
        }
        ids.insert(member.clone(), c.id.clone());
        refresh_live(state, &c.id).await;
    }
    Ok(())
}

/// Stops every member in reverse dependency order.
pub async fn stop(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let target = resolve(state, name).await?;
    audited(state, ctx, "service.stop", name, async {
        let mut report = ActionReport::default();
        for (member, c) in target.ordered.iter().rev() {
            if matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            ) {
                state
                    .docker
                    .stop(&c.id, STOP_TIMEOUT_S)
                    .await
                    .or_else(ignore_gone)?;
                report.stopped.push(member.clone());
            } else {
                report.unchanged.push(member.clone());
            }
            refresh_live(state, &c.id).await;
        }
        Ok(report)
    })
    .await
}

/// Stops in reverse order, then starts in dependency order.
pub async fn restart(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ActionReport> {
    let _guard = state.locks.lock(name).await;
    let target = resolve(state, name).await?;
    audited(state, ctx, "service.restart", name, async {
        let mut report = ActionReport::default();
        for (member, c) in target.ordered.iter().rev() {
            state
                .docker
                .stop(&c.id, STOP_TIMEOUT_S)
                .await
                .or_else(ignore_gone)?;
            report.stopped.push(member.clone());
        }
        start_in_order(state, &target, &mut report, true).await?;
        Ok(report)
    })
    .await
}

/// A service's containers in start order, keyed by member.
struct Resolved {
    definition: Option<Definition>,
    ordered: Vec<(String, ContainerInfo)>,
}

async fn resolve(state: &AppState, name: &str) -> Result<Resolved> {
    let mut conn = state.db.acquire().await?;
    if let Some(stored) = db::services::get(&mut conn, name).await? {
        drop(conn);
        let mut by_member: HashMap<String, ContainerInfo> = HashMap::new();
        for c in managed_containers(state, name).await? {
            let m = c.label(labels::MEMBER).unwrap_or_default().to_owned();
            // Several containers of one member only exist mid-deploy; prefer the newest.
            if by_member.get(&m).is_none_or(|old| old.created < c.created) {
                by_member.insert(m, c);
            }
        }
        let mut ordered = Vec::new();
        for member in stored.definition.start_order() {
            if let Some(c) = by_member.remove(&member) {
                ordered.push((member, c));
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
                ordered.push((c.name.clone(), c));
            }
        }
        return Ok(Resolved {
            definition: Some(stored.definition),
            ordered,
        });
    }
    drop(conn);
    ensure_docker(state)?;
    let group = live::group(state.live.containers().await, &[])
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| Error::ServiceNotFound(name.to_owned()))?;
    Ok(Resolved {
        definition: None,
        ordered: group
            .containers
            .into_iter()
            .map(|c| {
                (
                    c.label(labels::COMPOSE_SERVICE)
                        .unwrap_or(&c.name)
                        .to_owned(),
                    c,
                )
            })
            .collect(),
    })
}

/// The outcome of pulling one image.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
#[derive(Debug, Clone, Serialize, ToSchema)]
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
        "service.pull",
        name,
        pull_images(state, &stored.definition),
    )
    .await
}

/// The log lines of one container.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    Ok(resolve(state, name).await?.ordered)
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

/// Imports an unmanaged service's definition from its containers (minus image defaults). The
/// containers keep running; the first deploy replaces them with SDMD's own.
pub async fn adopt(state: &AppState, ctx: &AuditContext, name: &str) -> Result<ServiceView> {
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
    let mut services = indexmap::IndexMap::new();
    let mut volumes = indexmap::IndexMap::new();
    let mut networks = indexmap::IndexMap::new();
    let mut ids = Vec::new();
    for c in &group.containers {
        let mut a = state.docker.adopt_member(&c.id).await?;
        for (key, decl) in std::mem::take(&mut a.volumes) {
            // Two containers of one project share a volume under the same key and name; a key
            // already used for a different volume is renamed, in the member's mounts too.
            let renamed = match volumes.get(&key) {
                Some(d) if d != &decl => format!("{}-{key}", a.member),
                _ => key.clone(),
            };
            if renamed != key {
                for m in &mut a.spec.volumes {
                    if let Some(rest) = m.strip_prefix(&format!("{key}:")) {
                        *m = format!("{renamed}:{rest}");
                    }
                }
            }
            volumes.insert(renamed, decl);
        }
        for (key, decl) in std::mem::take(&mut a.networks) {
            // As for volumes: a key already used for a different network is renamed.
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
        let mut member = a.member;
        while services.contains_key(&member) {
            member.push('x');
        }
        services.insert(member, a.spec);
        ids.push(c.id.clone());
    }
    // A member sharing the stack of another container of the group refers to it as a member.
    let by_container: HashMap<String, String> = services
        .iter()
        .filter_map(|(k, m)| Some((m.container_name.clone()?, k.clone())))
        .collect();
    for m in services.values_mut() {
        // Links read back as `<container>:<alias>`: to `member[:alias]`, dropping the names the
        // engine and compose add (the container name, compose's `<service>_<n>`).
        let mut links = Vec::new();
        for l in std::mem::take(&mut m.network.links) {
            let (cname, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
            let alias = alias.rsplit('/').next().unwrap_or(alias);
            let Some(member) = by_container.get(cname) else {
                // Not a container of this group: kept as is, so validation reports it.
                links.push(l.clone());
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
            if !links.contains(&link) {
                links.push(link);
            }
        }
        m.network.links = links;
        if let Some(member) = m
            .network
            .network_mode
            .as_deref()
            .and_then(|n| n.strip_prefix("container:"))
            .and_then(|c| by_container.get(c))
        {
            m.network.network_mode = Some(format!("service:{member}"));
        }
    }
    let def = Definition {
        name: service_name.to_string(),
        services,
        volumes,
        networks,
        extensions: indexmap::IndexMap::new(),
    };
    // What inspect produced must pass the same validation as user input.
    let def = crate::spec::parse(&serde_json::to_value(&def).unwrap_or_default())
        .map_err(Error::Invalid)?;
    let mut tx = state.db.begin().await?;
    db::services::insert(&mut tx, &def, &ctx.actor, &ids)
        .await
        .map_err(|e| name_taken(e, name))?;
    let entry = audit::record(
        &mut tx,
        ctx,
        &NewEntry {
            action: "service.adopt",
            target: Some(name),
            result: "ok",
            details: json!({"containers": group.containers.iter().map(|c| &c.name).collect::<Vec<_>>()}),
        },
    )
    .await?;
    tx.commit().await?;
    state.bus.publish(Event::Audit { entry });
    get(state, name).await
}
