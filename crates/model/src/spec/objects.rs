//! Top-level `secrets` and `configs` (compose's "file objects") and the members' references to
//! them, validated into canonical shapes. The Engine API mapping lives in `docker::create`.
//!
//! On a single engine (no Swarm) docker compose turns them into files in the container:
//! - a `file:` object is bind-mounted read-only at its target, by docker-compose 1.29 (secrets;
//!   it ignores `configs` with a warning) and compose v2 (both);
//! - an `environment:` secret or config and a `content:` config are copied into the container
//!   between create and start (compose v2's `injectSecrets`/`injectConfigs`, archive upload),
//!   with the reference's `uid`, `gid` and `mode` (default `0444`).
//!
//! SDMD does exactly that, and honours `uid`/`gid`/`mode` on a `file:` object too (compose
//! ignores them with a warning) by copying that file's content instead of mounting it: an
//! accepted attribute is never dropped. `external` and `name` name Swarm objects: refused.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::Walker;

/// Where a secret without an absolute `target` lands.
pub const SECRETS_DIR: &str = "/run/secrets";

/// The two kinds of file object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `secrets`: sealed at rest, default target `/run/secrets/<source>`.
    Secret,
    /// `configs`: default target `/<source>`; may carry `content`.
    Config,
}

impl Kind {
    /// The section's key (`secrets` or `configs`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Secret => "secrets",
            Self::Config => "configs",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Config => "config",
        }
    }
}

/// A top-level secret or config: exactly one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileObject {
    /// A host file (absolute; `./` paths are anchored at the project directory when stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The variable (the service's `.env`, then SDMD's variables) whose value is the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Inline content (configs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `x-*` extension fields, kept as written.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extensions: IndexMap<String, Value>,
    /// The content, when the project holds it (a project file, the variable's value, `content`):
    /// filled in when a project is resolved, never serialised, stored or shown.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub data: Option<Vec<u8>>,
}

/// A member's reference to a secret or config (the short syntax `- name` is `{source: name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileRef {
    /// The top-level secret or config.
    pub source: String,
    /// Path in the container; relative paths are under `/run/secrets` (secrets) or `/`
    /// (configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Numeric owner of the file in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Numeric group of the file in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Permission bits (`0440` in YAML is octal, as compose reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl FileRef {
    /// The absolute path in the container, as compose computes it.
    pub fn container_path(&self, kind: Kind) -> String {
        let base = match kind {
            Kind::Secret => SECRETS_DIR,
            Kind::Config => "",
        };
        match self.target.as_deref() {
            Some(t) if t.starts_with('/') => t.to_owned(),
            Some(t) => format!("{base}/{t}"),
            None => format!("{base}/{}", self.source),
        }
    }

    /// Whether the reference shapes the file (owner or mode), which a bind mount cannot do.
    pub fn shapes_file(&self) -> bool {
        self.uid.is_some() || self.gid.is_some() || self.mode.is_some()
    }
}

/// How a member gets one referenced file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Bind-mount this host file read-only.
    Bind(String),
    /// Copy this content into the container before it starts.
    Copy(Vec<u8>),
}

impl FileObject {
    /// How a reference to this object is delivered; `None` when its content is unknown (a
    /// definition that was not resolved from its project).
    pub fn delivery(&self, r: &FileRef) -> Option<Delivery> {
        match (&self.file, &self.data) {
            (Some(f), _) if !r.shapes_file() => Some(Delivery::Bind(f.clone())),
            (_, Some(d)) => Some(Delivery::Copy(d.clone())),
            (None, None) => self
                .content
                .as_ref()
                .map(|c| Delivery::Copy(c.as_bytes().to_vec())),
            (Some(_), None) => None,
        }
    }
}

