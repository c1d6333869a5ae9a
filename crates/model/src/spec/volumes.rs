//! A member's `volumes` entries: compose's short syntax (`source:target[:mode]`) and long syntax
//! (`{type, source, target, read_only, bind, volume, tmpfs}`), kept as written so that the stored
//! definition exports as the compose document the user sent. The Engine API mapping lives in
//! `docker::create`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Mount;
use super::validate::Walker;

/// One `volumes` entry as written: a short-syntax string or a long-syntax map.
///
/// Untagged so that stored rows of the older shape (a list of strings) still deserialize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum VolumeEntry {
    /// `name:/path[:mode]`, `/host:/path[:mode]` or an anonymous `/path`.
    Short(String),
    /// The long syntax.
    Long(LongVolume),
}

impl From<String> for VolumeEntry {
    fn from(s: String) -> Self {
        Self::Short(s)
    }
}

impl VolumeEntry {
    /// What the entry mounts, for the cross-member checks and the config hash.
    pub fn mount(&self) -> Result<Mount, String> {
        match self {
            Self::Short(s) => Mount::parse(s),
            Self::Long(l) => Ok(l.mount()),
        }
    }

    /// The container path the entry mounts at.
    pub fn target(&self) -> Option<String> {
        self.mount().ok().map(|m| m.target().to_owned())
    }
}

/// The `type` of a long-syntax volume SDMD can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VolumeKind {
    /// A named (or, without `source`, anonymous) volume.
    Volume,
    /// A host path.
    Bind,
    /// A tmpfs in memory.
    Tmpfs,
}

/// A long-syntax volume entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LongVolume {
    /// `volume`, `bind` or `tmpfs`.
    #[serde(rename = "type")]
    pub kind: VolumeKind,
    /// Volume name (type volume) or absolute host path (type bind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Absolute path in the container.
    pub target: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// macOS consistency requirement; accepted and passed on (the engine ignores it on Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Options of a bind mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    /// Options of a volume mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    /// Options of a tmpfs mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
}

impl LongVolume {
    fn mount(&self) -> Mount {
        match (self.kind, &self.source) {
            (VolumeKind::Volume, Some(v)) => Mount::Named {
                volume: v.clone(),
                target: self.target.clone(),
                mode: None,
            },
            (VolumeKind::Volume, None) => Mount::Anonymous {
                target: self.target.clone(),
            },
            (VolumeKind::Bind, source) => Mount::Bind {
                source: source.clone().unwrap_or_default(),
                target: self.target.clone(),
                mode: None,
            },
            (VolumeKind::Tmpfs, _) => Mount::Tmpfs {
                target: self.target.clone(),
            },
        }
    }
}

/// `bind:` options of a long-syntax bind mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave` or `rslave`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Create the host directory when missing (the short syntax implies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_host_path: Option<bool>,
    /// SELinux relabelling: `z` (shared) or `Z` (private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

/// `volume:` options of a long-syntax volume mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VolumeOptions {
    /// Do not copy the image's data at the path into a new, empty volume.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nocopy: bool,
}

/// `tmpfs:` options of a long-syntax tmpfs mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TmpfsOptions {
    /// Size: bytes, or a string with a unit (`64m`, `1g`; powers of 1024 as compose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// File mode of the tmpfs root as an integer (YAML `0o1777` is octal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// A byte count as written: a number of bytes or a string with a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ByteSize {
    /// Plain bytes.
    Bytes(u64),
    /// `512k`, `64m`, `1g`, `2gb` …
    Text(String),
}

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(&self) -> Result<i64, String> {
        match self {
            Self::Bytes(n) => i64::try_from(*n).map_err(|_| format!("`{n}` bytes is too large")),
            Self::Text(s) => parse_bytes(s),
        }
    }
}

