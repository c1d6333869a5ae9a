//! File permissions of bind sources (issue 13, "File permissions").
//!
//! - **Created right.** A bind source that does not exist and that compose would create (the
//!   short syntax, or `bind.create_host_path: true`) is created by SDMD before the container,
//!   owned by the user the member runs as (`user:` when numeric, else its `PUID`/`PGID`, else
//!   the global `PUID`/`PGID`) with the mode the `UMASK` gives (the member's, else the global
//!   one): `0777 & !umask`, so `022` → `0755`. Docker would make it `root:root 0755`.
//! - **Warned.** A deploy warns when a writable bind source under the data root or a shared root
//!   is owned by another user (or group) than the one the member runs as. Read-only mounts,
//!   members that set neither `user:` nor `PUID`, and paths outside those roots are not checked
//!   (the image's user is unknown; `/var/run/docker.sock` and the like are not SDMD's to fix).
//! - **Fixed.** [`fix`] lists (dry run) or makes (apply) the changes: each such source, with
//!   everything under it, chowned to the member's user (`chown -R -h`: links themselves, never
//!   followed). Paths outside the data root and the shared roots, once links are resolved, are
//!   skipped with the reason.
//! - **Non-root sdmd.** When sdmd does not run as root, owners are changed by a short-lived
//!   helper container of the member's image with only `CAP_CHOWN`
//!   ([`crate::docker::Docker::chown_with_helper`]).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use sdmd_model::audit::Action;
use serde_json::json;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::error::{Error, Result};
use crate::spec::{Definition, Member, Mount, VolumeEntry, VolumeKind};
use crate::state::AppState;

fn host(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::HostFiles {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

pub use crate::state::running_as_root;

/// A user and, when known, a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The user id.
    pub uid: u32,
    /// The group id (`None`: `user:` gave none).
    pub gid: Option<u32>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.gid {
            Some(g) => write!(f, "{}:{g}", self.uid),
            None => write!(f, "{}", self.uid),
        }
    }
}

/// Whom a member runs as, and what said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunsAs {
    /// A numeric `user:` (`1000`, `1000:1000`).
    User(Owner),
    /// `PUID` (and `PGID`) in its environment, as linuxserver.io-style images read them.
    Puid(Owner),
    /// A named `user:`: its id is known only inside the image.
    Named(String),
    /// Neither: the image's own user.
    Image,
}

impl RunsAs {
    /// The owner, when known.
    pub fn owner(&self) -> Option<Owner> {
        match self {
            Self::User(o) | Self::Puid(o) => Some(*o),
            _ => None,
        }
    }

    fn how(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Puid(_) => "PUID",
            Self::Named(_) | Self::Image => "image",
        }
    }
}

/// Whom `m` runs as.
pub fn runs_as(m: &Member) -> RunsAs {
    if let Some(user) = m.runtime.user.as_deref().filter(|u| !u.is_empty()) {
        let (u, g) = user.split_once(':').unwrap_or((user, ""));
        return match (u.parse::<u32>(), g) {
            (Ok(uid), "") => RunsAs::User(Owner { uid, gid: None }),
            (Ok(uid), g) => match g.parse::<u32>() {
                Ok(gid) => RunsAs::User(Owner {
                    uid,
                    gid: Some(gid),
                }),
                Err(_) => RunsAs::Named(user.to_owned()),
            },
            _ => RunsAs::Named(user.to_owned()),
        };
    }
    match m.environment.get("PUID").map(|v| v.trim().parse::<u32>()) {
        Some(Ok(uid)) => RunsAs::Puid(Owner {
            uid,
            gid: m
                .environment
                .get("PGID")
                .and_then(|v| v.trim().parse().ok()),
        }),
        _ => RunsAs::Image,
    }
}

/// One bind mount of a member.
#[derive(Debug, Clone)]
struct Bind {
    member: String,
    image: String,
    source: PathBuf,
    read_only: bool,
    /// Compose creates it when missing (short syntax, `create_host_path: true`).
    creatable: bool,
}

