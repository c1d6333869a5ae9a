//! Shapes of `/api/v1/settings/roots` and `/api/v1/fs/dirs`.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::roots;

/// The whole set of shared roots (names absent are removed).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RootsBody {
    /// Name → absolute host path (at most 64). A name is a variable name
    /// (`[A-Za-z_][A-Za-z0-9_]*`, not one of SDMD's standard ones nor a stored variable);
    /// definitions use it as `${NAME}`.
    #[schema(schema_with = roots_map)]
    pub roots: IndexMap<String, String>,
}

fn roots_map() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Name → absolute host path (at most 64). A name is a variable name, not one of \
             SDMD's standard ones nor a stored variable; definitions use it as `${NAME}`.",
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^/[^\\u0000]*$"))
                .max_length(Some(roots::MAX_PATH_BYTES)),
        ))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z_][A-Za-z0-9_]*$"))
                .max_length(Some(crate::variables::MAX_NAME_BYTES)),
        ))
        .max_properties(Some(roots::MAX_ROOTS))
        .examples([serde_json::json!({"MEDIA": "/srv/media", "DOWNLOADS": "/srv/downloads"})])
        .build()
}

/// The shared roots.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RootsView {
    /// The data root (`SDMD_APPDATA_DIR`): each service's `${APPDATA}` is a folder in it.
    pub appdata: String,
    /// Every shared root, by name.
    pub roots: Vec<RootView>,
}

/// One shared root.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RootView {
    /// Its variable name.
    pub name: String,
    /// The absolute host path.
    pub path: String,
    /// Whether the path is a directory on the host now.
    pub exists: bool,
    /// When stored.
    pub updated_at: DateTime<Utc>,
}

impl From<roots::RootView> for RootView {
    fn from(r: roots::RootView) -> Self {
        Self {
            name: r.name,
            path: r.path,
            exists: r.exists,
            updated_at: r.updated_at,
        }
    }
}

/// Which folder to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct DirsParams {
    /// An absolute path under the data root or a shared root; omitted: the roots themselves.
    #[serde(default)]
    pub path: Option<String>,
}

/// A folder's sub-folders (or, without `path`, the roots).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirsView {
    /// The folder listed; null for the list of roots.
    pub path: Option<String>,
    /// The root it is under (`APPDATA` or a shared root's name).
    pub root: Option<String>,
    /// Its parent, when that is still under the root.
    pub parent: Option<String>,
    /// Its sub-folders (or the roots), by name.
    pub dirs: Vec<DirView>,
    /// More sub-folders exist than listed (1000 at most).
    pub truncated: bool,
}

/// One folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirView {
    /// Its name (for a root: the root's name).
    pub name: String,
    /// Its absolute path.
    pub path: String,
}

impl From<roots::Listing> for DirsView {
    fn from(l: roots::Listing) -> Self {
        Self {
            path: Some(l.path),
            root: Some(l.root),
            parent: l.parent,
            dirs: l
                .dirs
                .into_iter()
                .map(|d| DirView {
                    name: d.name,
                    path: d.path,
                })
                .collect(),
            truncated: l.truncated,
        }
    }
}