/// Parses a compose byte size (`1024`, `512k`, `64m`, `1.5g`, `2gb`), units powers of 1024 as
/// compose's `units.RAMInBytes`.
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let err = || format!("`{s}` is not a size: use bytes or a number with b, k, m or g");
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| {
            t.strip_suffix('b')
                .filter(|r| r.ends_with(['k', 'm', 'g', 't']))
        })
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('b') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| err())?;
    if !n.is_finite() || n < 0.0 {
        return Err(err());
    }
    let v = n * mult as f64;
    if v > i64::MAX as f64 {
        return Err(err());
    }
    Ok(v as i64)
}

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Reads a member's `volumes` list.
pub(super) fn parse(w: &mut Walker, path: &str, v: &Value) -> Vec<VolumeEntry> {
    let Value::Array(items) = v else {
        w.err(path, "must be a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item {
            Value::Object(o) => {
                if let Some(l) = long(w, &p, o) {
                    out.push(VolumeEntry::Long(l));
                }
            }
            other => {
                if let Some(s) = w.string(&p, other) {
                    // Invalid entries are kept too (the definition is rejected anyway) so that
                    // later checks report the entry's original index.
                    if let Err(e) = Mount::parse(&s) {
                        w.err(&p, e);
                    }
                    out.push(VolumeEntry::Short(s));
                }
            }
        }
    }
    out
}

fn bool_field(w: &mut Walker, p: &str, v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        _ => {
            w.err(p, "must be true or false");
            None
        }
    }
}

fn sub_map<'a>(
    w: &mut Walker,
    p: &str,
    v: Option<&'a Value>,
    known: &[&str],
) -> Option<&'a serde_json::Map<String, Value>> {
    match v? {
        Value::Null => None,
        Value::Object(o) => {
            for k in o.keys() {
                if !known.contains(&k.as_str()) {
                    w.err(
                        format!("{p}.{k}"),
                        match (p.rsplit('.').next(), k.as_str()) {
                            (Some("volume"), "subpath") => "`volume.subpath` needs Engine API 1.45 (Docker 26); the engine SDMD targets speaks 1.41, which would mount the whole volume".to_owned(),
                            _ => format!("unknown option; supported: {}", known.join(", ")),
                        },
                    );
                }
            }
            Some(o)
        }
        _ => {
            w.err(p, "must be a map");
            None
        }
    }
}

