//! The plugin manifest: what a plugin is and what it asks for. Embedded in the component as the custom
//! section `sdmd-manifest` (JSON), or supplied beside the `.wasm` (a sidecar overrides the embedded one).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The custom section holding the manifest JSON.
pub const MANIFEST_SECTION: &str = "sdmd-manifest";

/// Plugin kinds: one per WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// World `update-strategy`, exporting interface `strategy`.
    UpdateStrategy,
    /// World `health-check`, exporting interface `checker`.
    HealthCheck,
    /// World `notifier`, exporting interface `notify`.
    Notifier,
}

impl Kind {
    /// The WIT world name.
    pub fn world(self) -> &'static str {
        match self {
            Kind::UpdateStrategy => "update-strategy",
            Kind::HealthCheck => "health-check",
            Kind::Notifier => "notifier",
        }
    }

    /// The interface the world exports (`sdmd:plugin/<this>@version`).
    pub fn export_interface(self) -> &'static str {
        match self {
            Kind::UpdateStrategy => "strategy",
            Kind::HealthCheck => "checker",
            Kind::Notifier => "notify",
        }
    }

    /// Capabilities the world may import.
    pub fn allowed_capabilities(self) -> &'static [Capability] {
        match self {
            Kind::UpdateStrategy => &[Capability::Log, Capability::Config, Capability::Registry],
            Kind::HealthCheck | Kind::Notifier => {
                &[Capability::Log, Capability::Config, Capability::Http]
            }
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.world())
    }
}

/// A host interface a plugin can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `sdmd:plugin/log`: harmless, granted whenever declared.
    Log,
    /// `sdmd:plugin/config`: the plugin's own settings, granted whenever declared.
    Config,
    /// `sdmd:plugin/registry`: read-only registry access; needs the admin's grant.
    Registry,
    /// `sdmd:plugin/http`: outbound HTTP to granted hosts; needs the admin's grant with an allow-list.
    Http,
}

impl Capability {
    /// The WIT interface name.
    pub fn interface(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Config => "config",
            Capability::Registry => "registry",
            Capability::Http => "http",
        }
    }

    /// Whether declaring it is enough (no admin grant needed).
    pub fn implicit(self) -> bool {
        matches!(self, Capability::Log | Capability::Config)
    }

    /// The capability behind a WIT interface name.
    pub fn from_interface(name: &str) -> Option<Self> {
        Some(match name {
            "log" => Capability::Log,
            "config" => Capability::Config,
            "registry" => Capability::Registry,
            "http" => Capability::Http,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.interface())
    }
}

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable identifier: lowercase letters, digits and `-`, 1–64 characters.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plugin's own version (free-form, semver recommended).
    pub version: String,
    /// The worlds the component exports.
    pub kinds: BTreeSet<Kind>,
    /// What it does, for the admin.
    #[serde(default)]
    pub description: String,
    /// The `sdmd:plugin` WIT version it was built against, e.g. `0.1.0`.
    pub wit: String,
    /// Host interfaces it needs.
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
    /// A JSON Schema subset describing its settings (see [`validate_config`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<serde_json::Value>,
}

/// Why a manifest or a configuration was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ManifestError {
    /// No manifest embedded and none supplied.
    #[error(
        "the component has no `{MANIFEST_SECTION}` custom section and no manifest was supplied"
    )]
    Missing,
    /// The JSON does not parse as a manifest.
    #[error("invalid manifest: {0}")]
    Invalid(String),
    /// A configuration does not match the schema.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Manifest {
    /// Parse and check a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), ManifestError> {
        let bad = |s: String| Err(ManifestError::Invalid(s));
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad(format!("id {:?} must be 1-64 of a-z, 0-9 and -", self.id));
        }
        if self.name.trim().is_empty() {
            return bad("name is empty".into());
        }
        if self.kinds.is_empty() {
            return bad("kinds is empty".into());
        }
        for cap in &self.capabilities {
            if !self
                .kinds
                .iter()
                .any(|k| k.allowed_capabilities().contains(cap))
            {
                let kinds: Vec<_> = self.kinds.iter().map(|k| k.world()).collect();
                return bad(format!(
                    "capability {cap} is not available to {}",
                    kinds.join(", ")
                ));
            }
        }
        if let Some(schema) = &self.config_schema {
            check_schema(schema).map_err(ManifestError::Invalid)?;
        }
        Ok(())
    }
}

/// Find the manifest section in a component (top level, or inside an embedded core module, which is where
/// a Rust guest's `#[link_section]` lands). A tiny section walker: we only need custom sections.
pub fn embedded(wasm: &[u8]) -> Option<&[u8]> {
    find_custom(wasm, MANIFEST_SECTION, 0)
}

fn read_leb(bytes: &[u8], pos: &mut usize) -> Option<usize> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return usize::try_from(result).ok();
        }
    }
    None
}

