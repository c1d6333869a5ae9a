//! Shared roots and the folder picker (issue 13, "Standard folders"): folders several apps use
//! (`${MEDIA}` → `/srv/media`), named once in settings and usable in every definition as
//! variables, and the listing of folders under the data root and those roots that the
//! dashboard's mount picker reads (anything outside them is refused).

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use sdmd_model::audit::Action;
use serde_json::json;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::roots as store;
use crate::error::{Error, Result};
use crate::spec::Problem;
use crate::state::AppState;

/// At most this many shared roots.
pub const MAX_ROOTS: usize = 64;
/// The longest root path, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// At most this many folders in one listing (the rest is reported as truncated).
pub const MAX_LISTED: usize = 1000;
/// Names SDMD gives itself (standard folders and variables); a root cannot take them.
pub const RESERVED: [&str; 7] = [
    "APPDATA",
    "APPDATA_CONFIG",
    "APPDATA_DATA",
    "TZ",
    "PUID",
    "PGID",
    "UMASK",
];

/// One shared root as settings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootView {
    /// Its variable name.
    pub name: String,
    /// The absolute host path.
    pub path: String,
    /// Whether the path is a directory on this host now.
    pub exists: bool,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

fn is_dir(path: &str) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// Every shared root, by name.
pub async fn list(state: &AppState) -> Result<Vec<RootView>> {
    Ok(store::list(&state.db)
        .await?
        .into_iter()
        .map(|r| RootView {
            exists: is_dir(&r.path),
            name: r.name,
            path: r.path,
            updated_at: r.updated_at,
        })
        .collect())
}

/// The roots as `(name, path)`, for interpolation.
pub async fn variables(state: &AppState) -> Result<Vec<(String, String)>> {
    Ok(store::list(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.name, r.path))
        .collect())
}

/// A root path as stored: absolute, without `.`/`..` components, repeated or trailing slashes,
/// and not `/` itself.
fn normalise(path: &str) -> std::result::Result<String, String> {
    if path.len() > MAX_PATH_BYTES {
        return Err(format!("longer than {MAX_PATH_BYTES} bytes"));
    }
    if path.contains('\0') {
        return Err("contains NUL".into());
    }
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(format!("`{path}` is not an absolute path"));
    }
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(s) => out.push(s),
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("`{path}` has a `.` or `..` component"));
            }
        }
    }
    if out == Path::new("/") {
        return Err("the whole file system cannot be a shared root".into());
    }
    out.into_os_string()
        .into_string()
        .map_err(|_| "not UTF-8".into())
}

fn check(
    roots: &IndexMap<String, String>,
    variables: &[String],
) -> (Vec<(String, String)>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut ok = Vec::new();
    if roots.len() > MAX_ROOTS {
        problems.push(Problem {
            field: "roots".into(),
            message: format!("at most {MAX_ROOTS} shared roots"),
        });
    }
    for (name, path) in roots {
        let field = format!("roots.{name}");
        let name_problem = if !crate::variables::is_identifier(name)
            || name.len() > crate::variables::MAX_NAME_BYTES
        {
            Some(
                "a root's name is a variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes"
                    .to_owned(),
            )
        } else if RESERVED.contains(&name.as_str()) {
            Some(format!(
                "`{name}` is one of SDMD's standard folders or variables"
            ))
        } else if variables.contains(name) {
            Some(format!(
                "`{name}` is a stored variable; remove it there first (a name means one thing)"
            ))
        } else {
            None
        };
        if let Some(message) = name_problem {
            problems.push(Problem { field, message });
            continue;
        }
        match normalise(path) {
            Ok(p) => ok.push((name.clone(), p)),
            Err(message) => problems.push(Problem { field, message }),
        }
    }
    (ok, problems)
}

/// Replaces the shared roots with `roots` (name → absolute path; a path need not exist yet,
/// settings show whether it does). Audited as `settings.roots.set` with names and paths; a
/// replacement that changes nothing writes no row.
pub async fn put(
    state: &AppState,
    ctx: &AuditContext,
    roots: IndexMap<String, String>,
) -> Result<Vec<RootView>> {
    let stored: Vec<String> = crate::db::variables::list(&state.db)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let (mut new, problems) = check(&roots, &stored);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    new.sort();
    let mut tx = Change::begin(&state.db).await?;
    let old: Vec<(String, String)> = store::list_for_update(&mut tx)
        .await?
        .into_iter()
        .map(|r| (r.name, r.path))
        .collect();
    if old != new {
        store::replace(&mut tx, &new).await?;
        let map = |v: &[(String, String)]| -> serde_json::Map<String, serde_json::Value> {
            v.iter().map(|(n, p)| (n.clone(), json!(p))).collect()
        };
        tx.record(
            ctx,
            Record {
                action: Action::RootsSet,
                target: None,
                result: "ok",
                details: json!({"roots": map(&new), "before": map(&old)}),
            },
        )
        .await?;
        tx.commit(&state.bus).await?;
    }
    list(state).await
}