fn binds<'a>(def: &Definition, members: impl IntoIterator<Item = &'a String>) -> Vec<Bind> {
    let mut out = Vec::new();
    for name in members {
        let Some(m) = def.services.get(name) else {
            continue;
        };
        for v in &m.volumes {
            let (source, read_only, creatable) = match v {
                VolumeEntry::Short(s) => match Mount::parse(s) {
                    Ok(Mount::Bind { source, mode, .. }) => {
                        let ro = mode
                            .as_deref()
                            .is_some_and(|m| m.split(',').any(|o| o == "ro"));
                        (source, ro, true)
                    }
                    _ => continue,
                },
                VolumeEntry::Long(l) if l.kind == VolumeKind::Bind => {
                    let Some(source) = l.source.clone() else {
                        continue;
                    };
                    let creatable = l
                        .bind
                        .as_ref()
                        .is_some_and(|b| b.create_host_path == Some(true));
                    (source, l.read_only, creatable)
                }
                VolumeEntry::Long(_) => continue,
            };
            out.push(Bind {
                member: name.clone(),
                image: m.image.clone(),
                source: PathBuf::from(source),
                read_only,
                creatable,
            });
        }
    }
    out
}

/// The global `PUID`/`PGID`/`UMASK` (their defaults when unset).
struct Globals {
    owner: Owner,
    umask: u32,
}

async fn globals(state: &AppState) -> Result<Globals> {
    let vars = crate::variables::lookup(state).await?;
    let num = |k: &str| vars.get(k).and_then(|g| g.value.trim().parse::<u32>().ok());
    Ok(Globals {
        owner: Owner {
            uid: num("PUID").unwrap_or(1000),
            gid: Some(num("PGID").unwrap_or(1000)),
        },
        umask: vars
            .get("UMASK")
            .and_then(|g| parse_umask(&g.value))
            .unwrap_or(0o022),
    })
}

/// `022`, `0022`, `2` → the mask; anything else `None`.
pub fn parse_umask(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim(), 8)
        .ok()
        .filter(|m| *m <= 0o777)
}

/// A warning of a deploy about a bind source's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The member.
    pub member: String,
    /// The bind source.
    pub path: String,
    /// Its owner now.
    pub owner: Owner,
    /// Whom the member runs as.
    pub expected: Owner,
    /// What said so (`user` or `PUID`).
    pub from: &'static str,
    /// For people.
    pub message: String,
}

/// Whether `p` is under one of `roots` as written (links not resolved).
fn under(roots: &[crate::roots::Allowed], p: &Path) -> bool {
    roots.iter().any(|r| p.starts_with(&r.path))
}

fn mismatch(meta: &std::fs::Metadata, want: Owner) -> bool {
    meta.uid() != want.uid || want.gid.is_some_and(|g| meta.gid() != g)
}

/// Before a deploy creates `members`' containers: creates their missing bind sources owned by
/// the member's user with the `UMASK` mode, and returns a warning for each writable source
/// under the data root or a shared root owned by someone else.
pub async fn prepare(
    state: &AppState,
    def: &Definition,
    members: &[String],
) -> Result<Vec<Warning>> {
    let binds = binds(def, members);
    if binds.is_empty() {
        return Ok(Vec::new());
    }
    let g = globals(state).await?;
    let roots = crate::roots::allowed(state).await?;
    let mut warnings = Vec::new();
    for b in binds {
        let m = &def.services[&b.member];
        let runs = runs_as(m);
        if !b.source.exists() {
            if !b.creatable {
                continue;
            }
            let who = runs.owner().unwrap_or(g.owner);
            let owner = Owner {
                uid: who.uid,
                gid: who.gid.or(g.owner.gid),
            };
            let umask = m
                .environment
                .get("UMASK")
                .and_then(|u| parse_umask(u))
                .unwrap_or(g.umask);
            create(state, &b, owner, 0o777 & !umask).await?;
            continue;
        }
        let Some(want) = runs.owner() else { continue };
        if b.read_only || !under(&roots, &b.source) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&b.source) else {
            continue;
        };
        if mismatch(&meta, want) {
            let now = Owner {
                uid: meta.uid(),
                gid: Some(meta.gid()),
            };
            warnings.push(Warning {
                member: b.member.clone(),
                path: b.source.display().to_string(),
                owner: now,
                expected: want,
                from: runs.how(),
                message: format!(
                    "{} is owned by {now}, but member `{}` runs as {want} ({}): it may not be able \
                     to write there; fix permissions (POST /api/v1/services/{}/permissions) changes \
                     the owner",
                    b.source.display(),
                    b.member,
                    runs.how(),
                    def.name
                ),
            });
        }
    }
    Ok(warnings)
}

