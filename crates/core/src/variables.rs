//! SDMD's global variables, the domain side of `/api/v1/variables`: stored ones (secret ones
//! sealed), the `SDMD_VARIABLES` file, and the standard defaults (`TZ`, `PUID`, `PGID`, `UMASK`),
//! and the lookup interpolation uses after each service's `.env`.

use std::path::Path;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use sdmd_model::audit::Action;
use serde_json::json;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::variables::{self as store, Stored};
use crate::error::{Error, Result};
use crate::project::{Global, Origin};
use crate::spec::Problem;
use crate::state::AppState;

/// The longest variable name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The most variables SDMD stores.
pub const MAX_VARIABLES: usize = 256;

/// One variable as the API shows it: a secret one without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableView {
    /// Its name.
    pub name: String,
    /// The value; `None` for a secret (sealed values are never shown).
    pub value: Option<String>,
    /// Sealed at rest.
    pub secret: bool,
    /// Where it comes from (the one interpolation uses when several define it).
    pub source: Origin,
    /// When stored (`set` only).
    pub updated_at: Option<DateTime<Utc>>,
}

/// One variable of a replacement set.
#[derive(Debug, Clone)]
pub struct Input {
    /// The value; `None` keeps a stored secret's value (only for `secret: true`).
    pub value: Option<String>,
    /// Seal it.
    pub secret: bool,
}

fn boxed(state: &AppState) -> Result<&crate::secrets::SecretBox> {
    state
        .secrets
        .as_deref()
        .ok_or_else(|| Error::Secret("no secret key is configured".into()))
}

fn context(name: &str) -> String {
    format!("variable:{name}")
}

fn open(state: &AppState, row: &store::Row) -> Result<String> {
    match (&row.value, &row.sealed) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(sealed)) => {
            let plain = boxed(state)?
                .open(sealed, &context(&row.name))
                .map_err(|e| Error::Secret(e.to_string()))?;
            String::from_utf8(plain)
                .map_err(|_| Error::Secret(format!("variable `{}` is not UTF-8", row.name)))
        }
        (None, None) => Err(Error::Secret(format!(
            "variable `{}` has no value",
            row.name
        ))),
    }
}

/// Whether `name` is an identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The standard variables' defaults on this host: `TZ` (the host's zone), `PUID`/`PGID` (the
/// owner of the data root — `SDMD_APPDATA_DIR`, default the stacks directory — unless it is missing or root's: 1000:1000),
/// `UMASK` (`022`).
pub fn standard_defaults(data_root: &Path) -> IndexMap<String, String> {
    let (uid, gid) = data_root_owner(data_root);
    IndexMap::from([
        ("TZ".to_owned(), host_timezone()),
        ("PUID".to_owned(), uid.to_string()),
        ("PGID".to_owned(), gid.to_string()),
        ("UMASK".to_owned(), "022".to_owned()),
    ])
}

/// The standard folders of `service` under the data root `root`, as interpolation variables:
/// `APPDATA` (`<root>/<service>`), `APPDATA_CONFIG` (`…/config`), `APPDATA_DATA` (`…/data`).
pub fn folder_variables(root: &Path, service: &str) -> [(String, String); 3] {
    let dir = root.join(service);
    let text = |p: &Path| p.to_string_lossy().into_owned();
    [
        ("APPDATA".to_owned(), text(&dir)),
        ("APPDATA_CONFIG".to_owned(), text(&dir.join("config"))),
        ("APPDATA_DATA".to_owned(), text(&dir.join("data"))),
    ]
}

/// The owner of `root`, or 1000:1000 when it does not exist or belongs to root.
fn data_root_owner(root: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(root) {
        Ok(m) if m.uid() != 0 => (m.uid(), m.gid()),
        _ => (1000, 1000),
    }
}

/// The host's time zone: `TZ`, else `/etc/timezone`, else the zone `/etc/localtime` links to,
/// else `UTC`.
fn host_timezone() -> String {
    let env = std::env::var("TZ").ok();
    let file = std::fs::read_to_string("/etc/timezone").ok();
    let link = std::fs::read_link("/etc/localtime").ok();
    timezone_from(env.as_deref(), file.as_deref(), link.as_deref())
}

