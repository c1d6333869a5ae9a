//! A service's project: the compose document as written (with its `${VAR}` text) and the files a
//! compose project directory would hold (`.env`, env files, secrets, small configs). [`resolve`]
//! turns both into the effective [`Definition`] exactly as docker compose would see it:
//! `.env` first, then SDMD's global variables, interpolation, `env_file`s merged under
//! `environment`, relative bind paths anchored at the project directory.
//!
//! Pure: no I/O. `ops` loads and stores projects, and writes the files on deploy.

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::interpolate::{self, MASK};
use crate::spec::{Definition, Problem, dotenv};

/// The largest file a project may carry (the whole request is bounded by the body limit too).
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The most files a project may carry.
pub const MAX_FILES: usize = 64;

/// A project as stored with a revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    /// The document as written.
    pub source: Value,
    /// Files by path relative to the project directory.
    pub files: IndexMap<String, Vec<u8>>,
}

/// A file as listed by the API: never its content.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// Path relative to the project directory.
    pub path: String,
    /// Size in bytes.
    pub size: usize,
    /// Sealed at rest (`.env`, env files, secrets); its content is shown only when asked for.
    pub sealed: bool,
    /// SHA-256 of the content, hex: tells whether two revisions hold the same file.
    pub sha256: String,
}

/// The effective definition of a project and what compose would warn about.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What deploy uses: every value real.
    pub definition: Definition,
    /// What is stored and shown: values that come from sealed files or secret variables are
    /// masked.
    pub display: Definition,
    /// Compose's warnings (an unset variable becomes empty), each with its path.
    pub warnings: Vec<Problem>,
    /// Where each member's environment variable came from, by member and key (the keys of
    /// `definition`'s environments, in their order).
    pub sources: IndexMap<String, IndexMap<String, EnvSource>>,
}

/// A variable SDMD supplies beside the service's `.env` (which wins over it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Its value (a secret one opened).
    pub value: String,
    /// Sealed at rest: masked wherever the document is shown, usable only where masking holds.
    pub secret: bool,
    /// Where SDMD has it from.
    pub origin: Origin,
}

crate::text_enum! {
    /// Where a global variable comes from.
    pub enum Origin ("variable source") {
        /// Stored in SDMD's settings (`PUT /api/v1/variables`).
        Set = "set",
        /// A standard variable's default (`TZ`, `PUID`, `PGID`, `UMASK`), not overridden.
        Default = "default",
        /// The `SDMD_VARIABLES` file.
        File = "file",
        /// A shared root (`PUT /api/v1/settings/roots`): a folder several apps use.
        Root = "root",
    }
}

crate::text_enum! {
    /// What set a member's environment variable.
    pub enum EnvKind ("environment source") {
        /// Written in the member's `environment:` (no variable in its value, or only unset ones).
        Member = "member",
        /// Read from an `env_file` (and not overridden by `environment:`).
        EnvFile = "env_file",
        /// Written in `environment:` with a `${VAR}` the service's `.env` sets.
        Dotenv = "dotenv",
        /// Written in `environment:` with a `${VAR}` of SDMD's global variables.
        Global = "global",
        /// Given by the standard-environment switch (`x-sdmd.standard_environment`).
        Standard = "standard",
    }
}

/// Where one environment variable of a member came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSource {
    /// What set it.
    pub kind: EnvKind,
    /// The variable its value was read from (`dotenv`, `global`, `standard`): the first one the
    /// value references that is set.
    pub variable: Option<String>,
    /// For `global` and `standard` values read from a global variable: where SDMD has it from.
    pub origin: Option<Origin>,
    /// For `env_file`: the file (the last one that sets the key, as later files win).
    pub file: Option<String>,
    /// Whether the value is masked when shown (it came from a sealed file or a secret variable).
    pub masked: bool,
}

impl EnvSource {
    fn new(kind: EnvKind) -> Self {
        EnvSource {
            kind,
            variable: None,
            origin: None,
            file: None,
            masked: false,
        }
    }
}

/// Checks a project file path: relative, normal components only, no `..`, at most 255 bytes.
pub fn check_path(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && path.len() <= 255
        && !path.contains('\0')
        && !path.contains('\\')
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !path.ends_with('/');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a project file path: use a relative path inside the project directory, without `..`"
        ))
    }
}