/// Parses a file mode: an integer (YAML `0o440` or `288`), or a string of digits, which is
/// octal when it starts with `0` — YAML 1.2 reads an unquoted `0440` as that string, while
/// docker-compose 1.29 (YAML 1.1) and compose v2 (go-yaml) read it as the octal 0440.
pub fn parse_mode(v: &Value) -> Result<u32, String> {
    let err = || "must be a file mode such as 0440 (octal) or 0o440".to_owned();
    let n = match v {
        Value::Number(n) => n.as_u64().ok_or_else(err)?,
        Value::String(s) => {
            let s = s.trim();
            let (digits, radix) = match s.strip_prefix("0o") {
                Some(rest) => (rest, 8),
                None if s.len() > 1 && s.starts_with('0') => (&s[1..], 8),
                None => (s, 10),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            u64::from_str_radix(digits, radix).map_err(|_| err())?
        }
        _ => return Err(err()),
    };
    if n > 0o7777 {
        return Err(format!("{} is not a file mode: at most 0o7777", n));
    }
    Ok(n as u32)
}

/// Turns the `mode: 0440` of secret and config references, which YAML 1.2 decodes as the string
/// `"0440"`, into the octal integer docker compose reads (YAML 1.1 and go-yaml take a leading
/// `0` as octal), so the stored document means what compose would and exports as an integer.
pub fn octal_modes(doc: &mut Value) {
    let Some(services) = doc.get_mut("services").and_then(Value::as_object_mut) else {
        return;
    };
    for m in services.values_mut() {
        for key in ["secrets", "configs"] {
            let Some(refs) = m.get_mut(key).and_then(Value::as_array_mut) else {
                continue;
            };
            for r in refs.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::String(s)) = r.get("mode")
                    && s.len() > 1
                    && s.starts_with('0')
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(m) = parse_mode(&Value::String(s.clone()))
                {
                    r.insert("mode".into(), Value::from(m));
                }
            }
        }
    }
}

fn numeric_id(w: &mut Walker, path: &str, v: &Value) -> Option<String> {
    let s = w.string(path, v)?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.parse::<u32>().is_err() {
        // compose v2 converts it with strconv.Atoi and fails the deploy otherwise.
        w.err(path, format!("`{s}` must be a numeric id"));
        return None;
    }
    Some(s)
}

