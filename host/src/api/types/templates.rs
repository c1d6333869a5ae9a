//! Shapes of `/api/v1/templates`.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::services::ServiceView;
use crate::templates;
use sdmd_model::templates as model;

/// The merged catalog.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogView {
    /// Every template, the bundled ones first, then each catalog URL's in order.
    pub templates: Vec<TemplateView>,
    /// Every catalog with how it fared (one that failed is listed with its error; the others
    /// still give their templates).
    pub sources: Vec<SourceView>,
}

/// The format a template was published in.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateFormat {
    /// Portainer's app templates, version 2.
    PortainerV2,
    /// A CasaOS app-store compose file.
    Casaos,
    /// Yacht's templates.
    Yacht,
}

impl From<model::Format> for TemplateFormat {
    fn from(f: model::Format) -> Self {
        match f {
            model::Format::PortainerV2 => Self::PortainerV2,
            model::Format::Casaos => Self::Casaos,
            model::Format::Yacht => Self::Yacht,
        }
    }
}

/// One template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    /// Unique in the catalog: `bundled.<slug>` or `s<n>.<slug>` (the n-th catalog URL).
    pub id: String,
    /// `bundled` or the catalog's URL.
    pub source: String,
    /// Its format.
    pub format: TemplateFormat,
    /// Title.
    pub title: String,
    /// One line or a paragraph.
    pub description: String,
    /// Categories, as published.
    pub categories: Vec<String>,
    /// An icon URL, as published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The values a new service from it asks for.
    pub variables: Vec<TemplateVariable>,
}

/// A value a template asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateVariable {
    /// The environment variable it sets.
    pub name: String,
    /// What the form shows.
    pub label: String,
    /// Help text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value when none is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// For a select: the allowed values (empty for free text).
    pub choices: Vec<TemplateChoice>,
}

/// One choice of a select.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateChoice {
    /// What the form shows.
    pub label: String,
    /// What it sets.
    pub value: String,
}

/// How one catalog fared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    /// `bundled` or the catalog's URL.
    pub source: String,
    /// The prefix of its templates' ids (`bundled`, `s1`, …).
    pub prefix: String,
    /// Why it could not be read (unreachable, too slow, too large, not a catalog); null when read.
    pub error: Option<String>,
    /// How many templates it gave.
    pub templates: usize,
}

impl From<templates::Catalog> for CatalogView {
    fn from(c: templates::Catalog) -> Self {
        Self {
            templates: c
                .templates
                .into_iter()
                .map(|e| {
                    let t = e.template;
                    TemplateView {
                        id: e.id,
                        source: e.source,
                        format: t.format.into(),
                        title: t.title,
                        description: t.description,
                        categories: t.categories,
                        logo: t.logo,
                        variables: t
                            .variables
                            .into_iter()
                            .map(|v| TemplateVariable {
                                name: v.name,
                                label: v.label,
                                description: v.description,
                                default: v.default,
                                choices: v
                                    .choices
                                    .into_iter()
                                    .map(|c| TemplateChoice {
                                        label: c.label,
                                        value: c.value,
                                    })
                                    .collect(),
                            })
                            .collect(),
                    }
                })
                .collect(),
            sources: c
                .sources
                .into_iter()
                .map(|s| SourceView {
                    source: s.source,
                    prefix: s.prefix,
                    error: s.error,
                    templates: s.templates,
                })
                .collect(),
        }
    }
}

/// The catalog URLs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesBody {
    /// http(s) URLs of Portainer v2, CasaOS or Yacht catalogs, in the order their templates are
    /// listed (at most 20, each at most 2048 bytes, no repeats).
    #[schema(max_items = 20)]
    pub sources: Vec<String>,
}

/// A new service from a template.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstantiateBody {
    /// The new service's name (DNS-safe: 1-63 lowercase letters, digits and `-`).
    #[schema(
        pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        min_length = 1,
        max_length = 63
    )]
    pub name: String,
    /// Values for the template's variables by name; those not given take their default. A
    /// select's value must be one of its choices.
    #[serde(default)]
    pub variables: IndexMap<String, String>,
}

/// What a template gave.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstantiatedView {
    /// The new service's definition (YAML), to review or edit before creating it.
    pub definition: String,
    /// Project files it comes with, by path: a repository stack's `.env` with the values of its
    /// variables (stored with the service on create).
    pub files: IndexMap<String, String>,
    /// The service, when `create=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceView>,
    /// Variables the definition uses that nothing sets yet (a shared root such as `MEDIA` not
    /// added): creating would be a 422 naming them.
    pub warnings: Vec<crate::spec::Problem>,
}

impl From<templates::Instantiated> for InstantiatedView {
    fn from(i: templates::Instantiated) -> Self {
        Self {
            definition: i.definition,
            files: i.files,
            service: i.service.map(Into::into),
            warnings: i.unset,
        }
    }
}

/// An uploaded catalog file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateFileView {
    /// Its name.
    pub name: String,
    /// How many templates it holds.
    pub templates: usize,
}
