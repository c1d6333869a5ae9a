//! Shapes of `/api/v1/variables` and `/api/v1/services/{name}/environment`.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ops;
use crate::project::{EnvKind, Origin};
use crate::variables;

/// The whole set of stored variables (names absent are removed).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesBody {
    /// By name (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes; at most 256 variables): a string
    /// for a plain value, or `{value, secret}`. A stored secret sent as `{"secret": true}`
    /// without `value` keeps its value.
    #[schema(schema_with = variables_map)]
    pub variables: IndexMap<String, VariableInput>,
}

/// The document's shape of the variables map: what [`crate::variables`] checks of names and
/// count, stated in JSON Schema (the value's limit is in bytes, which `maxLength` cannot say).
fn variables_map() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "By name (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes; at most 256 variables): a \
             string for a plain value, or `{value, secret}`. A stored secret sent as \
             `{\"secret\": true}` without `value` keeps its value.",
        ))
        .additional_properties(Some(utoipa::openapi::Ref::from_schema_name(
            "VariableInput",
        )))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z_][A-Za-z0-9_]*$"))
                .max_length(Some(variables::MAX_NAME_BYTES)),
        ))
        .max_properties(Some(variables::MAX_VARIABLES))
        .examples([serde_json::json!(
            {"MY_VAR": "hello", "TOKEN": {"value": "s3cret", "secret": true}}
        )])
        .build()
}

/// One variable to store.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum VariableInput {
    /// A plain value (at most 64 KiB, no NUL).
    Plain(String),
    /// A value with its secrecy.
    Full(VariableSpec),
}

/// A value with its secrecy.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    /// The value (at most 64 KiB, no NUL); omit it to keep a stored secret's value.
    #[serde(default)]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub value: Option<String>,
    /// Seal it with `SDMD_SECRET_KEY`: never returned, masked wherever it is used.
    #[serde(default)]
    pub secret: bool,
}

impl From<VariableInput> for variables::Input {
    fn from(v: VariableInput) -> Self {
        match v {
            VariableInput::Plain(value) => Self {
                value: Some(value),
                secret: false,
            },
            VariableInput::Full(s) => Self {
                value: s.value,
                secret: s.secret,
            },
        }
    }
}

/// Every variable interpolation can use after a service's `.env`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariablesView {
    /// Stored ones first (by name), then those of the `SDMD_VARIABLES` file and the standard
    /// defaults that no stored one overrides.
    pub variables: Vec<VariableView>,
}

/// Where a variable comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariableSource {
    /// Stored (`PUT /api/v1/variables`).
    Set,
    /// A standard variable's default (`TZ`, `PUID`, `PGID`, `UMASK`).
    Default,
    /// The `SDMD_VARIABLES` file.
    File,
    /// A shared root (`PUT /api/v1/settings/roots`).
    Root,
}

impl From<Origin> for VariableSource {
    fn from(o: Origin) -> Self {
        match o {
            Origin::Set => Self::Set,
            Origin::Default => Self::Default,
            Origin::File => Self::File,
            Origin::Root => Self::Root,
        }
    }
}

/// One variable.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariableView {
    /// Its name.
    pub name: String,
    /// Its value; null for a secret (sealed values are never returned).
    pub value: Option<String>,
    /// Sealed at rest.
    pub secret: bool,
    /// Where it comes from.
    pub source: VariableSource,
    /// When stored (`set` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<variables::VariableView> for VariableView {
    fn from(v: variables::VariableView) -> Self {
        Self {
            name: v.name,
            value: v.value,
            secret: v.secret,
            source: v.source.into(),
            updated_at: v.updated_at,
        }
    }
}

impl From<Vec<variables::VariableView>> for VariablesView {
    fn from(v: Vec<variables::VariableView>) -> Self {
        Self {
            variables: v.into_iter().map(Into::into).collect(),
        }
    }
}

/// The effective environment of a service's members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnvironmentView {
    /// In document order.
    pub members: Vec<MemberEnvironment>,
}

/// One member's effective environment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberEnvironment {
    /// The member.
    pub member: String,
    /// Its variables, in the order the container gets them.
    pub variables: Vec<EnvVarView>,
}

/// What set an environment variable.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvSourceKind {
    /// Written in the member's `environment:` (its value reads no variable that is set).
    Member,
    /// Read from an `env_file` (`file` names it) and not overridden by `environment:`.
    EnvFile,
    /// Written in `environment:` with a `${VAR}` of the service's `.env` (`variable` names it).
    Dotenv,
    /// Written in `environment:` with a `${VAR}` of SDMD's variables (`variable`, `origin`).
    Global,
    /// Given by the standard-environment switch (`x-sdmd.standard_environment`).
    Standard,
}

impl From<EnvKind> for EnvSourceKind {
    fn from(k: EnvKind) -> Self {
        match k {
            EnvKind::Member => Self::Member,
            EnvKind::EnvFile => Self::EnvFile,
            EnvKind::Dotenv => Self::Dotenv,
            EnvKind::Global => Self::Global,
            EnvKind::Standard => Self::Standard,
        }
    }
}

/// One environment variable of a member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnvVarView {
    /// Its name.
    pub name: String,
    /// Its value, `********` when it came from a sealed file (`.env`, an env file) or a secret
    /// variable.
    pub value: String,
    /// What set it.
    pub source: EnvSourceKind,
    /// The variable the value was read from (`dotenv`, `global`, `standard`): the first one the
    /// value references that is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// For a value read from SDMD's variables: where that variable comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<VariableSource>,
    /// For `env_file`: the file (the last that sets it; later files win).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether `value` is masked.
    pub masked: bool,
}

impl From<IndexMap<String, Vec<ops::EnvVar>>> for EnvironmentView {
    fn from(m: IndexMap<String, Vec<ops::EnvVar>>) -> Self {
        Self {
            members: m
                .into_iter()
                .map(|(member, vars)| MemberEnvironment {
                    member,
                    variables: vars
                        .into_iter()
                        .map(|v| EnvVarView {
                            name: v.name,
                            value: v.value,
                            source: v.source.kind.into(),
                            variable: v.source.variable,
                            origin: v.source.origin.map(Into::into),
                            file: v.source.file,
                            masked: v.source.masked,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
