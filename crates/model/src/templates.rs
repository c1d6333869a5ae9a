//! App templates in the three formats people publish (issue 13, item 5), read into one shape and
//! turned into a compose-style definition. No I/O: fetching catalogs is the core's.
//!
//! - **Portainer v2** (`{"version": "2", "templates": [...]}`): type 1 (a container) becomes a
//!   one-member definition; `env` entries with `label`, `default`, `preset` and `select` become
//!   the template's variables. Type 3 (a compose stack in a git repository): the caller fetches
//!   the stack file ([`Template::repository`]); its variables become the stack's `.env`.
//! - **CasaOS app store** (a compose file with `x-casaos` at the top: `title`, `tagline`, `icon`,
//!   `category`, `port_map`): the file itself, `$AppID` replaced by the new service's name and
//!   CasaOS's fixed folders by the standard ones (`/DATA/AppData/$AppID` → `${APPDATA}`,
//!   `/DATA/Media` → `${MEDIA}`, `/DATA/Downloads` → `${DOWNLOADS}`);
//!   `$PUID`, `$PGID` and `$TZ` are SDMD's standard variables of the same names.
//! - **Yacht** (a JSON list of templates like Portainer's v1 ones): the placeholders `!config`,
//!   `!data`, `!media`, `!downloads`, `!PUID` and `!PGID` become `${APPDATA_CONFIG}`,
//!   `${APPDATA_DATA}`, `${MEDIA}`, `${DOWNLOADS}`, `${PUID}` and `${PGID}`.
//!
//! A container volume without a host path becomes a folder in the app's data
//! (`${APPDATA}/<last path segment>`), so that template data lands in the standard folders.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// The largest catalog read (bytes); larger ones are refused.
pub const MAX_CATALOG_BYTES: usize = 2 * 1024 * 1024;

/// Which format a template was published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Portainer's app templates, version 2.
    PortainerV2,
    /// A CasaOS app-store compose file.
    Casaos,
    /// Yacht's templates.
    Yacht,
}

/// One choice of a `select` variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// What the form shows.
    pub label: String,
    /// What it sets.
    pub value: String,
}

/// A value the template asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
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
    /// For a `select`: the allowed values (the default is the one marked so).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
}

/// A template, whatever its format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    /// Unique in its catalog: the title as a DNS-safe slug (`-2`, `-3`… for repeats).
    pub id: String,
    /// Its format.
    pub format: Format,
    /// Title.
    pub title: String,
    /// One line or a paragraph.
    pub description: String,
    /// Categories, as published.
    pub categories: Vec<String>,
    /// An icon URL, as published (the dashboard loads it, sdmd does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The values a new service from it needs.
    pub variables: Vec<Variable>,
    #[serde(skip)]
    body: Body,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// A container described by fields (Portainer type 1, Yacht).
    Container(Box<Container>),
    /// A compose file as published (CasaOS).
    Compose(String),
    /// A compose stack in a git repository (Portainer type 3), fetched on instantiate.
    Repository(Repository),
    /// Something this build cannot turn into a service (with why).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Container {
    image: String,
    ports: Vec<String>,
    volumes: Vec<String>,
    /// Fixed environment (presets), then the variables' names (set on instantiate).
    environment: IndexMap<String, String>,
    restart: Option<String>,
    labels: IndexMap<String, String>,
    privileged: bool,
    command: Option<String>,
    hostname: Option<String>,
}

/// A problem with a template or catalog: which template (by title or position) and which field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{template}: {field}: {message}")]
pub struct TemplateError {
    /// The template's title, or `templates[i]`, or `catalog`.
    pub template: String,
    /// The field, as a path in the published document.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(template: &str, field: impl Into<String>, message: impl Into<String>) -> TemplateError {
    TemplateError {
        template: template.to_owned(),
        field: field.into(),
        message: message.into(),
    }
}

