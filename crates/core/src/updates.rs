//! Safe updates: check the registry without pulling, pull only what changed, swap containers with
//! the old ones kept aside, gate on health, and roll back in strict order when the gate fails.
//! Every check and update is a row in the history.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use sdmd_model::audit::Action;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::{self, services::StoredService, updates::Finish};
use crate::docker::{ContainerInfo, ContainerState, Filter, Health, labels};
use crate::error::Result;
use crate::events::{Event, Operation, OperationStep, Phase};
use crate::ops::{self, ActionReport, ImageChange, PullReport};
use crate::registry::{ImageRef, Platform, is_current};
use crate::state::AppState;
pub use sdmd_model::updates::{
    GateSettings, ImageCheck, RunKind, RunResult, SemverDiff, Trigger, UpdateKind, UpdateResult,
    semver_diff,
};

/// The answer of a check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// History id.
    pub run_id: i64,
    /// Whether any image has an update.
    pub update_available: bool,
    /// Per image.
    pub images: Vec<ImageCheck>,
}

fn distinct_images(def: &crate::spec::Definition) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for m in def.services.values() {
        if !images.contains(&m.image) {
            images.push(m.image.clone());
        }
    }
    images
}

/// Image id each image reference of the service runs as. What runs matters, not what the tag
/// points at locally: a `docker build` or pull outside SDMD may have moved the local tag already.
async fn running_images(
    state: &AppState,
    stored: &StoredService,
) -> Result<HashMap<String, String>> {
    let mut running: HashMap<String, String> = HashMap::new();
    for c in state
        .docker
        .list_containers(Filter::Label(labels::SERVICE, &stored.name))
        .await?
    {
        if let Some(m) = c
            .label(labels::MEMBER)
            .and_then(|m| stored.definition.services.get(m))
        {
            running.entry(m.image.clone()).or_insert(c.image_id.clone());
        }
    }
    Ok(running)
}

/// How old a cached registry answer may be for a check someone asked for right now.
const MANUAL_MAX_AGE: Duration = Duration::from_secs(60);

fn max_age(state: &AppState, trigger: Trigger) -> Duration {
    match trigger {
        Trigger::Schedule => state.registry.ttl(),
        Trigger::Manual => MANUAL_MAX_AGE,
    }
}

/// The check of an image the registry could not be asked about, and why.
fn unchecked(image: String, local_digest: Option<String>, error: String) -> ImageCheck {
    ImageCheck {
        image,
        local_digest,
        remote_digest: None,
        platform_digest: None,
        update_available: false,
        kind: None,
        target: None,
        semver_diff: None,
        cached: false,
        error: Some(error),
    }
}

async fn check_images(
    state: &AppState,
    stored: &StoredService,
    trigger: Trigger,
    tag_moves: &HashMap<String, String>,
) -> Result<Vec<ImageCheck>> {
    let running = running_images(state, stored).await?;
    let mut out = Vec::new();
    for image in distinct_images(&stored.definition) {
        let local = match running.get(&image) {
            Some(id) => state.docker.image(id).await?,
            None => state.docker.image(&image).await?,
        };
        let Some(r) = ImageRef::parse(&image) else {
            out.push(unchecked(
                image,
                None,
                "pinned by digest: nothing to check".into(),
            ));
            continue;
        };
        let mut local_digest = local.as_ref().and_then(|l| {
            l.repo_digests.iter().find_map(|d| {
                d.split_once('@')
                    .filter(|(n, _)| *n == r.docker_name)
                    .map(|(_, d)| d.to_owned())
            })
        });
        let creds = crate::credentials::for_host(state, &r.registry).await?;
        let check = match state
            .registry
            .digest(&r, creds.as_ref(), max_age(state, trigger))
            .await
        {
            Ok(remote) => {
                let mut current = local
                    .as_ref()
                    .is_some_and(|l| is_current(&r, &l.repo_digests, &remote.digest));
                if current {
                    // One image can carry several digests of a repository (pushed under two
                    // tags): the one that matches the registry is the one to report.
                    local_digest = Some(remote.digest.clone());
                }
                let mut platform_digest = None;
                let mut error = None;
                // A new index may only have changed for other platforms: compare ours (two GETs
                // by digest, once per index digest; never when the index is the local one).
                if let (false, true, Some(l)) = (current, remote.index, local.as_ref()) {
                    match state
                        .registry
                        .platform_manifest(&r, &remote.digest, creds.as_ref(), &Platform::host())
                        .await
                    {
                        Ok(p) => {
                            current =
                                p.config == l.id || is_current(&r, &l.repo_digests, &p.digest);
                            platform_digest = Some(p.digest);
                        }
                        // Unresolvable index: report the tag move, and say why it is coarse.
                        Err(e) => error = Some(format!("comparing this platform's manifest: {e}")),
                    }
                }
                ImageCheck {
                    image: image.clone(),
                    local_digest: local_digest.clone(),
                    remote_digest: Some(remote.digest),
                    platform_digest,
                    update_available: !current,
                    kind: (!current).then_some(UpdateKind::Digest),
                    target: None,
                    semver_diff: None,
                    cached: remote.cached,
                    error,
                }
            }
            Err(e) => unchecked(image.clone(), local_digest.clone(), e.to_string()),
        };
        let mut check = check;
        if let Some(to) = tag_moves.get(&image) {
            check.update_available = true;
            check.kind = Some(UpdateKind::Tag);
            check.semver_diff = ImageRef::parse(to).and_then(|t| semver_diff(&r.tag, &t.tag));
            check.target = Some(to.clone());
        }
        db::updates::record_check(&state.db, &stored.name, &check).await?;
        out.push(check);
    }
    Ok(out)
}