/// Whether a file is sealed at rest: the `.env`, env files, and secret files.
pub fn is_sealed(path: &str, source: &Value) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == ".env"
        || name.ends_with(".env")
        || path.starts_with("secrets/")
        || env_file_paths(source).iter().any(|p| p == path)
        || secret_file_paths(source).iter().any(|p| p == path)
}

/// The env file paths a document's members name (normalised: no leading `./`).
fn env_file_paths(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in members(doc) {
        for e in env_file_entries(m.get("env_file")) {
            out.push(normalise(&e.path));
        }
    }
    out
}

/// The files top-level `secrets` read (`file:`), normalised.
fn secret_file_paths(doc: &Value) -> Vec<String> {
    doc.get("secrets")
        .and_then(Value::as_object)
        .map(|s| {
            s.values()
                .filter_map(|d| d.get("file").and_then(Value::as_str))
                .map(normalise)
                .collect()
        })
        .unwrap_or_default()
}

fn members(doc: &Value) -> Vec<&Map<String, Value>> {
    doc.get("services")
        .and_then(Value::as_object)
        .map(|s| s.values().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// `./a/b` → `a/b`.
fn normalise(p: &str) -> String {
    let mut s = p;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_owned()
}

struct EnvFileEntry {
    path: String,
    required: bool,
    index: usize,
}

/// `env_file` in its three forms: a string, a list of strings, a list of `{path, required}`.
fn env_file_entries(v: Option<&Value>) -> Vec<EnvFileEntry> {
    let one = |index: usize, v: &Value| match v {
        Value::String(s) => Some(EnvFileEntry {
            path: s.clone(),
            required: true,
            index,
        }),
        Value::Object(o) => Some(EnvFileEntry {
            path: o.get("path")?.as_str()?.to_owned(),
            required: o.get("required").and_then(Value::as_bool).unwrap_or(true),
            index,
        }),
        _ => None,
    };
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| one(i, v))
            .collect(),
        Some(v) => one(usize::MAX, v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn text(files: &IndexMap<String, Vec<u8>>, path: &str) -> Option<Result<String, String>> {
    files
        .get(path)
        .map(|b| String::from_utf8(b.clone()).map_err(|_| format!("`{path}` is not UTF-8 text")))
}

/// Resolves a project into its effective definition. `globals` are SDMD's global variables
/// (after the `.env`'s, which win), none of them secret; `project_dir` anchors relative bind
/// paths. See [`resolve_with`].
pub fn resolve(
    project: &Project,
    globals: &dyn Fn(&str) -> Option<String>,
    project_dir: &Path,
) -> Result<Resolved, Vec<Problem>> {
    let globals = |k: &str| {
        globals(k).map(|value| Global {
            value,
            secret: false,
            origin: Origin::File,
        })
    };
    resolve_with(project, &globals, project_dir)
}

/// Resolves a project into its effective definition. Variables are looked up in the service's
/// `.env` first, then in `globals` (SDMD's stored variables, its `SDMD_VARIABLES` file and the
/// standard defaults, in the order the caller gives them). A secret global is masked in
/// `display` where it is used (an `environment` value, a config's `content`) and refused
/// anywhere else, so the shown and stored definition never holds it in clear.
pub fn resolve_with(
    project: &Project,
    globals: &dyn Fn(&str) -> Option<Global>,
    project_dir: &Path,
) -> Result<Resolved, Vec<Problem>> {
    let mut problems = Vec::new();
    let problem = |field: String, message: String| Problem { field, message };
    for (path, content) in &project.files {
        if let Err(m) = check_path(path) {
            problems.push(problem(format!("files.{path}"), m));
        }
        if content.len() > MAX_FILE_BYTES {
            problems.push(problem(
                format!("files.{path}"),
                format!("is larger than {} KiB", MAX_FILE_BYTES / 1024),
            ));
        }
    }
    if project.files.len() > MAX_FILES {
        problems.push(problem(
            "files".into(),
            format!("a project carries at most {MAX_FILES} files"),
        ));
    }
    // 1. The `.env` first (it may itself use the global variables), then the globals.
    let dotenv_vars = match text(&project.files, ".env") {
        None => IndexMap::new(),
        Some(Err(m)) => {
            problems.push(problem("files..env".into(), m));
            IndexMap::new()
        }
        Some(Ok(t)) => match dotenv::parse(&t, |k: &str| globals(k).map(|g| g.value)) {
            Ok(v) => v,
            Err(e) => {
                problems.push(problem("files..env".into(), e.to_string()));
                IndexMap::new()
            }
        },
    };
    let lookup = |k: &str| {
        dotenv_vars
            .get(k)
            .cloned()
            .or_else(|| globals(k).map(|g| g.value))
    };
    let standard = crate::spec::standard_environment(&project.source);
    let mut sources: IndexMap<String, IndexMap<String, EnvSource>> = IndexMap::new();
    // 2. Interpolation of every string value.
    let interpolated = interpolate::interpolate(&project.source, lookup);
    for e in &interpolated.errors {
        problems.push(problem(e.path.clone(), e.kind.to_string()));
    }
    let warnings: Vec<Problem> = interpolated
        .warnings
        .iter()
        .map(|w| {
            // The Display form starts with the path, which `field` already carries.
            let text = w.to_string();
            let message = text
                .strip_prefix(&format!("{}: ", w.path))
                .unwrap_or(&text)
                .to_owned();
            problem(w.path.clone(), message)
        })
        .collect();
    let mut doc = interpolated.value;
    // 3. env files merged under `environment`, which wins (compose's precedence).
    let mut sealed_env: Vec<(String, String)> = Vec::new();
    if let Some(services) = doc.get_mut("services").and_then(Value::as_object_mut) {
        for (mname, m) in services.iter_mut() {
            let Some(m) = m.as_object_mut() else { continue };
            let entries = env_file_entries(m.get("env_file"));
            if m.contains_key("env_file") && entries.is_empty() {
                problems.push(problem(
                    format!("services.{mname}.env_file"),
                    "must be a path, a list of paths, or a list of {path, required}".into(),
                ));
            }
            m.remove("env_file");
            let mut from_files: IndexMap<String, String> = IndexMap::new();
            let mut file_of: IndexMap<String, String> = IndexMap::new();
            for e in entries {
                let field = if e.index == usize::MAX {
                    format!("services.{mname}.env_file")
                } else {
                    format!("services.{mname}.env_file[{}]", e.index)
                };
                let path = normalise(&e.path);
                if let Err(m) = check_path(&path) {
                    problems.push(problem(field, m));
                    continue;
                }
                match text(&project.files, &path) {
                    None if e.required => problems.push(problem(
                        field,
                        format!("`{}` is not among the service's files: send it with the definition (multipart part or `files`)", e.path),
                    )),
                    None => {}
                    Some(Err(m)) => problems.push(problem(field, m)),
                    Some(Ok(t)) => match dotenv::parse(&t, lookup) {
                        Ok(vars) => {
                            for k in vars.keys() {
                                file_of.insert(k.clone(), path.clone());
                            }
                            from_files.extend(vars);
                        }
                        Err(err) => problems.push(problem(field, format!("`{}`: {err}", e.path))),
                    },
                }
            }
            let explicit = environment_map(m.get("environment"));
            let member_sources = sources.entry(mname.clone()).or_default();
            for k in from_files.keys() {
                if !explicit.contains_key(k) {
                    sealed_env.push((mname.clone(), k.clone()));
                    let mut src = EnvSource::new(EnvKind::EnvFile);
                    src.file = file_of.get(k).cloned();
                    src.masked = true;
                    member_sources.insert(k.clone(), src);
                }
            }
            for k in explicit.keys() {
                member_sources.insert(k.clone(), EnvSource::new(EnvKind::Member));
            }
            // The standard environment: what neither `environment` nor an env file sets.
            let mut injected: Map<String, Value> = Map::new();
            if standard {
                for name in crate::spec::STANDARD_ENVIRONMENT {
                    if explicit.contains_key(name) || from_files.contains_key(name) {
                        continue;
                    }
                    let Some(value) = lookup(name) else { continue };
                    let mut src = EnvSource::new(EnvKind::Standard);
                    src.variable = Some(name.to_owned());
                    if !dotenv_vars.contains_key(name) {
                        let g = globals(name);
                        src.origin = g.as_ref().map(|g| g.origin);
                        src.masked = g.is_some_and(|g| g.secret);
                    } else {
                        src.masked = true;
                    }
                    if src.masked {
                        sealed_env.push((mname.clone(), name.to_owned()));
                    }
                    member_sources.insert(name.to_owned(), src);
                    injected.insert(name.to_owned(), Value::String(value));
                }
            }
            if !from_files.is_empty() || !injected.is_empty() {
                let mut merged: Map<String, Value> = Map::new();
                for (k, v) in from_files {
                    merged.insert(k, Value::String(v));
                }
                for (k, v) in explicit {
                    merged.insert(k, v);
                }
                merged.extend(injected);
                m.insert("environment".into(), Value::Object(merged));
            }
            anchor_relative_binds(mname, m, project_dir, &mut problems);
        }
    }
    // Secrets and configs read from project files: anchored at the project directory.
    let object_files = anchor_object_files(&mut doc, project, project_dir, &mut problems);
    // Environment values that read a variable of the (sealed) `.env` are masked when shown, and
    // so is a config's `content` that does.
    let mut sealed_content: Vec<String> = Vec::new();
    // A secret global variable is masked the same way, and refused where masking cannot hold.
    for r in interpolate::references(&project.source) {
        let env_key = env_key_of(&project.source, &r.path);
        let from_dotenv = dotenv_vars.contains_key(&r.variable);
        let global = (!from_dotenv).then(|| globals(&r.variable)).flatten();
        if let Some((member, key)) = &env_key {
            // The first variable the value reads that is set names its source.
            if let Some(src) = sources.get_mut(member).and_then(|m| m.get_mut(key))
                && src.kind == EnvKind::Member
                && (from_dotenv || global.is_some())
            {
                src.variable = Some(r.variable.clone());
                if from_dotenv {
                    src.kind = EnvKind::Dotenv;
                    src.masked = true;
                } else if let Some(g) = &global {
                    src.kind = EnvKind::Global;
                    src.origin = Some(g.origin);
                }
            }
        }
        let secret = from_dotenv || global.as_ref().is_some_and(|g| g.secret);
        if !secret {
            continue;
        }
        let content_key = r
            .path
            .strip_prefix("configs.")
            .and_then(|k| k.strip_suffix(".content"));
        if let Some((member, key)) = env_key {
            if let Some(src) = sources.get_mut(&member).and_then(|m| m.get_mut(&key)) {
                src.masked = true;
            }
            sealed_env.push((member, key));
        } else if let Some(key) = content_key {
            sealed_content.push(key.to_owned());
        } else if !from_dotenv {
            problems.push(problem(
                r.path.clone(),
                format!(
                    "`{}` is a secret variable: use it only in an `environment` value or a config's `content`, where SDMD masks it",
                    r.variable
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut definition = crate::spec::parse(&doc)?;
    fill_object_data(&mut definition, &object_files, &lookup)?;
    let mut display = definition.clone();
    for decl in display
        .secrets
        .values_mut()
        .chain(display.configs.values_mut())
    {
        decl.data = None;
    }
    for key in sealed_content {
        if let Some(c) = display
            .configs
            .get_mut(&key)
            .and_then(|d| d.content.as_mut())
        {
            *c = MASK.to_owned();
        }
    }
    for (member, key) in sealed_env {
        if let Some(v) = display
            .services
            .get_mut(&member)
            .and_then(|m| m.environment.get_mut(&key))
            && !v.is_empty()
        {
            *v = MASK.to_owned();
        }
    }
    // Only the keys the definition holds, in its order.
    let sources = definition
        .services
        .iter()
        .map(|(mname, m)| {
            let known = sources.get(mname);
            let env = m
                .environment
                .keys()
                .map(|k| {
                    let src = known
                        .and_then(|s| s.get(k))
                        .cloned()
                        .unwrap_or_else(|| EnvSource::new(EnvKind::Member));
                    (k.clone(), src)
                })
                .collect();
            (mname.clone(), env)
        })
        .collect();
    Ok(Resolved {
        definition,
        display,
        warnings,
        sources,
    })
}

/// Anchors the relative `file:` of every top-level secret and config at the project directory.
/// Such a file must be one of the project's files (compose reads it from the project
/// directory); returns the content of each, by (section, key).
fn anchor_object_files(
    doc: &mut Value,
    project: &Project,
    project_dir: &Path,
    problems: &mut Vec<Problem>,
) -> IndexMap<(String, String), Vec<u8>> {
    let mut out = IndexMap::new();
    for section in ["secrets", "configs"] {
        let Some(decls) = doc.get_mut(section).and_then(Value::as_object_mut) else {
            continue;
        };
        for (key, decl) in decls.iter_mut() {
            let Some(o) = decl.as_object_mut() else {
                continue;
            };
            let Some(file) = o.get("file").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            if file.starts_with('/') || file.is_empty() {
                continue;
            }
            let field = format!("{section}.{key}.file");
            let path = normalise(&file);
            if let Err(m) = check_path(&path) {
                problems.push(Problem { field, message: m });
                continue;
            }
            match project.files.get(&path) {
                Some(content) => {
                    let abs = project_dir.join(&path);
                    o.insert("file".into(), Value::String(abs.display().to_string()));
                    out.insert((section.to_owned(), key.clone()), content.clone());
                }
                None => problems.push(Problem {
                    field,
                    message: format!(
                        "`{file}` is not among the service's files: send it with the definition (multipart part or `files`)"
                    ),
                }),
            }
        }
    }
    out
}

/// Gives every secret and config whose content the project holds its bytes (never stored or
/// shown; deploy copies them into containers where compose does, see `spec::objects`).
fn fill_object_data(
    def: &mut Definition,
    files: &IndexMap<(String, String), Vec<u8>>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    // The references that need the content (uid/gid/mode on a file), by section and key.
    let mut shaped: Vec<(String, String, String)> = Vec::new();
    for (mname, m) in &def.services {
        for (section, refs) in [("secrets", &m.secrets), ("configs", &m.configs)] {
            for (i, r) in refs.iter().enumerate() {
                if r.shapes_file() {
                    shaped.push((
                        section.to_owned(),
                        r.source.clone(),
                        format!("services.{mname}.{section}[{i}]"),
                    ));
                }
            }
        }
    }
    let used: Vec<(String, String)> = def
        .services
        .values()
        .flat_map(|m| {
            let s = m
                .secrets
                .iter()
                .map(|r| ("secrets".to_owned(), r.source.clone()));
            let c = m
                .configs
                .iter()
                .map(|r| ("configs".to_owned(), r.source.clone()));
            s.chain(c).collect::<Vec<_>>()
        })
        .collect();
    for (section, decls) in [("secrets", &mut def.secrets), ("configs", &mut def.configs)] {
        for (key, decl) in decls.iter_mut() {
            if let Some(var) = &decl.environment {
                match lookup(var) {
                    Some(v) => decl.data = Some(v.into_bytes()),
                    // compose v2 fails the deploy the same way (`injectSecrets`) when a member
                    // reads it; an unused one is left alone, as there.
                    None if !used.contains(&(section.to_owned(), key.clone())) => {}
                    None => problems.push(Problem {
                        field: format!("{section}.{key}.environment"),
                        message: format!("variable `{var}` is not set (in the service's .env or SDMD's variables)"),
                    }),
                }
            } else if let Some(c) = &decl.content {
                decl.data = Some(c.as_bytes().to_vec());
            } else if let Some(d) = files.get(&(section.to_owned(), key.clone())) {
                decl.data = Some(d.clone());
            } else if decl.file.is_some() {
                for (_, _, field) in shaped.iter().filter(|(s, k, _)| s == section && k == key) {
                    problems.push(Problem {
                        field: field.clone(),
                        message: format!("uid, gid and mode need the file's content, which SDMD then copies into the container: `{}` is a host path outside the project, which can only be bind-mounted as it is (compose ignores uid/gid/mode there); add the file to the service's files", decl.file.as_deref().unwrap_or_default()),
                    });
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `environment` as an ordered map of values (list entries `K=V` split; a bare `K` maps to null).
fn environment_map(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_owned(), Value::String(v.to_owned())),
                None => (s.to_owned(), Value::Null),
            })
            .collect(),
        _ => Map::new(),
    }
}

/// The (member, environment key) a reference path such as `services.web.environment.PASS` or
/// `services.web.environment[2]` points at.
fn env_key_of(source: &Value, path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("services.")?;
    let (member, tail) = rest.split_once(".environment")?;
    if let Some(key) = tail.strip_prefix('.') {
        return Some((member.to_owned(), key.to_owned()));
    }
    let index: usize = tail.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
    let item = source["services"][member]["environment"][index].as_str()?;
    Some((member.to_owned(), item.split('=').next()?.to_owned()))
}

/// Relative bind sources (`./data`, `../shared`) become absolute under the project directory,
/// as compose resolves them against the project's working directory. A path that leaves the
/// stacks directory (the project directory's parent) is refused.
fn anchor_relative_binds(
    member: &str,
    m: &mut Map<String, Value>,
    project_dir: &Path,
    problems: &mut Vec<Problem>,
) {
    let Some(Value::Array(volumes)) = m.get_mut("volumes") else {
        return;
    };
    let stacks = project_dir.parent().unwrap_or(project_dir);
    for (i, v) in volumes.iter_mut().enumerate() {
        let field = format!("services.{member}.volumes[{i}]");
        match v {
            Value::String(s) => {
                let Some((source, rest)) = s.split_once(':') else {
                    continue;
                };
                if !is_relative(source) {
                    continue;
                }
                match anchor(source, project_dir, stacks) {
                    Ok(abs) => *s = format!("{}:{rest}", abs.display()),
                    Err(msg) => problems.push(Problem {
                        field,
                        message: msg,
                    }),
                }
            }
            Value::Object(o) => {
                let is_bind = o.get("type").and_then(Value::as_str) == Some("bind");
                let source = o.get("source").and_then(Value::as_str).map(str::to_owned);
                if let (true, Some(source)) = (is_bind, source)
                    && is_relative(&source)
                {
                    match anchor(&source, project_dir, stacks) {
                        Ok(abs) => {
                            o.insert("source".into(), Value::String(abs.display().to_string()));
                        }
                        Err(msg) => problems.push(Problem {
                            field: format!("{field}.source"),
                            message: msg,
                        }),
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_relative(source: &str) -> bool {
    source == "." || source == ".." || source.starts_with("./") || source.starts_with("../")
}

/// `project_dir/source`, lexically normalised, which must stay inside `stacks`.
fn anchor(source: &str, project_dir: &Path, stacks: &Path) -> Result<PathBuf, String> {
    if Path::new(source).has_root() {
        return Err(format!("`{source}` is not a relative path"));
    }
    let out = crate::spec::lexical_path(&project_dir.join(source));
    if out.starts_with(stacks) && out != stacks {
        Ok(out)
    } else {
        Err(format!(
            "`{source}` leaves the stacks directory: relative paths may reach other projects (`../shared`) but not outside `{}`",
            stacks.display()
        ))
    }
}

/// Checks, after the project directory was written, that `path` (a bind source under it) does not
/// lead outside the stacks directory through a symlink. Missing paths are fine (compose creates
/// them); their existing ancestors are checked instead.
pub fn check_no_symlink_escape(path: &Path, stacks: &Path) -> Result<(), String> {
    let stacks = stacks
        .canonicalize()
        .map_err(|e| format!("the stacks directory `{}`: {e}", stacks.display()))?;
    let mut probe = path.to_path_buf();
    loop {
        if let Ok(real) = probe.canonicalize() {
            return if real.starts_with(&stacks) {
                Ok(())
            } else {
                Err(format!(
                    "`{}` leads outside the stacks directory through a symlink",
                    path.display()
                ))
            };
        }
        if !probe.pop() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn project(source: Value, files: &[(&str, &str)]) -> Project {
        Project {
            source,
            files: files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn no_globals(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn paths() {
        for ok in [".env", "secrets/db_password", "conf/nginx.conf", "a.env"] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../b", "a/", "./x", "a\\b"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        let src = json!({"services": {"db": {"env_file": ["conf/db.vars"]}}, "secrets": {"pw": {"file": "./pw.txt"}}});
        assert!(is_sealed(".env", &src));
        assert!(is_sealed("conf/db.vars", &src));
        assert!(is_sealed("pw.txt", &src));
        assert!(is_sealed("secrets/x", &src));
        assert!(!is_sealed("conf/nginx.conf", &src));
    }

    #[test]
    fn env_then_env_files_then_environment() {
        let src = json!({
            "name": "app",
            "services": {"web": {
                "image": "busybox:${TAG:-1}",
                "env_file": ["./web.env", {"path": "optional.env", "required": false}],
                "environment": {"MODE": "prod", "PASSWORD": "${DB_PASSWORD}"},
                "volumes": ["./data:/data", "../shared:/shared:ro"]
            }}
        });
        let p = project(
            src,
            &[
                (".env", "TAG=2\nDB_PASSWORD=s3cret\n"),
                ("web.env", "MODE=dev\nTOKEN=abc\n"),
            ],
        );
        let r = resolve(&p, &no_globals, Path::new("/stacks/app")).expect("resolves");
        let web = &r.definition.services["web"];
        assert_eq!(web.image, "busybox:2");
        assert_eq!(web.environment["MODE"], "prod", "environment wins");
        assert_eq!(web.environment["TOKEN"], "abc");
        assert_eq!(web.environment["PASSWORD"], "s3cret");
        assert_eq!(
            web.volumes,
            vec![
                crate::spec::VolumeEntry::Short("/stacks/app/data:/data".into()),
                crate::spec::VolumeEntry::Short("/stacks/shared:/shared:ro".into())
            ]
        );
        let shown = &r.display.services["web"].environment;
        assert_eq!(shown["TOKEN"], MASK);
        assert_eq!(shown["PASSWORD"], MASK);
        assert_eq!(shown["MODE"], "prod");
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn problems_name_their_paths() {
        let src = json!({
            "name": "app",
            "services": {"web": {
                "image": "busybox",
                "env_file": "missing.env",
                "environment": ["NEED=${X:?need X}", "OPT=${UNSET}"],
                "volumes": ["../../etc:/etc2"]
            }}
        });
        let errs = resolve(&project(src, &[]), &no_globals, Path::new("/stacks/app"))
            .expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"services.web.env_file"), "{errs:?}");
        assert!(fields.contains(&"services.web.environment[0]"), "{errs:?}");
        assert!(fields.contains(&"services.web.volumes[0]"), "{errs:?}");
        assert!(
            errs.iter().any(|p| p.message.contains("need X")),
            "{errs:?}"
        );
    }

    #[test]
    fn unset_variables_warn_and_globals_fill_in() {
        let src = json!({"name": "app", "services": {"web": {"image": "busybox:${TAG}", "environment": {"A": "${NOPE}"}}}});
        let globals = |k: &str| (k == "TAG").then(|| "3".to_owned());
        let r = resolve(&project(src, &[]), &globals, Path::new("/s/app")).expect("resolves");
        assert_eq!(r.definition.services["web"].image, "busybox:3");
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.warnings[0].field, "services.web.environment.A");
    }

    fn globals_of<'a>(
        vars: &'a [(&'a str, &'a str, bool, Origin)],
    ) -> impl Fn(&str) -> Option<Global> + 'a {
        move |k: &str| {
            vars.iter()
                .find(|(n, ..)| *n == k)
                .map(|(_, v, secret, origin)| Global {
                    value: (*v).to_owned(),
                    secret: *secret,
                    origin: *origin,
                })
        }
    }

    #[test]
    fn secret_globals_are_masked_and_sources_named() {
        let src = json!({"name": "app", "services": {"web": {
            "image": "busybox",
            "env_file": "web.env",
            "environment": {"TOKEN": "${API_TOKEN}", "ZONE": "${TZ}", "PASS": "${DB}", "PLAIN": "x${UNSET}", "FROM_FILE": "over"}
        }}});
        let vars = [
            ("API_TOKEN", "t0ken", true, Origin::Set),
            ("TZ", "Europe/Berlin", false, Origin::Default),
        ];
        let g = globals_of(&vars);
        let p = project(
            src,
            &[
                (".env", "DB=pw\n"),
                ("web.env", "FROM_FILE=file\nONLY_FILE=1\n"),
            ],
        );
        let r = resolve_with(&p, &g, Path::new("/s/app")).expect("resolves");
        let env = &r.definition.services["web"].environment;
        assert_eq!(env["TOKEN"], "t0ken");
        assert_eq!(env["ZONE"], "Europe/Berlin");
        assert_eq!(env["FROM_FILE"], "over");
        let shown = &r.display.services["web"].environment;
        assert_eq!(shown["TOKEN"], MASK);
        assert_eq!(shown["ZONE"], "Europe/Berlin");
        assert_eq!(shown["PASS"], MASK);
        assert_eq!(shown["ONLY_FILE"], MASK);
        let s = &r.sources["web"];
        assert_eq!(s["TOKEN"].kind, EnvKind::Global);
        assert_eq!(s["TOKEN"].variable.as_deref(), Some("API_TOKEN"));
        assert_eq!(s["TOKEN"].origin, Some(Origin::Set));
        assert!(s["TOKEN"].masked);
        assert_eq!(s["ZONE"].kind, EnvKind::Global);
        assert_eq!(s["ZONE"].origin, Some(Origin::Default));
        assert!(!s["ZONE"].masked);
        assert_eq!(s["PASS"].kind, EnvKind::Dotenv);
        assert_eq!(s["PLAIN"].kind, EnvKind::Member);
        assert_eq!(s["PLAIN"].variable, None);
        assert_eq!(s["FROM_FILE"].kind, EnvKind::Member);
        assert_eq!(s["ONLY_FILE"].kind, EnvKind::EnvFile);
        assert_eq!(s["ONLY_FILE"].file.as_deref(), Some("web.env"));
    }

    #[test]
    fn a_secret_global_outside_environment_is_refused() {
        let src = json!({"name": "app", "services": {"web": {
            "image": "busybox", "command": ["echo", "${API_TOKEN}"]
        }}});
        let vars = [("API_TOKEN", "t0ken", true, Origin::Set)];
        let errs = resolve_with(&project(src, &[]), &globals_of(&vars), Path::new("/s/app"))
            .expect_err("refused");
        assert_eq!(errs[0].field, "services.web.command[1]", "{errs:?}");
        assert!(errs[0].message.contains("API_TOKEN"), "{errs:?}");
    }

    #[test]
    fn standard_environment_fills_only_what_members_do_not_set() {
        let src = json!({"name": "app", "x-sdmd": {"standard_environment": true}, "services": {
            "plain": {"image": "busybox"},
            "zoned": {"image": "busybox", "environment": ["TZ=UTC"]},
            "filed": {"image": "busybox", "env_file": "f.env"}
        }});
        let vars = [
            ("TZ", "Europe/Berlin", false, Origin::Default),
            ("PUID", "1000", false, Origin::Default),
            ("PGID", "1000", false, Origin::Default),
            ("UMASK", "022", false, Origin::Set),
        ];
        let p = project(src, &[("f.env", "PUID=33\n")]);
        let r = resolve_with(&p, &globals_of(&vars), Path::new("/s/app")).expect("resolves");
        let env = |m: &str| r.definition.services[m].environment.clone();
        assert_eq!(env("plain")["TZ"], "Europe/Berlin");
        assert_eq!(env("plain")["PUID"], "1000");
        assert_eq!(env("plain")["PGID"], "1000");
        assert_eq!(env("plain")["UMASK"], "022");
        assert_eq!(env("zoned")["TZ"], "UTC");
        assert_eq!(env("zoned")["PUID"], "1000");
        assert_eq!(env("filed")["PUID"], "33");
        assert_eq!(r.sources["plain"]["UMASK"].kind, EnvKind::Standard);
        assert_eq!(r.sources["plain"]["UMASK"].origin, Some(Origin::Set));
        assert_eq!(r.sources["zoned"]["TZ"].kind, EnvKind::Member);
        assert_eq!(r.sources["filed"]["PUID"].kind, EnvKind::EnvFile);

        // Off (the default): nothing is added.
        let off = json!({"name": "app", "services": {"plain": {"image": "busybox"}}});
        let r = resolve_with(&project(off, &[]), &globals_of(&vars), Path::new("/s/app")).unwrap();
        assert!(r.definition.services["plain"].environment.is_empty());
    }

    #[test]
    fn x_sdmd_is_checked_other_extensions_are_free() {
        for (x, field) in [
            (json!({"standard_env": true}), "x-sdmd.standard_env"),
            (
                json!({"standard_environment": "yes"}),
                "x-sdmd.standard_environment",
            ),
            (json!(true), "x-sdmd"),
        ] {
            let src = json!({"name": "app", "x-sdmd": x, "x-other": {"anything": 1}, "services": {"w": {"image": "busybox"}}});
            let errs =
                resolve(&project(src, &[]), &no_globals, Path::new("/s/app")).expect_err("refused");
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].field, field, "{errs:?}");
        }
    }
}