/// Reads a catalog in any of the three formats (told apart by their shape).
pub fn parse_catalog(bytes: &[u8]) -> Result<Vec<Template>, TemplateError> {
    if bytes.len() > MAX_CATALOG_BYTES {
        return Err(err(
            "catalog",
            "",
            format!(
                "{} bytes, more than the {} MiB a catalog may have",
                bytes.len(),
                MAX_CATALOG_BYTES / (1024 * 1024)
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| err("catalog", "", "not UTF-8 text"))?;
    let templates = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) if o.contains_key("templates") => {
            match o.get("version").and_then(Value::as_str) {
                Some("2") => portainer(&o["templates"])?,
                Some(v) => {
                    return Err(err(
                        "catalog",
                        "version",
                        format!("Portainer templates version {v:?}: only \"2\" is read"),
                    ));
                }
                None => yacht(&o["templates"])?,
            }
        }
        Ok(list @ Value::Array(_)) => yacht(&list)?,
        Ok(_) => {
            return Err(err(
                "catalog",
                "",
                "JSON that is neither Portainer v2 ({\"version\": \"2\", \"templates\": [...]}) nor Yacht ([...])",
            ));
        }
        Err(json_error) => match serde_norway::from_str::<Value>(text) {
            Ok(Value::Object(o)) if o.contains_key("x-casaos") => vec![casaos(&o, text)?],
            Ok(_) => {
                return Err(err(
                    "catalog",
                    "x-casaos",
                    "a YAML file without x-casaos is not a CasaOS app",
                ));
            }
            Err(yaml_error) => {
                return Err(err(
                    "catalog",
                    "",
                    format!("neither JSON ({json_error}) nor YAML ({yaml_error})"),
                ));
            }
        },
    };
    Ok(with_unique_ids(templates))
}

fn with_unique_ids(mut templates: Vec<Template>) -> Vec<Template> {
    let mut seen: IndexMap<String, usize> = IndexMap::new();
    for t in &mut templates {
        let base = slug(&t.title);
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        t.id = if *n == 1 { base } else { format!("{base}-{n}") };
    }
    templates
}

/// A DNS-safe slug of `s` (`app` when nothing is left).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(50).collect();
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "app".to_owned()
    } else {
        out.to_owned()
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list<'a>(v: &'a Value, key: &str, who: &str, at: &str) -> Result<&'a [Value], TemplateError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(err(who, format!("{at}.{key}"), "must be a list")),
    }
}