/// A service's update history, newest first: every check and update with its steps, digests,
/// result and rollback reason (at most `limit` runs).
pub async fn history(state: &AppState, name: &str, limit: i64) -> Result<Vec<db::updates::Run>> {
    Ok(db::updates::list(&state.db, name, limit).await?)
}

/// Checks every image of a managed service against its registry (HEAD only, cached).
pub async fn check(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    trigger: Trigger,
) -> Result<CheckReport> {
    let stored = ops::load(state, name).await?;
    let run_id = db::updates::start(&state.db, name, RunKind::Check, trigger, &ctx.actor).await?;
    state
        .metrics
        .checks
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let plugins = bound_plugins(state, name).await;
    let mut tag_moves = HashMap::new();
    if let Some(strategy) = &plugins.strategy {
        match decide_tags(state, &stored, strategy, trigger).await {
            Ok(decisions) => {
                for d in decisions {
                    if let Some(to) = d.to {
                        tag_moves.insert(d.from, to);
                    }
                }
            }
            Err(e) => tracing::warn!(service = name, error = %e, "strategy not asked"),
        }
    }
    let images = check_images(state, &stored, trigger, &tag_moves).await;
    let (result, images) = match images {
        Ok(i) => (
            if i.iter().any(|c| c.update_available) {
                RunResult::UpdateAvailable
            } else {
                RunResult::UpToDate
            },
            i,
        ),
        Err(e) => {
            state
                .metrics
                .failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            finish(
                state,
                run_id,
                RunResult::Failed,
                Vec::new(),
                json!([]),
                Some(e.to_string()),
                None,
            )
            .await;
            return Err(e);
        }
    };
    let update_available = images.iter().any(|c| c.update_available);
    if update_available {
        let which: Vec<String> = images
            .iter()
            .filter(|c| c.update_available)
            .map(|c| match (&c.target, &c.semver_diff) {
                (Some(t), Some(d)) => format!("{} → {t} ({d})", c.image),
                (Some(t), None) => format!("{} → {t}", c.image),
                _ => c.image.clone(),
            })
            .collect();
        notify(
            state,
            &stored,
            plugins.notifiers,
            crate::plugins::types::EventKind::UpdateAvailable,
            format!("update available for {name}"),
            (
                None,
                images
                    .iter()
                    .find(|c| c.update_available)
                    .and_then(|c| c.remote_digest.clone()),
            ),
            Some(which.join(", ")),
        );
    }
    finish(
        state,
        run_id,
        result,
        Vec::new(),
        serde_json::to_value(&images).unwrap_or_default(),
        None,
        None,
    )
    .await;
    ops::audit_alone(
        state,
        ctx,
        Action::ServiceCheck,
        name,
        "ok",
        json!({"update_available": update_available}),
    )
    .await;
    Ok(CheckReport {
        run_id,
        update_available,
        images,
    })
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `check`, `pull`, `stop_old`, `start_new`, `health_gate`, `rollback`, `cleanup`.
    pub step: String,
    /// When it ended.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened.
    pub message: String,
}

/// The result of an update.
#[derive(Debug, Clone)]
pub struct UpdateReport {
    /// History id.
    pub run_id: i64,
    /// `up_to_date`, `updated` or `rolled_back`.
    pub result: UpdateResult,
    /// What the pull changed.
    pub pull: PullReport,
    /// What happened to the members.
    pub members: ActionReport,
    /// Why it rolled back.
    pub reason: Option<String>,
    /// The steps with times.
    pub steps: Vec<Step>,
}

async fn finish(
    state: &AppState,
    id: i64,
    result: RunResult,
    steps: Vec<Step>,
    images: serde_json::Value,
    reason: Option<String>,
    log_excerpt: Option<String>,
) {
    let f = Finish {
        result,
        steps: serde_json::to_value(steps).unwrap_or_default(),
        images,
        reason,
        log_excerpt,
    };
    if let Err(e) = db::updates::finish(&state.db, id, &f).await {
        tracing::error!(error = %e, run = id, "could not record the end of an update run");
    }
}

struct Run<'a> {
    state: &'a AppState,
    service: String,
    steps: Vec<Step>,
}

impl Run<'_> {
    fn step(&mut self, step: &str, ok: bool, message: impl Into<String>) {
        let message = message.into();
        self.state.bus.publish(Event::Operation {
            service: self.service.clone(),
            action: Operation::Step(OperationStep::Update),
            phase: Phase::Step,
            message: format!("{step}: {message}"),
        });
        self.steps.push(Step {
            step: step.into(),
            at: chrono::Utc::now(),
            ok,
            message,
        });
    }
}

/// Pulls what changed, swaps containers with the old ones kept aside, gates on health and rolls
/// back on failure. One update at a time per service, across replicas.
pub async fn update(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    trigger: Trigger,
) -> Result<UpdateReport> {
    let _local = state.locks.lock(name).await;
    // Across replicas: a session-level advisory lock held on one connection for the whole run.
    let mut lock_conn = state.db.acquire().await?;
    db::updates::lock_service(&mut lock_conn, name).await?;
    let result = match ops::load(state, name).await {
        Ok(stored) => update_locked(state, ctx, stored, trigger).await,
        Err(e) => Err(e),
    };
    if let Err(e) = db::updates::unlock_service(&mut lock_conn, name).await {
        // Closing the connection releases the lock too.
        tracing::warn!(error = %e, "releasing the update lock failed; closing its connection");
        lock_conn.close_on_drop();
    }
    result
}

