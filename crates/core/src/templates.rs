//! App template catalogs (issue 13, "App templates"): the bundled example catalog and the URLs
//! an administrator added, fetched with a size limit and a timeout, merged into one list; a
//! template becomes a new service's definition (and, when asked, the service).
//!
//! The formats are read by [`sdmd_model::templates`]. Catalogs are fetched when the catalog is
//! asked for (no cache yet: a few catalogs of a few hundred KiB each take well under a second);
//! one that fails is reported with its error beside the others, never hiding them.

use std::time::Duration;

use futures_util::StreamExt;
use indexmap::IndexMap;
use sdmd_model::audit::Action;
use sdmd_model::templates::{MAX_CATALOG_BYTES, Template, parse_catalog};
use serde_json::json;

use crate::change::{Change, Record};
use crate::db::audit::AuditContext;
use crate::db::templates as store;
use crate::error::{Error, Result};
use crate::ops::ServiceView;
use crate::project::Project;
use crate::spec::Problem;
use crate::state::AppState;

/// The example catalog that ships with SDMD (Portainer v2 format; works offline).
const BUNDLED: &str = include_str!("../templates/bundled.json");
/// How long one catalog may take to arrive.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many catalog URLs.
pub const MAX_SOURCES: usize = 20;
/// The longest catalog URL.
pub const MAX_URL_BYTES: usize = 2048;

/// A template in the merged catalog.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Unique in the catalog: `bundled.<id>` or `s<n>.<id>` (the n-th URL).
    pub id: String,
    /// `bundled` or the catalog's URL.
    pub source: String,
    /// The template.
    pub template: Template,
}

/// How one catalog fared.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    /// `bundled` or the URL.
    pub source: String,
    /// Its templates' id prefix (`bundled`, `s1`, …).
    pub prefix: String,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
    /// How many templates it gave.
    pub templates: usize,
}

/// The merged catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Every template, bundled first, then each URL's in order.
    pub templates: Vec<Entry>,
    /// Every catalog with how it fared.
    pub sources: Vec<SourceStatus>,
}

/// The catalog URLs, in order.
pub async fn sources(state: &AppState) -> Result<Vec<String>> {
    Ok(store::list(&state.db).await?)
}