/// Creates `b.source` and its missing parents, each owned by `owner` with `mode`.
async fn create(state: &AppState, b: &Bind, owner: Owner, mode: u32) -> Result<()> {
    let path = b.source.clone();
    let in_process = !state.chown_via_helper;
    let created = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<PathBuf>> {
        let mut missing = Vec::new();
        let mut p = path.as_path();
        while !p.exists() {
            missing.push(p.to_path_buf());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        missing.reverse();
        for dir in &missing {
            std::fs::create_dir(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
            if in_process {
                std::os::unix::fs::lchown(dir, Some(owner.uid), owner.gid)?;
            }
        }
        Ok(missing)
    })
    .await
    .map_err(|e| host(&b.source, e))?
    .map_err(|e| host(&b.source, e))?;
    if !in_process && let Some(top) = created.first() {
        state
            .docker
            .chown_with_helper(
                &b.image,
                std::slice::from_ref(top),
                owner.uid,
                owner.gid.unwrap_or(owner.uid),
            )
            .await?;
    }
    Ok(())
}

/// One owner change of a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerChange {
    /// The member.
    pub member: String,
    /// The bind source.
    pub path: String,
    /// Its owner now.
    pub owner: Owner,
    /// The owner it gets.
    pub to: Owner,
    /// How many entries (it and everything under it) are owned otherwise.
    pub entries: u64,
}

/// A bind source a fix leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The member.
    pub member: String,
    /// The bind source.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What a fix would do (or did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Whether the changes were made.
    pub applied: bool,
    /// The owner changes.
    pub changes: Vec<OwnerChange>,
    /// What is left alone.
    pub skipped: Vec<Skipped>,
}

/// Counts the entries under `root` (itself included, links not followed) not owned by `to`.
fn count_mismatched(root: &Path, to: Owner) -> u64 {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if mismatch(&meta, to) {
            n += 1;
        }
        if meta.is_dir()
            && let Ok(rd) = std::fs::read_dir(&p)
        {
            stack.extend(rd.flatten().map(|e| e.path()));
        }
    }
    n
}

/// `chown -R -h` in this process.
fn chown_tree(root: &Path, to: Owner) -> std::io::Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p)?;
        if mismatch(&meta, to) {
            std::os::unix::fs::lchown(&p, Some(to.uid), to.gid)?;
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p)?.flatten().map(|e| e.path()));
        }
    }
    Ok(())
}