fn find_custom<'a>(wasm: &'a [u8], name: &str, depth: u8) -> Option<&'a [u8]> {
    // header: magic + version/layer; components and core modules share the section framing.
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" || depth > 4 {
        return None;
    }
    let is_component = wasm[6] == 1;
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = read_leb(wasm, &mut pos)?;
        let body = wasm.get(pos..pos.checked_add(size)?)?;
        pos += size;
        if id == 0 {
            let mut p = 0;
            let len = read_leb(body, &mut p)?;
            if body.get(p..p + len)? == name.as_bytes() {
                return Some(&body[p + len..]);
            }
        } else if is_component && (id == 1 || id == 4) {
            // 1 = core module, 4 = nested component
            if let Some(found) = find_custom(body, name, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}

/// The JSON types a schema property may have.
const TYPES: &[&str] = &["string", "integer", "number", "boolean", "array", "object"];

/// The schema subset the dashboard renders as a form: `{"type": "object", "properties": {name: {type,
/// title?, description?, default?, enum?, minimum?, maximum?}}, "required": [...]}`.
fn check_schema(schema: &serde_json::Value) -> Result<(), String> {
    let obj = schema
        .as_object()
        .ok_or("config_schema must be an object")?;
    if obj.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err("config_schema.type must be \"object\"".into());
    }
    if let Some(props) = obj.get("properties") {
        let props = props
            .as_object()
            .ok_or("config_schema.properties must be an object")?;
        for (name, p) in props {
            let ty = p.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if !TYPES.contains(&ty) {
                return Err(format!(
                    "config_schema property {name}: type must be one of {}",
                    TYPES.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Validate a configuration against the manifest's schema subset: types, `enum`, `minimum`/`maximum`,
/// `required`, and no unknown keys.
pub fn validate_config(
    schema: Option<&serde_json::Value>,
    config: &serde_json::Value,
) -> Result<(), ManifestError> {
    use serde_json::Value;
    let err = |s: String| Err(ManifestError::Config(s));
    let Some(map) = config.as_object() else {
        return err("configuration must be a JSON object".into());
    };
    let Some(schema) = schema else {
        return if map.is_empty() {
            Ok(())
        } else {
            err("this plugin takes no settings".into())
        };
    };
    let empty = serde_json::Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (key, value) in map {
        let Some(p) = props.get(key) else {
            return err(format!("unknown setting {key}"));
        };
        let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
        let ok = match ty {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !ok {
            return err(format!("setting {key} must be of type {ty}"));
        }
        if let Some(choices) = p.get("enum").and_then(Value::as_array)
            && !choices.contains(value)
        {
            return err(format!(
                "setting {key} must be one of {}",
                Value::Array(choices.clone())
            ));
        }
        if let Some(n) = value.as_f64() {
            if let Some(min) = p.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                return err(format!("setting {key} must be at least {min}"));
            }
            if let Some(max) = p.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                return err(format!("setting {key} must be at most {max}"));
            }
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                return err(format!("setting {r} is required"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(extra: serde_json::Value) -> Result<Manifest, ManifestError> {
        let mut m =
            json!({"id": "x", "name": "X", "version": "1", "kinds": ["notifier"], "wit": "0.1.0"});
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        Manifest::from_json(m.to_string().as_bytes())
    }

    #[test]
    fn manifest_checks() {
        assert!(manifest(json!({})).is_ok());
        assert!(manifest(json!({"capabilities": ["http", "log"]})).is_ok());
        assert!(
            manifest(json!({"capabilities": ["registry"]})).is_err(),
            "registry is for strategies"
        );
        assert!(manifest(json!({"id": "Bad Id"})).is_err());
        assert!(manifest(json!({"kinds": []})).is_err());
        assert!(manifest(json!({"kinds": ["painter"]})).is_err());
        assert!(manifest(json!({"surprise": 1})).is_err());
        assert!(manifest(json!({"config_schema": {"type": "array"}})).is_err());
    }

    fn check(config: serde_json::Value, ok: bool) {
        let schema = json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string"}, "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "fmt": {"type": "string", "enum": ["a", "b"]}, "on": {"type": "boolean"}}});
        assert_eq!(
            validate_config(Some(&schema), &config).is_ok(),
            ok,
            "{config}"
        );
    }

    #[test]
    fn config_validation() {
        check(json!({"url": "u"}), true);
        check(json!({"url": "u", "n": 5, "fmt": "b", "on": false}), true);
        check(json!({}), false);
        check(json!({"url": 1}), false);
        check(json!({"url": "u", "n": 0}), false);
        check(json!({"url": "u", "n": 2.5}), false);
        check(json!({"url": "u", "fmt": "c"}), false);
        check(json!({"url": "u", "other": 1}), false);
        check(json!([1]), false);
        assert!(validate_config(None, &json!({})).is_ok());
        assert!(validate_config(None, &json!({"a": 1})).is_err());
    }

    #[test]
    fn finds_custom_sections() {
        // A core module with a custom section, wrapped in a component's core-module section.
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        let payload = br#"{"id":"x"}"#;
        let name = MANIFEST_SECTION.as_bytes();
        module.push(0);
        module.push(u8::try_from(1 + name.len() + payload.len()).expect("small"));
        module.push(u8::try_from(name.len()).expect("small"));
        module.extend_from_slice(name);
        module.extend_from_slice(payload);
        assert_eq!(embedded(&module), Some(&payload[..]));
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.push(1);
        component.push(u8::try_from(module.len()).expect("small"));
        component.extend_from_slice(&module);
        assert_eq!(embedded(&component), Some(&payload[..]));
        assert_eq!(embedded(b"\0asm\x0d\0\x01\0"), None);
        assert_eq!(embedded(b"garbage"), None);
    }
}