fn long(w: &mut Walker, p: &str, o: &serde_json::Map<String, Value>) -> Option<LongVolume> {
    const KNOWN: &[&str] = &[
        "type",
        "source",
        "target",
        "read_only",
        "consistency",
        "bind",
        "volume",
        "tmpfs",
    ];
    w.only_keys(p, o, KNOWN, "unknown volume option");
    let kind = match o
        .get("type")
        .and_then(|t| w.string(&format!("{p}.type"), t))
    {
        None => {
            w.err(format!("{p}.type"), "is required in the long syntax");
            None
        }
        Some(t) => match t.as_str() {
            "volume" => Some(VolumeKind::Volume),
            "bind" => Some(VolumeKind::Bind),
            "tmpfs" => Some(VolumeKind::Tmpfs),
            "npipe" => {
                w.err(
                    format!("{p}.type"),
                    "`npipe` mounts a Windows named pipe: Windows-only",
                );
                None
            }
            "cluster" => {
                w.err(
                    format!("{p}.type"),
                    "`cluster` volumes are a Swarm (CSI) feature; SDMD deploys to a single engine",
                );
                None
            }
            "image" => {
                w.err(
                    format!("{p}.type"),
                    "`image` mounts need Engine API 1.48 (Docker 28); the engine SDMD targets speaks 1.41",
                );
                None
            }
            other => {
                w.err(
                    format!("{p}.type"),
                    format!("`{other}` is not a mount type: use volume, bind or tmpfs"),
                );
                None
            }
        },
    };
    let target = match o
        .get("target")
        .and_then(|t| w.string(&format!("{p}.target"), t))
    {
        Some(t) if t.starts_with('/') && t.len() > 1 => Some(t),
        Some(t) => {
            w.err(
                format!("{p}.target"),
                format!("`{t}` is not an absolute container path"),
            );
            None
        }
        None => {
            w.err(format!("{p}.target"), "is required");
            None
        }
    };
    let source = match o.get("source") {
        None | Some(Value::Null) => None,
        Some(s) => w
            .string(&format!("{p}.source"), s)
            .filter(|s| !s.is_empty()),
    };
    let read_only = bool_field(w, &format!("{p}.read_only"), o.get("read_only")).unwrap_or(false);
    let consistency = o.get("consistency").and_then(|c| {
        let s = w.string(&format!("{p}.consistency"), c)?;
        if !matches!(
            s.as_str(),
            "consistent" | "cached" | "delegated" | "default"
        ) {
            w.err(
                format!("{p}.consistency"),
                format!("`{s}` is not a consistency: use consistent, cached, delegated or default"),
            );
        }
        Some(s)
    });
    let bind = sub_map(
        w,
        &format!("{p}.bind"),
        o.get("bind"),
        &["propagation", "create_host_path", "selinux"],
    )
    .map(|b| {
        let propagation = b.get("propagation").and_then(|v| {
            let s = w.string(&format!("{p}.bind.propagation"), v)?;
            if !PROPAGATIONS.contains(&s.as_str()) {
                w.err(
                    format!("{p}.bind.propagation"),
                    format!(
                        "`{s}` is not a propagation: use {}",
                        PROPAGATIONS.join(", ")
                    ),
                );
            }
            Some(s)
        });
        let selinux = b.get("selinux").and_then(|v| {
            let s = w.string(&format!("{p}.bind.selinux"), v)?;
            if !matches!(s.as_str(), "z" | "Z") {
                w.err(
                    format!("{p}.bind.selinux"),
                    format!("`{s}` is not an SELinux label mode: use z or Z"),
                );
            }
            Some(s)
        });
        BindOptions {
            propagation,
            create_host_path: bool_field(
                w,
                &format!("{p}.bind.create_host_path"),
                b.get("create_host_path"),
            ),
            selinux,
        }
    });
    let volume =
        sub_map(w, &format!("{p}.volume"), o.get("volume"), &["nocopy"]).map(|v| VolumeOptions {
            nocopy: bool_field(w, &format!("{p}.volume.nocopy"), v.get("nocopy")).unwrap_or(false),
        });
    let tmpfs = sub_map(w, &format!("{p}.tmpfs"), o.get("tmpfs"), &["size", "mode"]).map(|t| {
        let size = t.get("size").and_then(|s| {
            let sp = format!("{p}.tmpfs.size");
            let size = match s {
                Value::Number(n) => match n.as_u64() {
                    Some(n) => ByteSize::Bytes(n),
                    None => {
                        w.err(
                            &sp,
                            "must be a non-negative number of bytes or a size like 64m",
                        );
                        return None;
                    }
                },
                Value::String(s) => ByteSize::Text(s.clone()),
                _ => {
                    w.err(&sp, "must be a number of bytes or a size like 64m");
                    return None;
                }
            };
            if let Err(e) = size.bytes() {
                w.err(&sp, e);
            }
            Some(size)
        });
        let mode = match t.get("mode") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|m| m <= 0o7777) => {
                n.as_u64().map(|m| m as u32)
            }
            Some(_) => {
                w.err(
                    format!("{p}.tmpfs.mode"),
                    "must be a file mode as an integer (YAML `0o1777` for octal), at most 0o7777",
                );
                None
            }
        };
        TmpfsOptions { size, mode }
    });
    let kind = kind?;
    let target = target?;
    // Options of another mount type would be silently dropped (compose only warns): refuse them.
    for (key, present, owner) in [
        ("bind", bind.is_some(), VolumeKind::Bind),
        ("volume", volume.is_some(), VolumeKind::Volume),
        ("tmpfs", tmpfs.is_some(), VolumeKind::Tmpfs),
    ] {
        if present && kind != owner {
            w.err(
                format!("{p}.{key}"),
                format!("`{key}` options apply only to mounts of type {key}"),
            );
        }
    }
    match kind {
        VolumeKind::Bind => match source.as_deref() {
            None => w.err(format!("{p}.source"), "is required for a bind mount"),
            Some(s) if s.starts_with('.') || s.starts_with('~') => w.err(
                format!("{p}.source"),
                format!(
                    "`{s}` is a relative host path: SDMD has no project directory, use an absolute path"
                ),
            ),
            Some(s) if !s.starts_with('/') => w.err(
                format!("{p}.source"),
                format!("`{s}` is not an absolute host path"),
            ),
            Some(_) => {}
        },
        VolumeKind::Volume => {
            if let Some(s) = &source
                && !super::is_volume_name(s)
            {
                w.err(
                    format!("{p}.source"),
                    format!("`{s}` is not a volume name"),
                );
            }
        }
        VolumeKind::Tmpfs => {
            if source.is_some() {
                w.err(format!("{p}.source"), "a tmpfs mount has no source");
            }
        }
    }
    Some(LongVolume {
        kind,
        source,
        target,
        read_only,
        consistency,
        bind,
        volume,
        tmpfs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("64m"), Ok(64 << 20));
        assert_eq!(parse_bytes("2M"), Ok(2 << 20));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("1gb"), Ok(1 << 30));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("10b"), Ok(10));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("-1m").is_err());
    }

    fn member(volumes: serde_json::Value) -> Result<Vec<VolumeEntry>, Vec<super::super::Problem>> {
        let def = super::super::parse(&serde_json::json!({
            "name": "v",
            "services": {"web": {"image": "busybox", "volumes": volumes}},
            "volumes": {"data": {}}
        }))?;
        Ok(def.services["web"].volumes.clone())
    }

    #[test]
    fn long_syntax() {
        let v = member(serde_json::json!([
            {"type": "bind", "source": "/srv", "target": "/b", "read_only": true,
             "bind": {"propagation": "rprivate", "create_host_path": true, "selinux": "z"},
             "consistency": "cached"},
            {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": true}},
            {"type": "volume", "target": "/anon"},
            {"type": "tmpfs", "target": "/t", "tmpfs": {"size": "64m", "mode": 1023}},
            {"type": "tmpfs", "target": "/t2", "tmpfs": {"size": 1024}},
            "data:/d2:nocopy"
        ]))
        .expect("valid");
        let VolumeEntry::Long(b) = &v[0] else {
            panic!("long form kept")
        };
        assert_eq!(b.kind, VolumeKind::Bind);
        assert!(b.read_only);
        assert_eq!(
            b.bind.as_ref().and_then(|b| b.propagation.as_deref()),
            Some("rprivate")
        );
        assert_eq!(
            v[1].mount(),
            Ok(Mount::Named {
                volume: "data".into(),
                target: "/data".into(),
                mode: None
            })
        );
        assert_eq!(
            v[2].mount(),
            Ok(Mount::Anonymous {
                target: "/anon".into()
            })
        );
        assert_eq!(
            v[3].mount(),
            Ok(Mount::Tmpfs {
                target: "/t".into()
            })
        );
        let VolumeEntry::Long(t) = &v[3] else {
            panic!("long form kept")
        };
        let tmpfs = t.tmpfs.as_ref().expect("tmpfs options");
        assert_eq!(tmpfs.size.as_ref().map(ByteSize::bytes), Some(Ok(64 << 20)));
        assert_eq!(tmpfs.mode, Some(0o1777));
        assert_eq!(v[5], VolumeEntry::Short("data:/d2:nocopy".into()));
        // Stored as written; the stored JSON reads back to the same entries and validates again.
        let stored = serde_json::to_value(&v).expect("json");
        assert_eq!(stored[3]["tmpfs"]["size"], "64m");
        assert_eq!(stored[4]["tmpfs"]["size"], 1024);
        let back: Vec<VolumeEntry> = serde_json::from_value(stored.clone()).expect("reads");
        assert_eq!(back, v);
        assert_eq!(member(stored), Ok(v));
    }

    #[test]
    fn long_syntax_refusals() {
        let check = |entry: serde_json::Value, field: &str, says: &str| {
            let err = member(serde_json::json!([entry])).expect_err("refused");
            assert!(
                err.iter()
                    .any(|p| p.field == format!("services.web.volumes[0]{field}")
                        && p.message.contains(says)),
                "{entry}: {err:?}"
            );
        };
        check(
            serde_json::json!({"type": "npipe", "source": "\\\\.\\pipe\\x", "target": "/p"}),
            ".type",
            "Windows-only",
        );
        check(
            serde_json::json!({"type": "cluster", "source": "c", "target": "/c"}),
            ".type",
            "Swarm",
        );
        check(
            serde_json::json!({"type": "image", "source": "busybox", "target": "/i"}),
            ".type",
            "API",
        );
        check(
            serde_json::json!({"type": "nfs", "target": "/n"}),
            ".type",
            "not a mount type",
        );
        check(
            serde_json::json!({"source": "data", "target": "/d"}),
            ".type",
            "required",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data"}),
            ".target",
            "required",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data", "target": "rel"}),
            ".target",
            "absolute",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data", "target": "/d", "volume": {"subpath": "x"}}),
            ".volume.subpath",
            "1.45",
        );
        check(
            serde_json::json!({"type": "bind", "source": "./data", "target": "/d"}),
            ".source",
            "SDMD has no project directory",
        );
        check(
            serde_json::json!({"type": "bind", "target": "/d"}),
            ".source",
            "required",
        );
        check(
            serde_json::json!({"type": "bind", "source": "/s", "target": "/d", "bind": {"propagation": "weird"}}),
            ".bind.propagation",
            "not a propagation",
        );
        check(
            serde_json::json!({"type": "bind", "source": "/s", "target": "/d", "bind": {"selinux": "y"}}),
            ".bind.selinux",
            "z or Z",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data", "target": "/d", "bind": {"propagation": "rprivate"}}),
            ".bind",
            "only to mounts of type bind",
        );
        check(
            serde_json::json!({"type": "tmpfs", "source": "x", "target": "/t"}),
            ".source",
            "no source",
        );
        check(
            serde_json::json!({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "lots"}}),
            ".tmpfs.size",
            "not a size",
        );
        check(
            serde_json::json!({"type": "tmpfs", "target": "/t", "tmpfs": {"mode": "1777"}}),
            ".tmpfs.mode",
            "integer",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data", "target": "/d", "consistency": "eventual"}),
            ".consistency",
            "not a consistency",
        );
        check(
            serde_json::json!({"type": "volume", "source": "data", "target": "/d", "extra": 1}),
            ".extra",
            "unknown volume option",
        );
        // A named volume in the long syntax must be declared, like in the short one.
        let err =
            member(serde_json::json!([{"type": "volume", "source": "other", "target": "/o"}]))
                .expect_err("undeclared");
        assert!(
            err.iter().any(|p| p.message.contains("not declared")),
            "{err:?}"
        );
    }

    #[test]
    fn yaml_octal_mode() {
        let doc = super::super::yaml_document(
            b"name: v\nservices:\n  web:\n    image: busybox\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs: {mode: 0o1777}\n",
        )
        .expect("yaml");
        let def = super::super::parse(&doc).expect("valid");
        let VolumeEntry::Long(t) = &def.services["web"].volumes[0] else {
            panic!("long form kept")
        };
        assert_eq!(t.tmpfs.as_ref().and_then(|t| t.mode), Some(0o1777));
    }

    #[test]
    fn old_rows_still_deserialize() {
        let v: Vec<VolumeEntry> =
            serde_json::from_value(serde_json::json!(["data:/data", "/srv:/srv:ro"]))
                .expect("strings");
        assert_eq!(v[0], VolumeEntry::Short("data:/data".into()));
    }
}