fn is_object_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Reads the top-level `secrets` or `configs`.
pub(super) fn parse_decls(
    w: &mut Walker,
    kind: Kind,
    v: Option<&Value>,
) -> IndexMap<String, FileObject> {
    let section = kind.key();
    let mut out = IndexMap::new();
    let map = match v {
        None | Some(Value::Null) => return out,
        Some(Value::Object(m)) => m,
        Some(_) => {
            w.err(section, format!("must be a map of {section}"));
            return out;
        }
    };
    for (key, decl) in map {
        let p = format!("{section}.{key}");
        if !is_object_key(key) {
            w.err(
                &p,
                format!("`{key}` is not a valid {} name", kind.singular()),
            );
        }
        let Value::Object(o) = decl else {
            w.err(&p, "must be a map with file, environment or content");
            continue;
        };
        let mut obj = FileObject::default();
        for (k, val) in o {
            let kp = format!("{p}.{k}");
            match k.as_str() {
                "file" => obj.file = w.string(&kp, val).filter(|s| {
                    let ok = !s.is_empty();
                    if !ok {
                        w.err(&kp, "must not be empty");
                    } else if !s.starts_with('/') {
                        w.err(&kp, format!("`{s}` is a relative path outside a project: it is resolved against the service's project directory when the service is stored"));
                    }
                    ok
                }),
                "environment" => obj.environment = w.string(&kp, val).filter(|s| {
                    let ok = !s.is_empty();
                    if !ok {
                        w.err(&kp, "must name a variable");
                    }
                    ok
                }),
                "content" if kind == Kind::Config => obj.content = w.string(&kp, val),
                "content" => w.err(kp, "`content` is a config source; a secret comes from `file` or `environment` (as in the Compose Specification)"),
                "external" | "name" => w.err(kp, format!("`{k}` refers to a Docker Swarm {} (`docker {} create`), which a single engine does not have: use `file` or `environment`", kind.singular(), kind.singular())),
                "driver" | "driver_opts" | "template_driver" | "labels" => w.err(kp, format!("`{k}` is a Docker Swarm setting of a {}; docker compose refuses or ignores it on a single engine", kind.singular())),
                _ if k.starts_with("x-") => {
                    obj.extensions.insert(k.clone(), val.clone());
                }
                _ => w.err(kp, format!("unknown {} field; supported: file, environment{}", kind.singular(), if kind == Kind::Config { ", content" } else { "" })),
            }
        }
        let sources = [
            obj.file.is_some(),
            obj.environment.is_some(),
            obj.content.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        let refused = o.contains_key("external") || o.contains_key("name");
        if sources != 1 && !refused {
            w.err(
                &p,
                format!(
                    "needs exactly one source: file, environment{}",
                    if kind == Kind::Config {
                        " or content"
                    } else {
                        ""
                    }
                ),
            );
        }
        out.insert(key.clone(), obj);
    }
    out
}

/// Reads a member's `secrets:` or `configs:` list.
pub(super) fn parse_refs(w: &mut Walker, path: &str, v: &Value) -> Vec<FileRef> {
    let Value::Array(items) = v else {
        w.err(path, "must be a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item {
            Value::String(s) => out.push(FileRef {
                source: s.clone(),
                target: None,
                uid: None,
                gid: None,
                mode: None,
            }),
            Value::Object(o) => {
                let mut r = FileRef {
                    source: String::new(),
                    target: None,
                    uid: None,
                    gid: None,
                    mode: None,
                };
                for (k, val) in o {
                    let kp = format!("{p}.{k}");
                    match k.as_str() {
                        "source" => r.source = w.string(&kp, val).unwrap_or_default(),
                        "target" => {
                            r.target = w.string(&kp, val).filter(|t| {
                                let ok = !t.is_empty() && !t.split('/').any(|c| c == "..");
                                if !ok {
                                    w.err(&kp, format!("`{t}` is not a path in the container"));
                                }
                                ok
                            })
                        }
                        "uid" => r.uid = numeric_id(w, &kp, val),
                        "gid" => r.gid = numeric_id(w, &kp, val),
                        "mode" => match parse_mode(val) {
                            Ok(m) => r.mode = Some(m),
                            Err(e) => w.err(kp, e),
                        },
                        _ => w.err(
                            kp,
                            "unknown field; supported: source, target, uid, gid, mode",
                        ),
                    }
                }
                if r.source.is_empty() {
                    w.err(format!("{p}.source"), "is required");
                    continue;
                }
                out.push(r);
            }
            _ => w.err(&p, "must be a name or a map with source"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_read_as_compose_reads_them() {
        assert_eq!(parse_mode(&json!(288)), Ok(0o440));
        assert_eq!(parse_mode(&json!("0440")), Ok(0o440));
        assert_eq!(parse_mode(&json!("0o440")), Ok(0o440));
        assert_eq!(parse_mode(&json!("288")), Ok(288));
        assert_eq!(parse_mode(&json!("0")), Ok(0));
        for bad in [
            json!("0x1"),
            json!("08"),
            json!(-1),
            json!(0o10000),
            json!("r--"),
        ] {
            assert!(parse_mode(&bad).is_err(), "{bad}");
        }
        // serde_norway follows YAML 1.2: an unquoted 0440 arrives as the string "0440".
        let doc = crate::spec::yaml_document(
            b"services:\n  a:\n    secrets:\n      - {source: s, mode: 0440}\n      - {source: s, mode: 0o440}\n      - {source: s, mode: \"${M}\"}\n",
        )
        .expect("yaml");
        let refs = &doc["services"]["a"]["secrets"];
        assert_eq!(refs[0]["mode"], json!(0o440), "stored as compose reads it");
        assert_eq!(refs[1]["mode"], json!(0o440));
        assert_eq!(
            refs[2]["mode"],
            json!("${M}"),
            "interpolated later, then cast"
        );
    }

    #[test]
    fn container_paths() {
        let r = |target: Option<&str>| FileRef {
            source: "pw".into(),
            target: target.map(str::to_owned),
            uid: None,
            gid: None,
            mode: None,
        };
        assert_eq!(r(None).container_path(Kind::Secret), "/run/secrets/pw");
        assert_eq!(r(Some("x")).container_path(Kind::Secret), "/run/secrets/x");
        assert_eq!(r(Some("/etc/x")).container_path(Kind::Secret), "/etc/x");
        assert_eq!(r(None).container_path(Kind::Config), "/pw");
        assert_eq!(r(Some("a/b")).container_path(Kind::Config), "/a/b");
    }
}