/// An update under the service's locks: a recorded run through the strategy plugin and the
/// pipeline, then the notifications, the metrics and the audit record of how it ended.
async fn update_locked(
    state: &AppState,
    ctx: &AuditContext,
    stored: StoredService,
    trigger: Trigger,
) -> Result<UpdateReport> {
    let name = stored.name.clone();
    let run_id = db::updates::start(&state.db, &name, RunKind::Update, trigger, &ctx.actor).await?;
    let mut run = Run {
        state,
        service: name.clone(),
        steps: Vec::new(),
    };
    let started = std::time::Instant::now();
    let plugins = bound_plugins(state, &name).await;
    let outcome = match &plugins.strategy {
        Some(strategy) => apply_strategy(&mut run, ctx, stored, strategy, trigger).await,
        None => Ok(stored),
    };
    let outcome = match outcome {
        Ok(stored) => pipeline(&mut run, &stored, trigger, &plugins.health_checks)
            .await
            .map(|p| (p, stored)),
        Err(e) => Err(e),
    };
    notify_outcome(state, &name, &plugins.notifiers, &outcome).await;
    let outcome = outcome.map(|(p, _)| p);
    state
        .metrics
        .update_finished(outcome.as_ref().ok().map(|p| p.result), started.elapsed());
    let (report, audit_result, details) = record_run(run, run_id, outcome).await;
    ops::audit_alone(
        state,
        ctx,
        Action::ServiceUpdate,
        &name,
        audit_result,
        details,
    )
    .await;
    report
}

/// Tells the notifiers how an update ended: updated or rolled back (with the first changed
/// image's old and new digests), or failed. An update with nothing to do is not announced.
async fn notify_outcome(
    state: &AppState,
    name: &str,
    notifiers: &[crate::notify::Notifier],
    outcome: &Result<(PipelineOutcome, StoredService)>,
) {
    use crate::plugins::types::EventKind;
    match outcome {
        Ok((p, stored)) => {
            let changed: Vec<&ImageChange> = p.pull.images.iter().filter(|i| i.changed).collect();
            let from = changed
                .first()
                .and_then(|i| i.old_digest.clone().or(i.old_id.clone()));
            let to = changed
                .first()
                .map(|i| format!("{}@{}", i.image, i.new_digest.clone().unwrap_or_default()));
            let (kind, summary, reason) = match p.result {
                UpdateResult::Updated => (EventKind::Updated, format!("{name} updated"), None),
                UpdateResult::RolledBack => (
                    EventKind::RolledBack,
                    format!("{name} rolled back"),
                    p.reason.clone(),
                ),
                UpdateResult::UpToDate => return,
            };
            notify(
                state,
                stored,
                notifiers.to_vec(),
                kind,
                summary,
                (from, to),
                reason,
            );
        }
        Err(e) => {
            if let Ok(stored) = ops::load(state, name).await {
                notify(
                    state,
                    &stored,
                    notifiers.to_vec(),
                    EventKind::Failed,
                    format!("{name} update failed"),
                    (None, None),
                    Some(e.to_string()),
                );
            }
        }
    }
}

/// Records the end of an update run and returns the report with the audit record's result and
/// details.
async fn record_run(
    mut run: Run<'_>,
    run_id: i64,
    outcome: Result<PipelineOutcome>,
) -> (Result<UpdateReport>, &'static str, serde_json::Value) {
    let state = run.state;
    match outcome {
        Ok(p) => {
            let images = serde_json::to_value(&p.pull.images).unwrap_or_default();
            finish(
                state,
                run_id,
                p.result.into(),
                run.steps.clone(),
                images.clone(),
                p.reason.clone(),
                p.log_excerpt.clone(),
            )
            .await;
            let details = json!({"run_id": run_id, "result": p.result, "images": images,
                "members": p.members, "reason": p.reason});
            let audit_result = if p.result == UpdateResult::RolledBack {
                "rolled_back"
            } else {
                "ok"
            };
            let report = UpdateReport {
                run_id,
                result: p.result,
                pull: p.pull,
                members: p.members,
                reason: p.reason,
                steps: run.steps,
            };
            (Ok(report), audit_result, details)
        }
        Err(e) => {
            run.step("failed", false, e.to_string());
            finish(
                state,
                run_id,
                RunResult::Failed,
                run.steps.clone(),
                json!([]),
                Some(e.to_string()),
                None,
            )
            .await;
            let code = ops::code_of(&e);
            let details =
                json!({"run_id": run_id, "error": run.steps.last().map(|s| s.message.clone())});
            (Err(e), code, details)
        }
    }
}

struct PipelineOutcome {
    result: UpdateResult,
    pull: PullReport,
    members: ActionReport,
    reason: Option<String>,
    log_excerpt: Option<String>,
}