/// The owner changes that make every writable bind source of `def` under the data root or a
/// shared root (with everything under it) owned by the user its member runs as; with `apply`,
/// made and audited as `service.permissions`.
pub async fn fix(
    state: &AppState,
    ctx: &AuditContext,
    def: &Definition,
    apply: bool,
) -> Result<Plan> {
    let roots = crate::roots::allowed(state).await?;
    let mut changes: Vec<OwnerChange> = Vec::new();
    let mut images: IndexMap<String, String> = IndexMap::new();
    let mut skipped = Vec::new();
    for b in binds(def, def.services.keys()) {
        let path = b.source.display().to_string();
        let skip = |reason: String| Skipped {
            member: b.member.clone(),
            path: path.clone(),
            reason,
        };
        let runs = runs_as(&def.services[&b.member]);
        let want = match &runs {
            _ if b.read_only => {
                skipped.push(skip("mounted read-only: the member only reads it".into()));
                continue;
            }
            RunsAs::Named(u) => {
                skipped.push(skip(format!(
                    "runs as user `{u}`, a name whose id is known only inside the image; use a numeric `user:` or PUID"
                )));
                continue;
            }
            RunsAs::Image => {
                skipped.push(skip(
                    "the member sets neither `user:` nor PUID: it runs as its image's user".into(),
                ));
                continue;
            }
            RunsAs::User(o) | RunsAs::Puid(o) => *o,
        };
        if !b.source.exists() {
            skipped.push(skip("does not exist yet (a deploy creates it)".into()));
            continue;
        }
        if !roots.iter().any(|r| r.holds(&b.source)) {
            skipped.push(skip(
                "outside the data root and the shared roots: SDMD changes nothing there".into(),
            ));
            continue;
        }
        if let Some(other) = changes.iter().find(|c| c.path == path && c.to != want) {
            skipped.push(skip(format!(
                "also mounted by member `{}`, which runs as {}",
                other.member, other.to
            )));
            continue;
        }
        if changes.iter().any(|c| c.path == path) {
            continue;
        }
        let src = b.source.clone();
        let (meta, entries) = tokio::task::spawn_blocking(move || {
            (std::fs::metadata(&src), count_mismatched(&src, want))
        })
        .await
        .map_err(|e| host(&b.source, e))?;
        let Ok(meta) = meta else { continue };
        if entries == 0 {
            continue;
        }
        images.insert(path.clone(), b.image.clone());
        changes.push(OwnerChange {
            member: b.member.clone(),
            path,
            owner: Owner {
                uid: meta.uid(),
                gid: Some(meta.gid()),
            },
            to: want,
            entries,
        });
    }
    if apply && !changes.is_empty() {
        for c in &changes {
            if state.chown_via_helper {
                state
                    .docker
                    .chown_with_helper(
                        &images[&c.path],
                        &[PathBuf::from(&c.path)],
                        c.to.uid,
                        c.to.gid.unwrap_or(c.owner.gid.unwrap_or(c.to.uid)),
                    )
                    .await?;
            } else {
                let (p, to) = (PathBuf::from(&c.path), c.to);
                tokio::task::spawn_blocking(move || chown_tree(&p, to))
                    .await
                    .map_err(|e| host(Path::new(&c.path), e))?
                    .map_err(|e| host(Path::new(&c.path), e))?;
            }
        }
        let mut tx = Change::begin(&state.db).await?;
        tx.record(
            ctx,
            Record {
                action: Action::ServicePermissions,
                target: Some(&def.name),
                result: "ok",
                details: json!({"changes": changes.iter().map(|c| json!({
                    "member": c.member, "path": c.path, "from": c.owner.to_string(),
                    "to": c.to.to_string(), "entries": c.entries,
                })).collect::<Vec<_>>()}),
            },
        )
        .await?;
        tx.commit(&state.bus).await?;
    }
    Ok(Plan {
        applied: apply && !changes.is_empty(),
        changes,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: Option<&str>, env: &[(&str, &str)]) -> Member {
        let mut m: Member = serde_json::from_value(json!({"image": "x"})).unwrap();
        m.runtime.user = user.map(str::to_owned);
        m.environment = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        m
    }

    #[test]
    fn whom_a_member_runs_as() {
        let o = |uid, gid| Owner { uid, gid };
        assert_eq!(
            runs_as(&member(Some("1001:1002"), &[("PUID", "5")])),
            RunsAs::User(o(1001, Some(1002)))
        );
        assert_eq!(
            runs_as(&member(Some("1001"), &[])),
            RunsAs::User(o(1001, None))
        );
        assert_eq!(
            runs_as(&member(Some("www-data"), &[])),
            RunsAs::Named("www-data".into())
        );
        assert_eq!(
            runs_as(&member(None, &[("PUID", "1234"), ("PGID", "1235")])),
            RunsAs::Puid(o(1234, Some(1235)))
        );
        assert_eq!(runs_as(&member(None, &[("PUID", "abc")])), RunsAs::Image);
        assert_eq!(runs_as(&member(None, &[])), RunsAs::Image);
    }

    #[test]
    fn umask_is_octal() {
        assert_eq!(parse_umask("022"), Some(0o022));
        assert_eq!(parse_umask("0002"), Some(0o002));
        assert_eq!(parse_umask("8"), None);
        assert_eq!(parse_umask("1777"), None);
        assert_eq!(0o777 & !parse_umask("027").unwrap(), 0o750);
    }
}