fn portainer(templates: &Value) -> Result<Vec<Template>, TemplateError> {
    let Value::Array(items) = templates else {
        return Err(err("catalog", "templates", "must be a list"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, t)| fields_template(t, i, Format::PortainerV2))
        .collect()
}

fn yacht(templates: &Value) -> Result<Vec<Template>, TemplateError> {
    let Value::Array(items) = templates else {
        return Err(err("catalog", "templates", "must be a list"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, t)| fields_template(t, i, Format::Yacht))
        .collect()
}

/// A Portainer or Yacht entry (the same field names; Yacht adds placeholders).
/// `[A-Za-z_][A-Za-z0-9_]*`: a name a definition can interpolate and a shell can export.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn fields_template(t: &Value, i: usize, format: Format) -> Result<Template, TemplateError> {
    let at = format!("templates[{i}]");
    if !t.is_object() {
        return Err(err(&at, &at, "must be an object"));
    }
    let title = text(t, "title").ok_or_else(|| err(&at, format!("{at}.title"), "is required"))?;
    let who = title.as_str();
    let kind = t.get("type").and_then(Value::as_u64).unwrap_or(1);
    let mut variables = Vec::new();
    let mut environment = IndexMap::new();
    for (j, e) in list(t, "env", who, &at)?.iter().enumerate() {
        let field = format!("{at}.env[{j}]");
        let name =
            text(e, "name").ok_or_else(|| err(who, format!("{field}.name"), "is required"))?;
        if !is_env_name(&name) {
            return Err(err(
                who,
                format!("{field}.name"),
                format!("{name:?} is not an environment variable name"),
            ));
        }
        let default = text(e, "default").map(|d| placeholders(&d, format));
        let preset = e.get("preset").and_then(Value::as_bool).unwrap_or(false);
        let mut choices = Vec::new();
        let mut chosen = None;
        for (k, c) in list(e, "select", who, &field)?.iter().enumerate() {
            let value = text(c, "value")
                .ok_or_else(|| err(who, format!("{field}.select[{k}].value"), "is required"))?;
            if c.get("default").and_then(Value::as_bool) == Some(true) {
                chosen = Some(value.clone());
            }
            choices.push(Choice {
                label: text(c, "text").unwrap_or_else(|| value.clone()),
                value,
            });
        }
        let default = chosen.or(default);
        if preset {
            // A preset is not asked: it is part of the container as published.
            environment.insert(name, default.unwrap_or_default());
        } else {
            variables.push(Variable {
                label: text(e, "label").unwrap_or_else(|| name.clone()),
                description: text(e, "description"),
                name,
                default,
                choices,
            });
        }
    }
    let body = match kind {
        1 => Body::Container(Box::new(container(t, who, &at, format, environment)?)),
        2 => Body::Unsupported("a Docker Swarm stack (Portainer type 2)".into()),
        3 => Body::Repository(repository(t, who, &at)?),
        n => {
            return Err(err(
                who,
                format!("{at}.type"),
                format!(
                    "{n}: Portainer knows 1 (container), 2 (swarm stack) and 3 (compose stack)"
                ),
            ));
        }
    };
    Ok(Template {
        id: String::new(),
        format,
        description: text(t, "description").unwrap_or_default(),
        categories: list(t, "categories", who, &at)?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        logo: text(t, "logo"),
        title,
        variables,
        body,
    })
}

fn container(
    t: &Value,
    who: &str,
    at: &str,
    format: Format,
    environment: IndexMap<String, String>,
) -> Result<Container, TemplateError> {
    let image = text(t, "image").ok_or_else(|| err(who, format!("{at}.image"), "is required"))?;
    let mut ports = Vec::new();
    for (j, p) in list(t, "ports", who, at)?.iter().enumerate() {
        match p {
            Value::String(s) => ports.push(s.clone()),
            // Yacht: `{"WebUI": "8080:80/tcp"}`, the key a label.
            Value::Object(o) => {
                ports.extend(o.values().filter_map(Value::as_str).map(str::to_owned))
            }
            _ => return Err(err(who, format!("{at}.ports[{j}]"), "must be a string")),
        }
    }
    let mut volumes = Vec::new();
    for (j, v) in list(t, "volumes", who, at)?.iter().enumerate() {
        let target = text(v, "container")
            .ok_or_else(|| err(who, format!("{at}.volumes[{j}].container"), "is required"))?;
        let source = match text(v, "bind") {
            Some(b) => placeholders(&b, format),
            None => format!(
                "${{APPDATA}}/{}",
                slug(target.rsplit('/').find(|s| !s.is_empty()).unwrap_or("data"))
            ),
        };
        let ro = v.get("readonly").and_then(Value::as_bool) == Some(true);
        volumes.push(format!("{source}:{target}{}", if ro { ":ro" } else { "" }));
    }
    let mut labels = IndexMap::new();
    for l in list(t, "labels", who, at)? {
        if let (Some(k), Some(v)) = (text(l, "name"), text(l, "value")) {
            labels.insert(k, v);
        }
    }
    Ok(Container {
        image,
        ports,
        volumes,
        environment,
        restart: text(t, "restart_policy"),
        labels,
        privileged: t.get("privileged").and_then(Value::as_bool) == Some(true),
        command: text(t, "command"),
        hostname: text(t, "hostname"),
    })
}

/// Yacht's placeholders as SDMD's standard variables (other formats are left as written).
fn placeholders(s: &str, format: Format) -> String {
    if format != Format::Yacht {
        return s.to_owned();
    }
    const MAP: [(&str, &str); 6] = [
        ("!config", "${APPDATA_CONFIG}"),
        ("!data", "${APPDATA_DATA}"),
        ("!media", "${MEDIA}"),
        ("!downloads", "${DOWNLOADS}"),
        ("!PUID", "${PUID}"),
        ("!PGID", "${PGID}"),
    ];
    let mut out = s.to_owned();
    for (from, to) in MAP {
        out = out.replace(from, to);
    }
    out
}

fn casaos(doc: &serde_json::Map<String, Value>, source: &str) -> Result<Template, TemplateError> {
    let x = &doc["x-casaos"];
    // Titles are per language: `{en_us: …}`; a plain string is accepted too.
    let localized = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o
            .get("en_us")
            .or_else(|| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let title = localized(x.get("title"))
        .or_else(|| doc.get("name").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| err("catalog", "x-casaos.title", "is required"))?;
    if !doc.get("services").is_some_and(Value::is_object) {
        return Err(err(&title, "services", "a CasaOS app needs its services"));
    }
    Ok(Template {
        id: String::new(),
        format: Format::Casaos,
        description: localized(x.get("tagline"))
            .or_else(|| localized(x.get("description")))
            .unwrap_or_default(),
        categories: text(x, "category").into_iter().collect(),
        logo: text(x, "icon"),
        title,
        variables: Vec::new(),
        body: Body::Compose(source.to_owned()),
    })
}

impl Template {
    /// The definition (YAML) of a new service named `name` from this template, with `values`
    /// for its variables (a variable without a value takes its default; a `select` only one of
    /// its choices). A value given is written literally (a `$` in it is not interpolated); the
    /// template's own text (defaults, presets, paths) keeps its `${…}`.
    pub fn instantiate(
        &self,
        name: &str,
        values: &IndexMap<String, String>,
    ) -> Result<String, Vec<TemplateError>> {
        self.instantiate_with(name, values, None)
            .map(|i| i.definition)
    }

    /// [`Template::instantiate`] with a repository stack's compose file (`stack`, fetched by the
    /// caller from [`Template::repository`]); also gives the stack's `.env`.
    pub fn instantiate_with(
        &self,
        name: &str,
        values: &IndexMap<String, String>,
        stack: Option<&str>,
    ) -> Result<Instance, Vec<TemplateError>> {
        let who = self.title.as_str();
        let mut problems = Vec::new();
        if !crate::spec::is_dns_label(name) {
            problems.push(err(
                who,
                "name",
                format!("`{name}` is not DNS-safe: 1-63 lowercase letters, digits and '-', not starting or ending with '-'"),
            ));
        }
        for k in values.keys() {
            if !self.variables.iter().any(|v| &v.name == k) {
                problems.push(err(
                    who,
                    format!("variables.{k}"),
                    "the template has no such variable",
                ));
            }
        }
        let mut env = IndexMap::new();
        for v in &self.variables {
            // What the user typed is literal (`$` escaped); a default is the template's own text,
            // which may name standard variables (`${PUID}` from Yacht's `!PUID`).
            let given = values.get(&v.name).map(|s| (s, true));
            match given.or(v.default.as_ref().map(|s| (s, false))) {
                Some((value, _))
                    if !v.choices.is_empty() && !v.choices.iter().any(|c| &c.value == value) =>
                {
                    problems.push(err(
                        who,
                        format!("variables.{}", v.name),
                        format!(
                            "{value:?} is not one of {}",
                            v.choices
                                .iter()
                                .map(|c| c.value.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                Some((value, literal)) => {
                    env.insert(v.name.clone(), (value.clone(), literal));
                }
                None => problems.push(err(who, format!("variables.{}", v.name), "is required")),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let compose_env = || {
            env.iter()
                .map(|(k, (v, literal))| {
                    let v = if *literal {
                        v.replace('$', "$$")
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect()
        };
        match &self.body {
            Body::Unsupported(why) => Err(vec![err(
                who,
                "type",
                format!("{why}: it cannot be instantiated"),
            )]),
            Body::Compose(text) => Ok(Instance {
                definition: compose_document(text, name),
                dotenv: None,
            }),
            Body::Container(c) => Ok(Instance {
                definition: container_document(c, name, compose_env()),
                dotenv: None,
            }),
            Body::Repository(_) => {
                let Some(text) = stack else {
                    return Err(vec![err(
                        who,
                        "repository",
                        "the stack file has not been fetched from the repository",
                    )]);
                };
                Ok(Instance {
                    definition: named_document(text, name),
                    dotenv: (!env.is_empty()).then(|| dotenv_text(&env)),
                })
            }
        }
    }

    /// Where a repository stack (Portainer type 3) is: the file to fetch before
    /// [`Template::instantiate_with`].
    pub fn repository(&self) -> Option<&Repository> {
        match &self.body {
            Body::Repository(r) => Some(r),
            _ => None,
        }
    }
}

/// A compose stack in a git repository (Portainer type 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// The repository (http or https).
    pub url: String,
    /// The compose file's path in it.
    pub stackfile: String,
}

/// What a template gives a new service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its definition (YAML).
    pub definition: String,
    /// A repository stack's `.env`: the values of its variables, which its compose file reads as
    /// `${NAME}` (Portainer passes them as the stack's environment).
    pub dotenv: Option<String>,
}

fn repository(t: &Value, who: &str, at: &str) -> Result<Repository, TemplateError> {
    let r = t.get("repository");
    let url = r.and_then(|r| text(r, "url")).unwrap_or_default();
    let stackfile = r.and_then(|r| text(r, "stackfile")).unwrap_or_default();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(err(
            who,
            format!("{at}.repository.url"),
            "must be an http(s) URL of a git repository",
        ));
    }
    let safe = !stackfile.is_empty()
        && !stackfile.starts_with('/')
        && stackfile
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if !safe {
        return Err(err(
            who,
            format!("{at}.repository.stackfile"),
            "must be a relative path in the repository (no `..`)",
        ));
    }
    Ok(Repository { url, stackfile })
}

/// A `.env` that gives each variable its value: double-quoted with backslash escapes, a value
/// typed by the user literal (`\$`), a template's default keeping its `${…}`.
fn dotenv_text(env: &IndexMap<String, (String, bool)>) -> String {
    let mut out = String::new();
    for (k, (v, literal)) in env {
        let mut q = String::with_capacity(v.len() + 2);
        for c in v.chars() {
            match c {
                '\\' => q.push_str("\\\\"),
                '"' => q.push_str("\\\""),
                '\n' => q.push_str("\\n"),
                '$' if *literal => q.push_str("\\$"),
                c => q.push(c),
            }
        }
        out.push_str(&format!("{k}=\"{q}\"\n"));
    }
    out
}

/// CasaOS's fixed folders and the standard folders they become (longest first).
const CASAOS_FOLDERS: [(&str, &str); 4] = [
    ("/DATA/AppData/${AppID}", "${APPDATA}"),
    ("/DATA/AppData/$AppID", "${APPDATA}"),
    ("/DATA/Media", "${MEDIA}"),
    ("/DATA/Downloads", "${DOWNLOADS}"),
];

/// A CasaOS compose file for a service named `name`: its fixed folders become the standard
/// ones (`/DATA/AppData/$AppID` → `${APPDATA}`, `/DATA/Media` → `${MEDIA}`, `/DATA/Downloads`
/// → `${DOWNLOADS}`; other `/DATA` paths stay as written); `$AppID`/`${AppID}` is the name,
/// and the document's own `name:` (the app id) becomes it too.
fn compose_document(text: &str, name: &str) -> String {
    let mut text = text.to_owned();
    for (casaos, standard) in CASAOS_FOLDERS {
        text = text.replace(casaos, standard);
    }
    let text = text.replace("${AppID}", name).replace("$AppID", name);
    let out = named_document(&text, name);
    create_bind_sources(&out).unwrap_or(out)
}

/// A compose file named `name`: its top-level `name:` replaced, or one added.
fn named_document(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len() + name.len());
    let mut named = false;
    for line in text.lines() {
        if line.starts_with("name:") {
            out.push_str(&format!("name: {name}\n"));
            named = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if named {
        out
    } else {
        format!("name: {name}\n{out}")
    }
}

/// CasaOS creates every bind source of an app it installs; compose creates those of the short
/// syntax only. So that a CasaOS app deploys as it does there, each long-syntax bind without
/// `bind.create_host_path` gets `create_host_path: true` (the document is re-written then, and
/// shown before it is stored). `None` when nothing needed it.
fn create_bind_sources(text: &str) -> Option<String> {
    let mut doc: Value = serde_norway::from_str(text).ok()?;
    let mut changed = false;
    for member in doc.get_mut("services")?.as_object_mut()?.values_mut() {
        let Some(volumes) = member.get_mut("volumes").and_then(Value::as_array_mut) else {
            continue;
        };
        for v in volumes.iter_mut().filter_map(Value::as_object_mut) {
            if v.get("type").and_then(Value::as_str) != Some("bind") {
                continue;
            }
            let bind = v
                .entry("bind")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(b) = bind.as_object_mut()
                && !b.contains_key("create_host_path")
            {
                b.insert("create_host_path".into(), Value::Bool(true));
                changed = true;
            }
        }
    }
    changed
        .then(|| serde_norway::to_string(&doc).ok())
        .flatten()
}

fn container_document(c: &Container, name: &str, asked: IndexMap<String, String>) -> String {
    let mut member = serde_json::Map::new();
    member.insert("image".into(), c.image.clone().into());
    if let Some(h) = &c.hostname {
        member.insert("hostname".into(), h.clone().into());
    }
    if let Some(cmd) = &c.command {
        member.insert("command".into(), cmd.clone().into());
    }
    if !c.ports.is_empty() {
        member.insert("ports".into(), c.ports.clone().into());
    }
    if !c.volumes.is_empty() {
        member.insert("volumes".into(), c.volumes.clone().into());
    }
    let mut environment = c.environment.clone();
    environment.extend(asked);
    if !environment.is_empty() {
        member.insert(
            "environment".into(),
            environment
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
    }
    if !c.labels.is_empty() {
        member.insert(
            "labels".into(),
            c.labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
    }
    if c.privileged {
        member.insert("privileged".into(), true.into());
    }
    if let Some(r) = &c.restart {
        member.insert("restart".into(), r.clone().into());
    }
    let doc = serde_json::json!({
        "name": name,
        "services": { slug(name): member },
    });
    serde_norway::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{Project, resolve};
    use std::path::Path;

    /// Portainer v2, as its documentation shows a catalog: a container with a `select` and a
    /// preset, a container volume without a bind, and a compose stack from a repository.
    const PORTAINER: &str = r#"{
      "version": "2",
      "templates": [
        {
          "type": 1, "title": "Registry UI", "description": "Browse a registry",
          "categories": ["Tools"], "platform": "linux", "logo": "https://example.com/r.png",
          "image": "local/busybox:1", "restart_policy": "unless-stopped",
          "ports": ["8080:80/tcp", "443/tcp"],
          "volumes": [{"container": "/data"}, {"container": "/etc/app", "bind": "/srv/app", "readonly": true}],
          "env": [
            {"name": "MODE", "label": "Mode", "select": [
              {"text": "Production", "value": "prod", "default": true},
              {"text": "Development", "value": "dev"}]},
            {"name": "ADMIN_USER", "label": "Administrator", "default": "admin"},
            {"name": "BUILT_IN", "default": "yes", "preset": true}
          ],
          "labels": [{"name": "com.example.app", "value": "ui"}]
        },
        {"type": 3, "title": "Stack from git", "description": "x",
         "repository": {"url": "https://github.com/example/stacks", "stackfile": "app/docker-compose.yml"}}
      ]
    }"#;

    const CASAOS: &str = "name: syncthing\nservices:\n  syncthing:\n    image: local/busybox:1\n    environment:\n      PUID: $PUID\n      PGID: $PGID\n      TZ: $TZ\n    volumes:\n      - /DATA/AppData/$AppID/config:/config\n    x-casaos:\n      envs:\n        - container: PUID\n          description:\n            en_us: user\nx-casaos:\n  architectures: [amd64]\n  main: syncthing\n  category: Backup\n  title:\n    en_us: Syncthing\n  tagline:\n    en_us: Continuous file synchronization\n  icon: https://example.com/s.png\n  port_map: \"8384\"\n";

    const YACHT: &str = r#"[
      {"type": 1, "title": "Jellyfin", "description": "Media server", "categories": ["Media"],
       "image": "local/busybox:1", "restart_policy": "unless-stopped",
       "ports": [{"WebUI": "8096:8096/tcp"}],
       "volumes": [{"container": "/config", "bind": "!config/jellyfin"},
                   {"container": "/media", "bind": "!media"}],
       "env": [{"name": "PUID", "label": "PUID", "default": "!PUID"},
               {"name": "PGID", "label": "PGID", "default": "!PGID"}]}
    ]"#;

    fn resolves(definition: &str) -> serde_json::Value {
        let source = crate::spec::yaml_document(definition.as_bytes()).expect("YAML");
        let globals = |k: &str| {
            Some(
                match k {
                    "APPDATA" => "/appdata/app",
                    "APPDATA_CONFIG" => "/appdata/app/config",
                    "MEDIA" => "/srv/media",
                    "PUID" => "1234",
                    "PGID" => "2345",
                    "TZ" => "Europe/Berlin",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let project = Project {
            source: source.clone(),
            files: IndexMap::new(),
        };
        resolve(&project, &globals, Path::new("/stacks/app")).expect("the definition resolves");
        source
    }

    #[test]
    fn portainer_v2_container_becomes_a_definition_with_its_variables() {
        let all = parse_catalog(PORTAINER.as_bytes()).expect("parses");
        assert_eq!(all.len(), 2);
        let t = &all[0];
        assert_eq!(
            (t.id.as_str(), t.format),
            ("registry-ui", Format::PortainerV2)
        );
        assert_eq!(t.categories, ["Tools"]);
        let names: Vec<&str> = t.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["MODE", "ADMIN_USER"], "a preset is not asked");
        assert_eq!(t.variables[0].default.as_deref(), Some("prod"));
        assert_eq!(t.variables[0].choices.len(), 2);
        let values: IndexMap<String, String> = [("ADMIN_USER".into(), "r$oot".into())].into();
        let doc = t.instantiate("registry", &values).expect("instantiates");
        let source = resolves(&doc);
        let web = &source["services"]["registry"];
        assert_eq!(web["image"], "local/busybox:1");
        assert_eq!(web["restart"], "unless-stopped");
        assert_eq!(web["ports"], serde_json::json!(["8080:80/tcp", "443/tcp"]));
        assert_eq!(
            web["volumes"],
            serde_json::json!(["${APPDATA}/data:/data", "/srv/app:/etc/app:ro"]),
            "a volume without a bind goes to the app's data folder"
        );
        assert_eq!(
            web["environment"],
            serde_json::json!({"BUILT_IN": "yes", "MODE": "prod", "ADMIN_USER": "r$$oot"}),
            "what the user typed is literal"
        );
        assert_eq!(web["labels"]["com.example.app"], "ui");
        // A select admits only its choices; unknown variables are named.
        let bad: IndexMap<String, String> =
            [("MODE".into(), "chaos".into()), ("NOPE".into(), "1".into())].into();
        let errs = t.instantiate("registry", &bad).expect_err("refused");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["variables.NOPE", "variables.MODE"]);
        // Type 3 is listed, and refused on instantiate with why.
        let errs = all[1]
            .instantiate("s", &IndexMap::new())
            .expect_err("refused");
        assert!(errs[0].message.contains("not been fetched"), "{errs:?}");
        let repo = all[1].repository().expect("a repository stack");
        assert_eq!(
            (repo.url.as_str(), repo.stackfile.as_str()),
            (
                "https://github.com/example/stacks",
                "app/docker-compose.yml"
            )
        );
        let stack = "services:\n  app:\n    image: local/busybox:1\n";
        let inst = all[1]
            .instantiate_with("s", &IndexMap::new(), Some(stack))
            .expect("with its stack file");
        assert!(
            inst.definition.starts_with("name: s\n"),
            "{}",
            inst.definition
        );
        assert_eq!(inst.dotenv, None);
    }

    #[test]
    fn a_repository_stack_gets_its_values_in_a_dotenv_the_parser_reads_back() {
        let catalog = r#"{"version": "2", "templates": [{"type": 3, "title": "Git Stack",
          "repository": {"url": "https://git.example.com/stacks.git", "stackfile": "web/compose.yml"},
          "env": [{"name": "GREETING", "label": "Greeting"}, {"name": "OWNER", "default": "${PUID}"}]}]}"#;
        let t = &parse_catalog(catalog.as_bytes()).expect("parses")[0];
        let typed = "it's \"$HOME\" \\ done\nline 2";
        let values: IndexMap<String, String> = [("GREETING".into(), typed.into())].into();
        let inst = t
            .instantiate_with("web", &values, Some("services: {}\n"))
            .expect("instantiates");
        let env = crate::spec::dotenv::parse(inst.dotenv.as_deref().unwrap(), |k| {
            (k == "PUID").then(|| "1234".to_owned())
        })
        .expect("the dotenv parses");
        assert_eq!(env["GREETING"], typed, "a typed value is literal");
        assert_eq!(env["OWNER"], "1234", "a default keeps its ${{…}}");
        for bad in [r#""stackfile": "../etc/passwd""#, r#""stackfile": "/abs""#] {
            let c = catalog.replace(r#""stackfile": "web/compose.yml""#, bad);
            assert!(parse_catalog(c.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn casaos_app_keeps_its_compose_with_the_app_id_and_standard_variables() {
        let all = parse_catalog(CASAOS.as_bytes()).expect("parses");
        let t = &all[0];
        assert_eq!(t.format, Format::Casaos);
        assert_eq!(t.title, "Syncthing");
        assert_eq!(t.description, "Continuous file synchronization");
        assert_eq!(t.categories, ["Backup"]);
        let doc = t
            .instantiate("sync", &IndexMap::new())
            .expect("instantiates");
        assert!(doc.starts_with("name: sync\n"), "{doc}");
        assert!(doc.contains("${APPDATA}/config:/config"), "{doc}");
        let source = resolves(&doc);
        assert_eq!(
            source["services"]["syncthing"]["environment"]["PUID"],
            "$PUID"
        );
    }

    #[test]
    fn yacht_placeholders_become_standard_folders_and_variables() {
        let all = parse_catalog(YACHT.as_bytes()).expect("parses");
        let t = &all[0];
        assert_eq!((t.format, t.id.as_str()), (Format::Yacht, "jellyfin"));
        let doc = t
            .instantiate("jellyfin", &IndexMap::new())
            .expect("instantiates");
        let source = resolves(&doc);
        let m = &source["services"]["jellyfin"];
        assert_eq!(
            m["volumes"],
            serde_json::json!(["${APPDATA_CONFIG}/jellyfin:/config", "${MEDIA}:/media"])
        );
        assert_eq!(m["ports"], serde_json::json!(["8096:8096/tcp"]));
        assert_eq!(
            m["environment"],
            serde_json::json!({"PUID": "${PUID}", "PGID": "${PGID}"})
        );
    }

    #[test]
    fn bad_catalogs_are_errors_naming_the_template_and_field() {
        let big = vec![b' '; MAX_CATALOG_BYTES + 1];
        assert!(
            parse_catalog(&big)
                .expect_err("too big")
                .message
                .contains("2 MiB")
        );
        let e = parse_catalog(br#"{"version": "2", "templates": [{"type": 1, "title": "A"}]}"#)
            .expect_err("no image");
        assert_eq!(
            (e.template.as_str(), e.field.as_str()),
            ("A", "templates[0].image")
        );
        let e = parse_catalog(br#"{"version": "2", "templates": [{"type": 1, "title": "A", "image": "x", "env": [{"name": "1X"}]}]}"#)
            .expect_err("bad env name");
        assert_eq!(e.field, "templates[0].env[0].name");
        let e = parse_catalog(br#"{"version": "3", "templates": []}"#).expect_err("version");
        assert_eq!(e.field, "version");
        let e = parse_catalog(b"services: {}\n").expect_err("not casaos");
        assert_eq!(e.field, "x-casaos");
        let e = parse_catalog(b"{not json: [").expect_err("malformed");
        assert_eq!(e.template, "catalog");
        // Titles that repeat get distinct ids.
        let two =
            parse_catalog(br#"[{"title": "A b", "image": "x"}, {"title": "a-B", "image": "y"}]"#)
                .expect("parses");
        assert_eq!((two[0].id.as_str(), two[1].id.as_str()), ("a-b", "a-b-2"));
    }
}