/// Steps 1–2 of an update: checks the images (HEAD only; the strategy already moved the tags,
/// so the new ones' digests are compared) and pulls those with an update or whose registry
/// cannot be asked. A failed pull changes nothing.
async fn check_and_pull(
    run: &mut Run<'_>,
    stored: &StoredService,
    trigger: Trigger,
) -> Result<PullReport> {
    let state = run.state;
    // 1. Check: HEAD only; images whose registry cannot be asked are pulled to find out.
    // The strategy already moved the tags (apply_strategy): compare digests of the new ones.
    let checks = check_images(state, stored, trigger, &HashMap::new()).await?;
    let to_pull: Vec<&ImageCheck> = checks
        .iter()
        .filter(|c| c.update_available || c.error.is_some())
        .collect();
    run.step(
        "check",
        true,
        format!("{} of {} image(s) to pull", to_pull.len(), checks.len()),
    );
    // 2. Pull (a failed pull changes nothing).
    let running = running_images(state, stored).await?;
    let mut images = Vec::new();
    for c in &checks {
        let before = match running.get(&c.image) {
            Some(id) => state.docker.image(id).await?,
            None => state.docker.image(&c.image).await?,
        };
        if to_pull.iter().any(|p| p.image == c.image) {
            ops::pull_one(state, &stored.name, &c.image)
                .await
                .inspect_err(|e| {
                    run.step("pull", false, format!("{}: {e}", c.image));
                })?;
            if let Some(r) = ImageRef::parse(&c.image) {
                state.registry.invalidate(&r).await;
            }
        }
        let after = state.docker.image(&c.image).await?;
        images.push(ops::image_change(&c.image, before.as_ref(), after.as_ref()));
    }
    run.step(
        "pull",
        true,
        format!(
            "{} image(s) changed",
            images.iter().filter(|i| i.changed).count()
        ),
    );
    Ok(PullReport { images })
}

/// Step 3 of an update: the service's containers by member (replicas in order) and the members
/// that change.
async fn changed_members(
    state: &AppState,
    stored: &StoredService,
    order: &[String],
) -> Result<(HashMap<String, Vec<ContainerInfo>>, HashSet<String>)> {
    let def = &stored.definition;
    // 3. Which members change: those with a container that does not run the current local
    // image (any replica), or with no container at all.
    let mut current: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
    for c in state
        .docker
        .list_containers(Filter::Label(labels::SERVICE, &stored.name))
        .await?
    {
        current
            .entry(c.label(labels::MEMBER).unwrap_or_default().to_owned())
            .or_default()
            .push(c);
    }
    for cs in current.values_mut() {
        cs.sort_by_key(ContainerInfo::replica);
    }
    let mut changed: HashSet<String> = HashSet::new();
    for (member, m) in &def.services {
        let local = state.docker.image(&m.image).await?.map(|i| i.id);
        let runs_current = current.get(member).is_some_and(|cs| {
            !cs.is_empty() && cs.iter().all(|c| Some(&c.image_id) == local.as_ref())
        });
        if !runs_current && m.runtime.replicas() > 0 {
            changed.insert(member.clone());
        }
    }
    // A member sharing a changed member's network stack joined the old container by id: it is
    // recreated with it (compose does the same), not merely restarted.
    for member in order {
        if def.services[member]
            .network
            .service_dependency()
            .is_some_and(|d| changed.contains(&d))
        {
            changed.insert(member.clone());
        }
    }
    Ok((current, changed))
}

/// The members an update swaps: in start order, their containers before it, those that change
/// (recreated) and those affected (stopped and started again: the changed ones and their
/// dependents).
struct Swap<'a> {
    def: &'a crate::spec::Definition,
    order: Vec<String>,
    current: HashMap<String, Vec<ContainerInfo>>,
    changed: HashSet<String>,
    affected: HashSet<String>,
}

impl<'a> Swap<'a> {
    fn new(
        def: &'a crate::spec::Definition,
        order: Vec<String>,
        current: HashMap<String, Vec<ContainerInfo>>,
        changed: HashSet<String>,
    ) -> Self {
        let mut affected = changed.clone();
        for member in &order {
            if def.services[member]
                .dependencies()
                .iter()
                .any(|d| affected.contains(d))
            {
                affected.insert(member.clone());
            }
        }
        Swap {
            def,
            order,
            current,
            changed,
            affected,
        }
    }

    fn containers_of(&self, member: &str) -> &[ContainerInfo] {
        self.current.get(member).map_or(&[], Vec::as_slice)
    }

    fn affected_in_order(&self) -> impl Iterator<Item = &String> {
        self.order.iter().filter(|m| self.affected.contains(*m))
    }
}

/// An old container kept aside under another name, by member.
type Aside = Vec<(String, ContainerInfo)>;

/// Why an update rolls back: the member (or the health-check plugins), the reason, and the
/// container whose logs explain it when the health gate named one.
struct Failure {
    member: String,
    reason: String,
    container: Option<String>,
}

async fn pipeline(
    run: &mut Run<'_>,
    stored: &StoredService,
    trigger: Trigger,
    health_plugins: &[crate::plugins::Plugin],
) -> Result<PipelineOutcome> {
    let state = run.state;
    let def = &stored.definition;
    // An update recreates containers: the host's policy applies as to a deploy.
    ops::check_policy(state, def, stored.project_dir.as_deref())?;
    let pull = check_and_pull(run, stored, trigger).await?;
    let order = def.start_order();
    let (current, changed) = changed_members(state, stored, &order).await?;
    if changed.is_empty() {
        clear_checks(state, &stored.name).await;
        let members = ActionReport {
            unchanged: order,
            ..ActionReport::default()
        };
        return Ok(PipelineOutcome {
            result: UpdateResult::UpToDate,
            pull,
            members,
            reason: None,
            log_excerpt: None,
        });
    }
    let swap = Swap::new(def, order, current, changed);
    let aside = stop_old(run, &swap).await?;
    let (new_ids, failure) = start_new(state, stored, &swap, &aside).await;
    let failure = match failure {
        Some(failure) => {
            run.step("start_new", false, failure.reason.clone());
            Some(failure)
        }
        None => {
            let count: usize = new_ids.values().map(Vec::len).sum();
            run.step(
                "start_new",
                true,
                format!("started {count} new container(s)"),
            );
            gate_new(state, stored, &swap, &new_ids, health_plugins).await
        }
    };
    match failure {
        None => {
            let members = keep_new(run, &swap, &aside, &new_ids).await?;
            Ok(PipelineOutcome {
                result: UpdateResult::Updated,
                pull,
                members,
                reason: None,
                log_excerpt: None,
            })
        }
        Some(failure) => {
            let log_excerpt = roll_back(run, &swap, &aside, &new_ids, &failure).await?;
            Ok(PipelineOutcome {
                result: UpdateResult::RolledBack,
                pull,
                members: ActionReport {
                    unchanged: swap.order,
                    ..ActionReport::default()
                },
                reason: Some(format!("{}: {}", failure.member, failure.reason)),
                log_excerpt,
            })
        }
    }
}