/// A folder the picker may show: the data root or a shared root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// `APPDATA` (the data root) or the root's name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
}

impl Allowed {
    /// Whether `path` lies under this root as written and still once symbolic links are
    /// resolved (so it must exist): what the picker lists and what fixing permissions may touch.
    pub fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.path)
            && std::fs::canonicalize(path).is_ok_and(|real| {
                std::fs::canonicalize(&self.path).is_ok_and(|root| real.starts_with(root))
            })
    }
}

/// The data root and every shared root.
pub async fn allowed(state: &AppState) -> Result<Vec<Allowed>> {
    let mut out = vec![Allowed {
        name: "APPDATA".into(),
        path: state.appdata_dir().to_path_buf(),
    }];
    out.extend(
        variables(state)
            .await?
            .into_iter()
            .map(|(name, path)| Allowed {
                name,
                path: path.into(),
            }),
    );
    Ok(out)
}

/// One folder of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// Its name.
    pub name: String,
    /// Its path (under the listed one).
    pub path: String,
}

/// A folder's sub-folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The folder listed (as asked, normalised).
    pub path: String,
    /// The allowed root it is under.
    pub root: String,
    /// Its parent, when that is still under the root.
    pub parent: Option<String>,
    /// Its sub-folders, by name (at most [`MAX_LISTED`]).
    pub dirs: Vec<Dir>,
    /// Whether more sub-folders exist than listed.
    pub truncated: bool,
}

/// The sub-folders of `path`, which must be the data root, a shared root or under one of them
/// once symbolic links are followed; anything else is a 422 naming `path`.
pub async fn list_dirs(state: &AppState, path: &str) -> Result<Listing> {
    let bad = |message: String| {
        Error::Invalid(vec![Problem {
            field: "path".into(),
            message,
        }])
    };
    let asked = if path.trim_end_matches('/').is_empty() {
        return Err(bad(
            "`/` is outside the data root and the shared roots".into()
        ));
    } else {
        normalise(path).map_err(bad)?
    };
    let roots = allowed(state).await?;
    let real =
        std::fs::canonicalize(&asked).map_err(|e| bad(format!("`{asked}` cannot be read: {e}")))?;
    let Some(root) = roots.iter().find(|r| r.holds(Path::new(&asked))) else {
        return Err(bad(format!(
            "`{asked}` is outside the data root and the shared roots ({})",
            roots
                .iter()
                .map(|r| format!("{}={}", r.name, r.path.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut dirs = Vec::new();
    let mut truncated = false;
    let read =
        std::fs::read_dir(&real).map_err(|e| bad(format!("`{asked}` cannot be read: {e}")))?;
    let root_real = std::fs::canonicalize(&root.path).unwrap_or_else(|_| root.path.clone());
    for entry in read.flatten() {
        // A folder, or a link to one that stays under the root (one leading out is not shown,
        // and listing it is refused).
        let shown = match entry.file_type() {
            Ok(t) if t.is_dir() => true,
            Ok(t) if t.is_symlink() => std::fs::canonicalize(entry.path())
                .is_ok_and(|p| p.is_dir() && p.starts_with(&root_real)),
            _ => false,
        };
        if !shown {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if dirs.len() == MAX_LISTED {
            truncated = true;
            break;
        }
        dirs.push(Dir {
            path: format!("{asked}/{name}"),
            name,
        });
    }
    dirs.sort_by(|a, b| a.name.cmp(&b.name));
    let parent = Path::new(&asked)
        .parent()
        .filter(|p| p.starts_with(&root.path))
        .map(|p| p.display().to_string());
    Ok(Listing {
        path: asked,
        root: root.name.clone(),
        parent,
        dirs,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_are_absolute_and_normalised() {
        assert_eq!(normalise("/srv//media/").unwrap(), "/srv/media");
        assert_eq!(normalise("/a/./b").unwrap(), "/a/b");
        for bad in ["srv/media", "/srv/../etc", "/", "//", "/a\0b"] {
            assert!(normalise(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_are_variables_and_never_standard_ones() {
        let roots: IndexMap<String, String> = [
            ("MEDIA".into(), "/srv/media/".into()),
            ("PUID".into(), "/x".into()),
            ("1BAD".into(), "/x".into()),
            ("TOKEN".into(), "/x".into()),
            ("REL".into(), "x".into()),
        ]
        .into();
        let (ok, problems) = check(&roots, &["TOKEN".into()]);
        assert_eq!(ok, [("MEDIA".to_owned(), "/srv/media".to_owned())]);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["roots.PUID", "roots.1BAD", "roots.TOKEN", "roots.REL"]
        );
    }
}