/// Replaces the catalog URLs (http or https, at most [`MAX_SOURCES`], no repeats). Audited
/// with the URLs; a replacement that changes nothing writes no row.
pub async fn put_sources(
    state: &AppState,
    ctx: &AuditContext,
    urls: Vec<String>,
) -> Result<Vec<String>> {
    let problems = check_sources(&urls);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let mut tx = Change::begin(&state.db).await?;
    let old = store::list_for_update(&mut tx).await?;
    if old == urls {
        drop(tx);
        return Ok(urls);
    }
    store::replace(&mut tx, &urls).await?;
    tx.record(
        ctx,
        Record {
            action: Action::TemplateSourcesSet,
            target: None,
            result: "ok",
            details: json!({"sources": urls, "before": old}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(urls)
}

fn check_sources(urls: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if urls.len() > MAX_SOURCES {
        problems.push(Problem {
            field: "sources".into(),
            message: format!("at most {MAX_SOURCES} catalogs"),
        });
    }
    for (i, u) in urls.iter().enumerate() {
        let field = format!("sources[{i}]");
        let parsed = reqwest::Url::parse(u);
        let message = match &parsed {
            _ if u.len() > MAX_URL_BYTES => Some(format!("longer than {MAX_URL_BYTES} bytes")),
            Err(e) => Some(format!("not a URL: {e}")),
            Ok(p) if !matches!(p.scheme(), "http" | "https") => Some(format!(
                "`{}`: only http and https catalogs are fetched",
                p.scheme()
            )),
            Ok(p) if p.host_str().is_none() => Some("the URL names no host".into()),
            Ok(_) if urls[..i].contains(u) => Some("listed twice".into()),
            Ok(_) => None,
        };
        if let Some(message) = message {
            problems.push(Problem { field, message });
        }
    }
    problems
}

/// The id prefix of an uploaded catalog file's templates: `file-<slug of its name>`.
pub fn file_prefix(name: &str) -> String {
    format!("file-{}", sdmd_model::templates::slug(name))
}

/// The longest catalog file name.
pub const MAX_FILE_NAME: usize = 128;

/// Stores an uploaded catalog file (Portainer v2, CasaOS or Yacht) under `name`, replacing one
/// of that name: refused (422 naming the template and field) unless it reads as a catalog, or
/// when its id prefix is another file's. Audited as `templates.file.put` with name, size and
/// template count. Answers how many templates it holds.
pub async fn put_file(
    state: &AppState,
    ctx: &AuditContext,
    name: &str,
    content: Vec<u8>,
) -> Result<usize> {
    let bad = |field: &str, message: String| {
        Error::Invalid(vec![Problem {
            field: field.into(),
            message,
        }])
    };
    let name_ok = !name.is_empty()
        && name.len() <= MAX_FILE_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !name_ok {
        return Err(bad(
            "name",
            format!(
                "a file name is 1-{MAX_FILE_NAME} letters, digits, `.`, `_` or `-`, starting with a letter or digit"
            ),
        ));
    }
    let templates = parse_catalog(&content).map_err(|e| {
        let field = if e.field.is_empty() {
            "content"
        } else {
            &e.field
        };
        bad(field, format!("{}: {}", e.template, e.message))
    })?;
    let prefix = file_prefix(name);
    if let Some(other) = store::files(&state.db)
        .await?
        .into_iter()
        .find(|f| f.name != name && file_prefix(&f.name) == prefix)
    {
        return Err(bad(
            "name",
            format!(
                "`{}` already gives templates the ids `{prefix}.…`; choose another name",
                other.name
            ),
        ));
    }
    let mut tx = Change::begin(&state.db).await?;
    let replaced = store::put_file(&mut tx, name, &content).await?;
    tx.record(
        ctx,
        Record {
            action: Action::TemplateFilePut,
            target: Some(name),
            result: "ok",
            details: json!({"bytes": content.len(), "templates": templates.len(), "replaced": replaced}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(templates.len())
}

/// Removes an uploaded catalog file (audited as `templates.file.delete`); 404 when there is none.
pub async fn delete_file(state: &AppState, ctx: &AuditContext, name: &str) -> Result<()> {
    let mut tx = Change::begin(&state.db).await?;
    if !store::delete_file(&mut tx, name).await? {
        return Err(Error::TemplateNotFound(format!("file:{name}")));
    }
    tx.record(
        ctx,
        Record {
            action: Action::TemplateFileDelete,
            target: Some(name),
            result: "ok",
            details: json!({}),
        },
    )
    .await?;
    tx.commit(&state.bus).await?;
    Ok(())
}

/// The merged catalog: the bundled one and every URL's, fetched now (concurrently).
pub async fn catalog(state: &AppState) -> Result<Catalog> {
    read(state, None).await
}

/// The catalogs, or only the one whose id prefix is `only` (`bundled`, `s2`).
async fn read(state: &AppState, only: Option<&str>) -> Result<Catalog> {
    let wanted = |prefix: &str| only.is_none_or(|o| o == prefix);
    let urls: Vec<(String, String)> = store::list(&state.db)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, u)| (format!("s{}", i + 1), u))
        .filter(|(prefix, _)| wanted(prefix))
        .collect();
    let http = reqwest::Client::builder()
        .user_agent(concat!("sdmd/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| Error::TemplateSource {
            source_url: "(all)".into(),
            message: format!("an HTTP client: {e}"),
        })?;
    let fetched = futures_util::future::join_all(urls.iter().map(|(_, u)| fetch(&http, u))).await;
    let mut out = Catalog {
        templates: Vec::new(),
        sources: Vec::new(),
    };
    if wanted("bundled") {
        let bundled = parse_catalog(BUNDLED.as_bytes()).map_err(|e| Error::TemplateSource {
            source_url: "bundled".into(),
            message: e.to_string(),
        });
        add(&mut out, "bundled", "bundled".into(), bundled);
    }
    for f in store::files(&state.db).await? {
        let prefix = file_prefix(&f.name);
        if !wanted(&prefix) {
            continue;
        }
        let source = format!("file:{}", f.name);
        let parsed = parse_catalog(&f.content).map_err(|e| Error::TemplateSource {
            source_url: source.clone(),
            message: e.to_string(),
        });
        add(&mut out, &prefix, source, parsed);
    }
    for ((prefix, url), result) in urls.into_iter().zip(fetched) {
        let parsed = result.and_then(|bytes| {
            parse_catalog(&bytes).map_err(|e| Error::TemplateSource {
                source_url: url.clone(),
                message: e.to_string(),
            })
        });
        add(&mut out, &prefix, url, parsed);
    }
    Ok(out)
}

fn add(out: &mut Catalog, prefix: &str, source: String, parsed: Result<Vec<Template>>) {
    match parsed {
        Ok(templates) => {
            out.sources.push(SourceStatus {
                source: source.clone(),
                prefix: prefix.into(),
                error: None,
                templates: templates.len(),
            });
            out.templates
                .extend(templates.into_iter().map(|template| Entry {
                    id: format!("{prefix}.{}", template.id),
                    source: source.clone(),
                    template,
                }));
        }
        Err(e) => out.sources.push(SourceStatus {
            source,
            prefix: prefix.into(),
            error: Some(match e {
                Error::TemplateSource { message, .. } => message,
                other => other.to_string(),
            }),
            templates: 0,
        }),
    }
}

/// One catalog's bytes: at most [`MAX_CATALOG_BYTES`], within [`FETCH_TIMEOUT`], a 2xx answer.
async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>> {
    let fail = |message: String| Error::TemplateSource {
        source_url: url.to_owned(),
        message,
    };
    let read = async {
        let resp = http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(format!("fetching: {e}")))?;
        if !resp.status().is_success() {
            return Err(fail(format!("the server answered {}", resp.status())));
        }
        let too_big = || {
            fail(format!(
                "larger than the {} MiB a catalog may have",
                MAX_CATALOG_BYTES / (1024 * 1024)
            ))
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_CATALOG_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| fail(format!("reading: {e}")))?;
            if body.len() + chunk.len() > MAX_CATALOG_BYTES {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(FETCH_TIMEOUT, read)
        .await
        .map_err(|_| fail(format!("no answer within {} s", FETCH_TIMEOUT.as_secs())))?
}

/// What instantiating a template gave.
#[derive(Debug, Clone)]
pub struct Instantiated {
    /// The new service's definition (YAML).
    pub definition: String,
    /// Project files that come with it (a repository stack's `.env`).
    pub files: IndexMap<String, String>,
    /// The service, when it was created.
    pub service: Option<ServiceView>,
    /// Variables the definition uses that are set nowhere (a shared root not added yet): with
    /// `create` they are a 422 instead.
    pub unset: Vec<Problem>,
}

/// The plain `${NAME}` references of `definition` that no variable, shared root or standard
/// folder sets (they would become empty, as in compose), each with its path and what to do.
async fn unset_references(
    state: &AppState,
    definition: &str,
    files: &IndexMap<String, String>,
) -> Result<Vec<Problem>> {
    let Ok(doc) = crate::spec::yaml_document(definition.as_bytes()) else {
        return Ok(Vec::new());
    };
    let known = crate::variables::lookup(state).await?;
    let folders = ["APPDATA", "APPDATA_CONFIG", "APPDATA_DATA"];
    let dotenv = files
        .get(".env")
        .and_then(|d| crate::spec::dotenv::parse(d, |_| None).ok())
        .unwrap_or_default();
    let mut out: Vec<Problem> = Vec::new();
    for r in crate::spec::interpolate::references(&doc) {
        if r.operator.is_some()
            || r.nested
            || known.contains_key(&r.variable)
            || dotenv.contains_key(&r.variable)
            || folders.contains(&r.variable.as_str())
        {
            continue;
        }
        out.push(Problem {
            field: r.path,
            message: format!(
                "`${{{v}}}` is not set: add a shared root {v} (Settings → Storage, PUT /api/v1/settings/roots) or a variable of that name",
                v = r.variable
            ),
        });
    }
    Ok(out)
}

/// The definition of a new service `name` from template `id` with `values` for its variables;
/// with `create`, the service is stored too (as `POST /api/v1/services` would, audited there).
pub async fn instantiate(
    state: &AppState,
    ctx: &AuditContext,
    id: &str,
    name: &str,
    values: &IndexMap<String, String>,
    create: bool,
) -> Result<Instantiated> {
    // Only the catalog the id names is fetched (a slow one elsewhere does not delay this).
    let prefix = id.split('.').next().unwrap_or_default();
    let catalog = read(state, Some(prefix)).await?;
    let Some(entry) = catalog.templates.into_iter().find(|e| e.id == id) else {
        return match catalog.sources.into_iter().find(|s| s.prefix == prefix) {
            Some(SourceStatus {
                source,
                error: Some(message),
                ..
            }) => Err(Error::TemplateSource {
                source_url: source,
                message,
            }),
            _ => Err(Error::TemplateNotFound(id.to_owned())),
        };
    };
    let stack = match entry.template.repository() {
        Some(repo) => Some(fetch_stack(repo).await?),
        None => None,
    };
    let instance = entry
        .template
        .instantiate_with(name, values, stack.as_deref())
        .map_err(|errs| {
            Error::Invalid(
                errs.into_iter()
                    .map(|e| Problem {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            )
        })?;
    let definition = instance.definition;
    let files: IndexMap<String, String> = instance
        .dotenv
        .map(|d| (".env".to_owned(), d))
        .into_iter()
        .collect();
    let unset = unset_references(state, &definition, &files).await?;
    if create && !unset.is_empty() {
        return Err(Error::Invalid(unset));
    }
    let service = if create {
        let source = crate::spec::yaml_document(definition.as_bytes()).map_err(|e| {
            Error::Invalid(vec![Problem {
                field: "definition".into(),
                message: e,
            }])
        })?;
        let project = Project {
            source,
            files: files
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                .collect(),
        };
        Some(crate::ops::create(state, ctx, project).await?)
    } else {
        None
    };
    Ok(Instantiated {
        definition,
        files,
        service,
        unset,
    })
}
/// How long fetching a repository stack may take.
pub const CLONE_TIMEOUT: Duration = Duration::from_secs(30);

/// A repository stack's compose file: `git clone --depth 1` of the repository (http or https
/// only; no credentials, prompts, hooks or user configuration) into a temporary directory, the
/// stack file read from it (inside the checkout, at most 2 MiB), the checkout removed.
async fn fetch_stack(repo: &sdmd_model::templates::Repository) -> Result<String> {
    let fail = |message: String| Error::TemplateSource {
        source_url: repo.url.clone(),
        message,
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("sdmd-stack-{}-{nanos}", std::process::id()));
    let checkout = dir.join("repo");
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("a temporary directory: {e}")))?;
    // Shallow first; a server of git's dumb HTTP protocol cannot, and gets a full clone.
    let mut ran = clone(&repo.url, &checkout, &dir, true).await;
    if matches!(&ran, Err(e) if e.contains("does not support shallow")) {
        let _ = std::fs::remove_dir_all(&checkout);
        ran = clone(&repo.url, &checkout, &dir, false).await;
    }
    let read = ran.and_then(|()| read_stack(&checkout, &repo.stackfile));
    let _ = std::fs::remove_dir_all(&dir);
    read.map_err(fail)
}

/// `git clone [--depth 1] url checkout` with no credentials, prompts, hooks or user
/// configuration, http(s) only, within [`CLONE_TIMEOUT`].
async fn clone(
    url: &str,
    checkout: &std::path::Path,
    home: &std::path::Path,
    shallow: bool,
) -> std::result::Result<(), String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.args([
        "-c",
        "protocol.allow=never",
        "-c",
        "protocol.https.allow=always",
        "-c",
        "protocol.http.allow=always",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "credential.helper=",
        "clone",
        "--quiet",
        "--single-branch",
        "--no-tags",
    ]);
    if shallow {
        cmd.args(["--depth", "1"]);
    }
    cmd.arg("--")
        .arg(url)
        .arg(checkout)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    match tokio::time::timeout(CLONE_TIMEOUT, cmd.output()).await {
        Err(_) => Err(format!(
            "the repository did not arrive within {} s",
            CLONE_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("git could not run ({e}); is git installed?")),
        Ok(Ok(o)) if !o.status.success() => Err(format!(
            "git clone failed: {}",
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("no message")
        )),
        Ok(Ok(_)) => Ok(()),
    }
}

/// `stackfile` of a checkout: inside it once links are resolved, at most 2 MiB, UTF-8.
fn read_stack(checkout: &std::path::Path, stackfile: &str) -> std::result::Result<String, String> {
    let real =
        std::fs::canonicalize(checkout.join(stackfile)).map_err(|e| format!("{stackfile}: {e}"))?;
    let root = std::fs::canonicalize(checkout).map_err(|e| e.to_string())?;
    if !real.starts_with(&root) {
        return Err(format!("{stackfile} leads outside the repository"));
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if meta.len() > MAX_CATALOG_BYTES as u64 {
        return Err(format!(
            "{stackfile} is larger than {} MiB",
            MAX_CATALOG_BYTES / (1024 * 1024)
        ));
    }
    std::fs::read_to_string(&real).map_err(|e| format!("{stackfile}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalog_reads_and_every_template_instantiates() {
        let all = parse_catalog(BUNDLED.as_bytes()).expect("the bundled catalog reads");
        assert!(all.len() >= 3);
        for t in all {
            t.instantiate("app", &IndexMap::new())
                .unwrap_or_else(|e| panic!("{}: {e:?}", t.title));
        }
    }

    #[test]
    fn source_urls_are_checked() {
        let fields = |urls: &[&str]| -> Vec<String> {
            check_sources(&urls.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert!(fields(&["https://example.com/t.json", "http://10.0.0.1:8080/x"]).is_empty());
        assert_eq!(
            fields(&[
                "ftp://example.com/t.json",
                "nope",
                "https://a/x",
                "https://a/x"
            ]),
            ["sources[0]", "sources[1]", "sources[3]"]
        );
    }
}