fn timezone_from(env: Option<&str>, file: Option<&str>, link: Option<&Path>) -> String {
    // `TZ=:Europe/Berlin` (POSIX's implementation-defined form) names the same zone; a path
    // (`TZ=:/etc/localtime`) is read like the link below.
    let zone_of_path = |p: &str| p.split_once("zoneinfo/").map(|(_, z)| z.to_owned());
    if let Some(tz) = env.map(|t| t.trim().trim_start_matches(':')) {
        if tz.starts_with('/') {
            if let Some(z) = zone_of_path(tz) {
                return z;
            }
        } else if !tz.is_empty() {
            return tz.to_owned();
        }
    }
    if let Some(z) = file
        .and_then(|f| f.lines().next())
        .map(str::trim)
        .filter(|z| !z.is_empty())
    {
        return z.to_owned();
    }
    if let Some(z) = link.and_then(|l| zone_of_path(&l.to_string_lossy())) {
        return z;
    }
    "UTC".to_owned()
}

/// Every variable interpolation can use after a service's `.env`, with the first source that
/// defines a name winning: stored (secrets opened) → `SDMD_VARIABLES` → shared roots → standard
/// defaults.
pub async fn lookup(state: &AppState) -> Result<IndexMap<String, Global>> {
    let mut out: IndexMap<String, Global> = IndexMap::new();
    for row in store::list(&state.db).await? {
        let value = open(state, &row)?;
        out.insert(
            row.name.clone(),
            Global {
                value,
                secret: row.sealed.is_some(),
                origin: Origin::Set,
            },
        );
    }
    for (name, value) in state.variables.iter() {
        out.entry(name.clone()).or_insert_with(|| Global {
            value: value.clone(),
            secret: false,
            origin: Origin::File,
        });
    }
    for root in crate::db::roots::list(&state.db).await? {
        out.entry(root.name).or_insert_with(|| Global {
            value: root.path,
            secret: false,
            origin: Origin::Root,
        });
    }
    for (name, value) in standard_defaults(state.appdata_dir()) {
        out.entry(name).or_insert_with(|| Global {
            value,
            secret: false,
            origin: Origin::Default,
        });
    }
    Ok(out)
}

/// Every variable, each once, from the source interpolation uses (stored, file, default),
/// stored ones first, by name.
pub async fn list(state: &AppState) -> Result<Vec<VariableView>> {
    let mut out: Vec<VariableView> = store::list(&state.db)
        .await?
        .into_iter()
        .map(|r| VariableView {
            secret: r.sealed.is_some(),
            value: r.value,
            name: r.name,
            source: Origin::Set,
            updated_at: Some(r.updated_at),
        })
        .collect();
    let file = state
        .variables
        .iter()
        .map(|(n, v)| (n.clone(), v.clone(), Origin::File));
    let roots: Vec<(String, String, Origin)> = crate::db::roots::list(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.name, r.path, Origin::Root))
        .collect();
    let defaults = standard_defaults(state.appdata_dir())
        .into_iter()
        .map(|(n, v)| (n, v, Origin::Default));
    for (name, value, source) in file.chain(roots).chain(defaults) {
        if !out.iter().any(|v| v.name == name) {
            out.push(VariableView {
                name,
                value: Some(value),
                secret: false,
                source,
                updated_at: None,
            });
        }
    }
    Ok(out)
}

fn check(vars: &IndexMap<String, Input>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |field: String, message: String| problems.push(Problem { field, message });
    if vars.len() > MAX_VARIABLES {
        problem(
            "variables".into(),
            format!("at most {MAX_VARIABLES} variables are stored"),
        );
    }
    for (name, input) in vars {
        let field = format!("variables.{name}");
        if !is_identifier(name) {
            problem(
                field.clone(),
                format!(
                    "`{name}` is not a variable name: a letter or `_`, then letters, digits or `_`"
                ),
            );
        } else if name.len() > MAX_NAME_BYTES {
            problem(
                field.clone(),
                format!("a name is at most {MAX_NAME_BYTES} bytes"),
            );
        }
        match &input.value {
            Some(v) if v.len() > MAX_VALUE_BYTES => problem(
                format!("{field}.value"),
                format!("a value is at most {} KiB", MAX_VALUE_BYTES / 1024),
            ),
            Some(v) if v.contains('\0') => {
                problem(format!("{field}.value"), "must not contain NUL".into())
            }
            None if !input.secret => problem(
                format!("{field}.value"),
                "is required (only a stored secret may be kept by omitting it)".into(),
            ),
            _ => {}
        }
    }
    problems
}