/// The service's pending checks are answered by an update (or by finding it up to date).
async fn clear_checks(state: &AppState, name: &str) {
    if let Err(e) = db::updates::clear_checks(&state.db, name).await {
        tracing::warn!(error = %e, "could not clear stale checks");
    }
}

/// Step 4 of an update: stops the affected members (reverse order) and keeps the changed ones'
/// containers aside under a new name.
async fn stop_old(run: &mut Run<'_>, swap: &Swap<'_>) -> Result<Aside> {
    let state = run.state;
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut aside = Vec::new();
    for member in swap
        .order
        .iter()
        .rev()
        .filter(|m| swap.affected.contains(*m))
    {
        for c in swap.containers_of(member) {
            // Its `pre_stop` hooks and its own grace period (not a fixed 10 s).
            ops::stop_with_hooks(state, Some(swap.def), member, &c.id).await?;
            if swap.changed.contains(member) {
                state
                    .docker
                    .rename(&c.id, &format!("{}-sdmd-old-{stamp}", c.name))
                    .await?;
                aside.push((member.clone(), c.clone()));
            }
        }
    }
    run.step(
        "stop_old",
        true,
        format!(
            "stopped {} member(s), kept {} container(s) aside",
            swap.affected.len(),
            aside.len()
        ),
    );
    Ok(aside)
}

/// Step 5 of an update: starts the affected members in order, new containers for the changed
/// ones and the old ones again for their dependents. Returns the new containers by member
/// (also those of a member that failed half-way: they are rolled back with the rest) and the
/// first failure.
async fn start_new(
    state: &AppState,
    stored: &StoredService,
    swap: &Swap<'_>,
    aside: &Aside,
) -> (HashMap<String, Vec<String>>, Option<Failure>) {
    let mut ids: ops::Peers = swap
        .current
        .iter()
        .map(|(m, cs)| (m.clone(), cs.iter().map(|c| c.id.clone()).collect()))
        .collect();
    let mut new_ids: HashMap<String, Vec<String>> = HashMap::new();
    for member in swap.affected_in_order() {
        let started = match ops::wait_dependencies(state, swap.def, member, &ids).await {
            Err(e) => Err(e),
            Ok(()) if swap.changed.contains(member) => {
                let (created, result) = recreate_member(state, stored, member, aside, &ids).await;
                new_ids.insert(member.clone(), created.clone());
                if result.is_ok() {
                    ids.insert(member.clone(), created);
                }
                result
            }
            Ok(()) => restart_member(state, swap, member).await,
        };
        if let Err(e) = started {
            let failure = Failure {
                member: member.clone(),
                reason: e.to_string(),
                container: None,
            };
            return (new_ids, Some(failure));
        }
    }
    (new_ids, None)
}

/// Creates every replica of a changed member at once (compose recreates a service's containers
/// in parallel); each takes over the volumes of the old container of its number, kept aside.
/// Returns the containers made, also when another replica failed, and the first error.
async fn recreate_member(
    state: &AppState,
    stored: &StoredService,
    member: &str,
    aside: &Aside,
    ids: &ops::Peers,
) -> (Vec<String>, Result<()>) {
    let def = &stored.definition;
    let made = futures_util::future::join_all((1..=def.services[member].runtime.replicas()).map(
        |number| async move {
            let carried = match aside
                .iter()
                .find(|(m, c)| m == member && c.replica() == number)
            {
                Some((_, old)) => state.docker.volume_mounts(&old.id).await?,
                None => Vec::new(),
            };
            ops::create_member(state, def, stored.revision, member, number, &carried, ids).await
        },
    ))
    .await;
    let mut created = Vec::new();
    let mut first_error = None;
    for r in made {
        match r {
            Ok(id) => created.push(id),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    (created, first_error.map_or(Ok(()), Err))
}

/// Starts an affected member that does not change (a dependent of one that does) again, with
/// its `post_start` hooks.
async fn restart_member(state: &AppState, swap: &Swap<'_>, member: &str) -> Result<()> {
    for c in swap.containers_of(member) {
        state.docker.start(&c.id).await?;
        ops::run_hooks(
            state,
            Some(swap.def),
            member,
            &c.id,
            ops::HookPoint::PostStart,
        )
        .await?;
    }
    Ok(())
}

/// The health gate of an update: every new container in order, then the health-check plugins.
/// Returns the first failure.
async fn gate_new(
    state: &AppState,
    stored: &StoredService,
    swap: &Swap<'_>,
    new_ids: &HashMap<String, Vec<String>>,
    health_plugins: &[crate::plugins::Plugin],
) -> Option<Failure> {
    for member in swap.order.iter().filter(|m| new_ids.contains_key(*m)) {
        for id in &new_ids[member] {
            if let Err(reason) = health_gate(state, swap.def, member, id).await {
                return Some(Failure {
                    member: member.clone(),
                    reason,
                    container: Some(id.clone()),
                });
            }
        }
    }
    plugin_gate(state, stored, health_plugins)
        .await
        .err()
        .map(|reason| Failure {
            member: "health-check plugins".to_owned(),
            reason,
            container: None,
        })
}

/// The end of an update that passed its gate: removes the old containers kept aside (their
/// images stay) and reports what happened to each member.
async fn keep_new(
    run: &mut Run<'_>,
    swap: &Swap<'_>,
    aside: &Aside,
    new_ids: &HashMap<String, Vec<String>>,
) -> Result<ActionReport> {
    let state = run.state;
    run.step("health_gate", true, "every new container passed");
    for (_, old) in aside {
        state.docker.remove_container(&old.id, false).await?;
    }
    run.step(
        "cleanup",
        true,
        format!(
            "removed {} old container(s); previous images kept",
            aside.len()
        ),
    );
    let mut members = ActionReport::default();
    for member in &swap.order {
        if swap.changed.contains(member) {
            if swap.current.contains_key(member) {
                members.recreated.push(member.clone())
            } else {
                members.created.push(member.clone())
            }
        } else if swap.affected.contains(member) {
            members.started.push(member.clone());
        } else {
            members.unchanged.push(member.clone());
        }
    }
    clear_checks(state, &run.service).await;
    for id in new_ids.values().flatten() {
        ops::refresh_live(state, id).await;
    }
    Ok(members)
}

/// Rolls a failed update back in strict order: new containers out, old names back, old ones
/// started. Returns the tail of the failed container's log.
async fn roll_back(
    run: &mut Run<'_>,
    swap: &Swap<'_>,
    aside: &Aside,
    new_ids: &HashMap<String, Vec<String>>,
    failure: &Failure,
) -> Result<Option<String>> {
    let state = run.state;
    run.step(
        "health_gate",
        false,
        format!("{}: {}", failure.member, failure.reason),
    );
    let failed_id = failure
        .container
        .clone()
        .or_else(|| new_ids.get(&failure.member)?.last().cloned());
    let log_excerpt = match failed_id {
        Some(id) => state.docker.logs_tail(&id, 20).await.ok().map(|lines| {
            lines
                .into_iter()
                .map(|l| l.line)
                .collect::<Vec<_>>()
                .join("\n")
        }),
        None => None,
    };
    for member in swap.order.iter().rev() {
        for id in new_ids.get(member).into_iter().flatten() {
            ops::stop_and_remove(state, id).await?;
        }
    }
    for (_, old) in aside {
        state.docker.rename(&old.id, &old.name).await?;
    }
    for member in swap.affected_in_order() {
        for c in swap.containers_of(member) {
            state.docker.start(&c.id).await?;
            ops::refresh_live(state, &c.id).await;
            // The rollback goes on whatever a hook says; the failure is logged.
            if let Err(e) = ops::run_hooks(
                state,
                Some(swap.def),
                member,
                &c.id,
                ops::HookPoint::PostStart,
            )
            .await
            {
                tracing::warn!(error = %e, member = %member, "post_start hook failed during rollback");
            }
        }
    }
    run.step(
        "rollback",
        true,
        format!("restored {} container(s)", aside.len()),
    );
    Ok(log_excerpt)
}

/// Waits for a new container to prove itself: its Docker health check until healthy, else
/// running without restarting for the configured time.
async fn health_gate(
    state: &AppState,
    def: &crate::spec::Definition,
    member: &str,
    id: &str,
) -> std::result::Result<(), String> {
    let settings = state.gate;
    let has_check = def
        .services
        .get(member)
        .and_then(|m| m.healthcheck.as_ref())
        .is_some_and(|h| !h.disable);
    let start = tokio::time::Instant::now();
    loop {
        let (st, health) = state
            .docker
            .container_status(id)
            .await
            .map_err(|e| e.to_string())?;
        match (st, health) {
            (ContainerState::Exited | ContainerState::Dead, _) => {
                return Err(format!("the container {}", word(st)));
            }
            (ContainerState::Restarting, _) => return Err("the container is restarting".into()),
            (_, Health::Unhealthy) => return Err("the health check reports unhealthy".into()),
            (ContainerState::Running, Health::Healthy) => return Ok(()),
            (ContainerState::Running, Health::None)
                if !has_check && start.elapsed() >= settings.stable_for =>
            {
                return Ok(());
            }
            _ => {}
        }
        let limit = if has_check || health == Health::Starting {
            settings.health_timeout
        } else {
            settings.stable_for * 3
        };
        if start.elapsed() > limit {
            return Err(format!("not healthy after {} s", limit.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn word(s: ContainerState) -> &'static str {
    match s {
        ContainerState::Exited => "exited",
        ContainerState::Dead => "died",
        _ => "stopped",
    }
}

/// The plugins bound to a service for an update (none when the store cannot be read: the
/// built-in behaviour applies, and the reason is logged).
async fn bound_plugins(state: &AppState, name: &str) -> crate::plugins::store::ResolvedPlugins {
    match crate::plugins::store::resolve(state, name).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(service = name, error = %e, "cannot resolve the service's plugins");
            crate::plugins::store::ResolvedPlugins {
                strategy: None,
                health_checks: Vec::new(),
                notifiers: Vec::new(),
            }
        }
    }
}

fn plugin_service(stored: &StoredService) -> crate::plugins::types::Service {
    let labels = stored
        .definition
        .services
        .values()
        .flat_map(|m| m.labels.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    crate::plugins::types::Service {
        name: stored.name.clone(),
        revision: u64::try_from(stored.revision).unwrap_or(0),
        labels,
    }
}

/// Asks the service's strategy plugin, per member image with a tag, whether to move the tag.
/// Moves become a new revision of the definition (audited); `Skip` keeps the tag, whose digest
/// the built-in check still follows.
/// What a strategy plugin decided for one member image.
struct TagDecision {
    member: String,
    /// The member's image now.
    from: String,
    /// The image to move to, when the strategy moves the tag.
    to: Option<String>,
    /// One line for the history.
    note: String,
    ok: bool,
}

/// The repository's tags as a strategy's candidates (with the stored credentials, cached like
/// checks). Empty when they cannot be listed: a strategy granted `registry` may still ask itself.
async fn candidates(
    state: &AppState,
    image: &ImageRef,
    trigger: Trigger,
) -> Vec<crate::plugins::types::Candidate> {
    let creds = match crate::credentials::for_host(state, &image.registry).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(registry = %image.registry, error = %e, "cannot open the stored credentials");
            None
        }
    };
    match state
        .registry
        .list_tags(image, creds.as_ref(), max_age(state, trigger))
        .await
    {
        Ok(tags) => tags
            .iter()
            .map(|t| crate::plugins::types::Candidate {
                tag: t.clone(),
                digest: None,
            })
            .collect(),
        Err(e) => {
            tracing::info!(image = %image.docker_name, error = %e, "no tag list for the strategy");
            Vec::new()
        }
    }
}

/// Asks the strategy about each member image with a tag. Decides only: storing a move is
/// [`apply_strategy`]'s business, a check just reports it.
async fn decide_tags(
    state: &AppState,
    stored: &StoredService,
    strategy: &crate::plugins::Plugin,
    trigger: Trigger,
) -> std::result::Result<Vec<TagDecision>, String> {
    use crate::plugins::types::Decision;
    let runtime = state
        .plugins
        .runtime_for(state)
        .map_err(|e| format!("plugin runtime unavailable: {e}"))?;
    let mut out = Vec::new();
    for (member, m) in &stored.definition.services {
        let Some(r) = ImageRef::parse(&m.image) else {
            continue;
        };
        let input = crate::plugins::types::StrategyInput {
            service: plugin_service(stored),
            member: member.clone(),
            current: crate::plugins::types::Image {
                reference: m.image.clone(),
                repository: r.docker_name.clone(),
                tag: Some(r.tag.clone()),
                digest: None,
            },
            candidates: candidates(state, &r, trigger).await,
        };
        let (to, note, ok) = match runtime.decide(strategy, input).await.result {
            Ok(Decision::UpdateTo { candidate }) if candidate.tag != r.tag => {
                let image = format!("{}:{}", r.docker_name, candidate.tag);
                let note = format!("{member}: {} → {image}", m.image);
                (Some(image), note, true)
            }
            Ok(Decision::UpdateTo { .. }) => (None, format!("{member}: stays on {}", r.tag), true),
            Ok(Decision::Skip { reason }) => (None, format!("{member}: skip ({reason})"), true),
            Err(e) => (None, format!("{member}: {e}"), false),
        };
        out.push(TagDecision {
            member: member.clone(),
            from: m.image.clone(),
            to,
            note,
            ok,
        });
    }
    Ok(out)
}

async fn apply_strategy(
    run: &mut Run<'_>,
    ctx: &AuditContext,
    stored: StoredService,
    strategy: &crate::plugins::Plugin,
    trigger: Trigger,
) -> Result<StoredService> {
    let state = run.state;
    let decisions = match decide_tags(state, &stored, strategy, trigger).await {
        Ok(d) => d,
        Err(e) => {
            run.step("strategy", false, e);
            return Ok(stored);
        }
    };
    let mut def = stored.definition.clone();
    let mut moves = Vec::new();
    for d in decisions {
        run.step("strategy", d.ok, d.note);
        if let Some(to) = d.to {
            moves.push(json!({"member": d.member, "from": d.from, "to": to}));
            if let Some(mm) = def.services.get_mut(&d.member) {
                mm.image = to;
            }
        }
    }
    if moves.is_empty() {
        return Ok(stored);
    }
    // A revision with a source document moves the tag there (the stored definition is shown
    // masked and must stay so); an image written with `${…}` is the user's to change.
    let mut stored_def = def.clone();
    let mut source = stored.source.clone();
    let mut sealed_files = Vec::new();
    if let Some(src) = source.as_mut() {
        for m in &moves {
            let member = m["member"].as_str().unwrap_or_default();
            let image = &mut src["services"][member]["image"];
            if image.as_str().is_some_and(|i| !i.contains('$')) {
                *image = m["to"].clone();
            }
        }
        let project = crate::project::Project {
            source: src.clone(),
            files: stored
                .files
                .iter()
                .map(|f| (f.path.clone(), f.content.clone()))
                .collect(),
        };
        stored_def =
            ops::resolve_project(state, &stored.name, stored.project_dir.as_deref(), &project)
                .await?
                .display;
        sealed_files = ops::seal_files(state, &stored.name, &project)?;
    }
    let mut tx = Change::begin(&state.db).await?;
    db::services::new_revision(
        &mut tx,
        &stored_def,
        &ctx.actor,
        db::services::RevisionSource {
            source: source.as_ref(),
            files: &sealed_files,
        },
    )
    .await?;
    tx.record(
        ctx,
        Record::ok(
            Action::ServiceEdit,
            &stored.name,
            json!({"strategy": strategy.id(), "moves": moves}),
        ),
    )
    .await?;
    tx.commit(&state.bus).await?;
    ops::load(state, &stored.name).await
}

/// Runs the service's health-check plugins against the new containers until each says healthy,
/// honouring `retry-after`, within the health timeout.
async fn plugin_gate(
    state: &AppState,
    stored: &StoredService,
    checks: &[crate::plugins::Plugin],
) -> std::result::Result<(), String> {
    if checks.is_empty() {
        return Ok(());
    }
    let runtime = state
        .plugins
        .runtime_for(state)
        .map_err(|e| format!("plugin runtime unavailable: {e}"))?;
    let deadline = tokio::time::Instant::now() + state.gate.health_timeout;
    for plugin in checks {
        let mut attempt = 0u32;
        loop {
            let containers = state
                .docker
                .list_containers(Filter::Label(labels::SERVICE, &stored.name))
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| crate::plugins::types::Container {
                    member: c.label(labels::MEMBER).unwrap_or_default().to_owned(),
                    image: c.image.clone(),
                    state: serde_json::to_value(c.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    health: serde_json::to_value(c.health)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned)),
                    restart_count: 0,
                    ports: c
                        .ports
                        .iter()
                        .map(|p| crate::plugins::types::Port {
                            host_ip: p.host_ip.clone(),
                            host_port: p.host_port,
                            container_port: p.container_port,
                            protocol: p.protocol.clone(),
                        })
                        .collect(),
                    name: c.name,
                })
                .collect();
            let input = crate::plugins::types::HealthInput {
                service: plugin_service(stored),
                containers,
                attempt,
            };
            let out = runtime.check_health(plugin, input).await;
            match out.result {
                Ok(crate::plugins::types::Health::Healthy) => break,
                Ok(crate::plugins::types::Health::Unhealthy { reason }) => {
                    return Err(format!("health-check plugin {}: {reason}", plugin.id()));
                }
                Ok(crate::plugins::types::Health::RetryAfter { ms }) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(format!(
                            "health-check plugin {} still not satisfied at the timeout",
                            plugin.id()
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(u64::from(ms.clamp(50, 30_000))))
                        .await;
                    attempt += 1;
                }
                Err(e) => return Err(format!("health-check plugin {} failed: {e}", plugin.id())),
            }
        }
    }
    Ok(())
}

/// Delivers an event to the service's and the global notifiers, in the background (a slow
/// webhook never delays an update), with each notifier's cooldown and batching ([`crate::notify`]).
pub(crate) fn notify(
    state: &AppState,
    stored: &StoredService,
    notifiers: Vec<crate::notify::Notifier>,
    kind: crate::plugins::types::EventKind,
    summary: String,
    images: (Option<String>, Option<String>),
    detail: Option<String>,
) {
    let event = crate::plugins::types::Event {
        kind,
        service: plugin_service(stored),
        summary,
        from_image: images.0,
        to_image: images.1,
        detail,
        timestamp: chrono::Utc::now().to_rfc3339(),
    };
    crate::notify::dispatch(state, notifiers, event);
}

impl AppState {
    /// Starts the Docker events watcher for this state; it stops with `shutdown`.
    pub fn spawn_watcher(&self) -> tokio::task::JoinHandle<()> {
        let (died_tx, died_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(report_deaths(self.clone(), died_rx));
        tokio::spawn(crate::live::watch(
            self.docker.clone(),
            self.live.clone(),
            self.bus.clone(),
            self.shutdown.clone(),
            Some(died_tx),
            Some(self.spawn_history()),
        ))
    }
}

/// At most one container-died notification per container per this long (restart loops).
const DIED_DEDUPE: Duration = std::time::Duration::from_secs(300);

/// Tells a managed service's notifiers (and the global ones) when one of its containers dies
/// unexpectedly — not while an operation on the service (deploy, update, rollback, stop) runs,
/// and at most once per container per five minutes, so a restart loop is one message.
pub async fn report_deaths(
    state: crate::state::AppState,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<crate::live::Died>,
) {
    let mut last: HashMap<String, std::time::Instant> = HashMap::new();
    loop {
        let died = tokio::select! {
            d = rx.recv() => match d { Some(d) => d, None => return },
            () = state.shutdown.cancelled() => return,
        };
        let Some(c) = died.known else { continue };
        let Some(service) = c.label(crate::docker::labels::SERVICE).map(str::to_owned) else {
            continue;
        };
        if state.locks.is_busy(&service) {
            continue;
        }
        last.retain(|_, at| at.elapsed() < DIED_DEDUPE);
        if last.contains_key(&died.id) {
            continue;
        }
        last.insert(died.id.clone(), std::time::Instant::now());
        let Ok(stored) = crate::ops::load(&state, &service).await else {
            continue;
        };
        let notifiers = match crate::plugins::store::resolve(&state, &service).await {
            Ok(r) => r.notifiers,
            Err(e) => {
                tracing::warn!(service, error = %e, "cannot resolve the service's notifiers");
                continue;
            }
        };
        if notifiers.is_empty() {
            continue;
        }
        let code = died
            .exit_code
            .map_or_else(|| "an unknown code".to_owned(), |c| c.to_string());
        let tail = state
            .docker
            .logs_tail(&died.id, 10)
            .await
            .map(|lines| {
                lines
                    .into_iter()
                    .map(|l| l.line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        notify(
            &state,
            &stored,
            notifiers,
            crate::plugins::types::EventKind::ContainerDied,
            format!("{} exited with {code}", c.name),
            (Some(c.image.clone()), None),
            Some(format!("container {}, exit code {code}\n{tail}", c.name)),
        );
    }
}