/// Replaces the stored set with `vars` (names absent are removed; a secret sent without a value
/// keeps the stored one). Audited with the names set or removed and whether each is secret —
/// never a value; a replacement that changes nothing writes no row.
pub async fn put(
    state: &AppState,
    ctx: &AuditContext,
    vars: IndexMap<String, Input>,
) -> Result<Vec<VariableView>> {
    let mut problems = check(&vars);
    let roots = crate::db::roots::list(&state.db).await?;
    for name in vars.keys().filter(|n| roots.iter().any(|r| &r.name == *n)) {
        problems.push(Problem {
            field: format!("variables.{name}"),
            message: format!(
                "`{name}` is a shared root (settings → storage); remove it there first (a name \
                 means one thing)"
            ),
        });
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut tx = Change::begin(&state.db).await?;
    let old: IndexMap<String, store::Row> = store::list_for_update(&mut tx)
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let mut set = Vec::new();
    for (name, input) in &vars {
        let before = old.get(name);
        match (&input.value, input.secret) {
            (None, _) => {
                if before.is_none_or(|r| r.sealed.is_none()) {
                    problems.push(Problem {
                        field: format!("variables.{name}.value"),
                        message: "is required: no secret of that name is stored to keep".into(),
                    });
                }
            }
            (Some(v), false) => {
                if before.and_then(|r| r.value.as_ref()) != Some(v) {
                    store::put(&mut tx, name, Stored::Plain(v)).await?;
                    set.push(json!({"name": name, "secret": false}));
                }
            }
            (Some(v), true) => {
                let same = match before {
                    Some(r) if r.sealed.is_some() => open(state, r)? == *v,
                    _ => false,
                };
                if !same {
                    let sealed = boxed(state)?
                        .seal(v.as_bytes(), &context(name))
                        .map_err(|e| Error::Secret(e.to_string()))?;
                    store::put(&mut tx, name, Stored::Sealed(&sealed)).await?;
                    set.push(json!({"name": name, "secret": true}));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let removed: Vec<String> = old
        .keys()
        .filter(|n| !vars.contains_key(*n))
        .cloned()
        .collect();
    if set.is_empty() && removed.is_empty() {
        drop(tx);
        return list(state).await;
    }
    store::delete(&mut tx, &removed).await?;
    tx.record(
        ctx,
        Record {
            action: Action::VariablesSet,
            target: None,
            result: "ok",
            details: json!({"set": set, "removed": removed}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    list(state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_folders() {
        let v = folder_variables(Path::new("/srv/appdata"), "jellyfin");
        assert_eq!(
            v.map(|(n, p)| format!("{n}={p}")),
            [
                "APPDATA=/srv/appdata/jellyfin",
                "APPDATA_CONFIG=/srv/appdata/jellyfin/config",
                "APPDATA_DATA=/srv/appdata/jellyfin/data",
            ]
        );
    }

    #[test]
    fn identifiers() {
        for ok in ["TZ", "_x", "A1_b"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A.B"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn the_host_zone_comes_from_tz_then_the_files() {
        let link = Path::new("/usr/share/zoneinfo/America/New_York");
        assert_eq!(
            timezone_from(Some("Asia/Tokyo"), Some("Europe/Paris\n"), Some(link)),
            "Asia/Tokyo"
        );
        assert_eq!(timezone_from(Some(":Asia/Tokyo"), None, None), "Asia/Tokyo");
        assert_eq!(
            timezone_from(Some(""), Some("Europe/Paris\n"), Some(link)),
            "Europe/Paris"
        );
        assert_eq!(timezone_from(None, None, Some(link)), "America/New_York");
        assert_eq!(
            timezone_from(Some(":/usr/share/zoneinfo/Etc/UTC"), None, None),
            "Etc/UTC"
        );
        assert_eq!(
            timezone_from(None, Some("\n"), Some(Path::new("/etc/other"))),
            "UTC"
        );
    }

    #[test]
    fn the_data_root_owner_or_1000() {
        assert_eq!(
            data_root_owner(Path::new("/nonexistent/sdmd")),
            (1000, 1000)
        );
        // `/` belongs to root.
        assert_eq!(data_root_owner(Path::new("/")), (1000, 1000));
    }
}
