//! Walks an untyped document and builds a [`Definition`], collecting every problem with its path.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use super::objects::{FileObject, Kind};
use super::{
    Condition, Definition, DependsOn, Healthcheck, Member, Mount, Restart, VolumeDecl,
    is_dns_label, is_valid_image_ref, parse_duration_ns,
};

/// One validation problem: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Field path, e.g. `services.web.ports[1]`.
    pub field: String,
    /// What is wrong, for humans.
    pub message: String,
}

/// Collects problems while a document is walked; the group modules (`network`, `runtime`) use
/// its helpers so that every field reports problems the same way.
pub(super) struct Walker {
    problems: Vec<Problem>,
}

impl Walker {
    pub(super) fn err(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn string(&mut self, path: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            // YAML writes `PORT: 8080` or `DEBUG: true`; compose accepts scalars as strings.
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.err(path, "must be a string");
                None
            }
        }
    }

    pub(super) fn string_list(&mut self, path: &str, v: &Value) -> Vec<(String, String)> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let p = format!("{path}[{i}]");
                    self.string(&p, item).map(|s| (p, s))
                })
                .collect(),
            _ => {
                self.err(path, "must be a list");
                Vec::new()
            }
        }
    }

    /// Reports every key of `map` not in `known`: "<what>; supported: …".
    pub(super) fn only_keys(
        &mut self,
        path: &str,
        map: &serde_json::Map<String, Value>,
        known: &[&str],
        what: &str,
    ) {
        for k in map.keys() {
            if !known.contains(&k.as_str()) {
                self.err(
                    format!("{path}.{k}"),
                    format!("{what}; supported: {}", known.join(", ")),
                );
            }
        }
    }

    /// A map of strings, or a list of `KEY=VALUE` (environment, labels).
    pub(super) fn key_values(&mut self, path: &str, v: &Value) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        match v {
            Value::Object(map) => {
                for (k, val) in map {
                    let p = format!("{path}.{k}");
                    if k.is_empty() || k.contains('=') {
                        self.err(&p, "key must be non-empty and must not contain '='");
                        continue;
                    }
                    let s = match val {
                        Value::Null => Some(String::new()),
                        other => self.string(&p, other),
                    };
                    if let Some(s) = s {
                        out.insert(k.clone(), s);
                    }
                }
            }
            Value::Array(_) => {
                for (p, item) in self.string_list(path, v) {
                    match item.split_once('=') {
                        Some((k, val)) if !k.is_empty() => {
                            out.insert(k.to_owned(), val.to_owned());
                        }
                        _ => self.err(p, format!("`{item}` must have the form KEY=VALUE")),
                    }
                }
            }
            _ => self.err(path, "must be a map or a list of KEY=VALUE"),
        }
        out
    }

    /// A command or entrypoint: a list, or a string split like a shell would.
    pub(super) fn command(&mut self, path: &str, v: &Value) -> Option<Vec<String>> {
        match v {
            Value::String(s) => match shell_words::split(s) {
                Ok(words) => Some(words),
                Err(e) => {
                    self.err(path, format!("cannot split `{s}` into words: {e}"));
                    None
                }
            },
            Value::Array(_) => Some(
                self.string_list(path, v)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect(),
            ),
            Value::Null => None,
            _ => {
                self.err(path, "must be a string or a list of strings");
                None
            }
        }
    }

    pub(super) fn duration(&mut self, path: &str, v: Option<&Value>) -> Option<String> {
        let s = self.string(path, v?)?;
        match parse_duration_ns(&s) {
            Ok(_) => Some(s),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    fn healthcheck(&mut self, path: &str, v: &Value) -> Option<Healthcheck> {
        let Value::Object(map) = v else {
            self.err(path, "must be a map");
            return None;
        };
        for k in map.keys() {
            if !matches!(
                k.as_str(),
                "test"
                    | "interval"
                    | "timeout"
                    | "retries"
                    | "start_period"
                    | "start_interval"
                    | "disable"
            ) {
                self.err(format!("{path}.{k}"), "unknown healthcheck field");
            }
        }
        let disable = match map.get("disable") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.err(format!("{path}.disable"), "must be true or false");
                false
            }
        };
        let test = match map.get("test") {
            None => Vec::new(),
            Some(Value::String(s)) => vec!["CMD-SHELL".to_owned(), s.clone()],
            Some(t @ Value::Array(_)) => {
                let list: Vec<String> = self
                    .string_list(&format!("{path}.test"), t)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect();
                match list.first().map(String::as_str) {
                    Some("CMD" | "CMD-SHELL" | "NONE") => {}
                    _ => self.err(
                        format!("{path}.test"),
                        "a list must start with CMD, CMD-SHELL or NONE",
                    ),
                }
                list
            }
            Some(_) => {
                self.err(format!("{path}.test"), "must be a string or a list");
                Vec::new()
            }
        };
        if disable && map.len() > 1 {
            // compose refuses the combination: the other options would be silently dropped.
            self.err(
                path,
                "`disable: true` cannot be combined with other healthcheck options",
            );
        }
        if map.contains_key("start_interval") && !map.contains_key("start_period") {
            // compose v2's rule: the engine only uses start_interval within a start period.
            self.err(
                format!("{path}.start_interval"),
                "requires start_period to be set (the engine uses it only during the start period)",
            );
        }
        if test.is_empty() && !disable {
            self.err(format!("{path}.test"), "is required unless disable: true");
        }
        let retries = match map.get("retries") {
            None => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u32::MAX as u64) => {
                n.as_u64().map(|n| n as u32)
            }
            Some(_) => {
                self.err(format!("{path}.retries"), "must be a non-negative integer");
                None
            }
        };
        Some(Healthcheck {
            test,
            interval: self.duration(&format!("{path}.interval"), map.get("interval")),
            timeout: self.duration(&format!("{path}.timeout"), map.get("timeout")),
            retries,
            start_period: self.duration(&format!("{path}.start_period"), map.get("start_period")),
            start_interval: self
                .duration(&format!("{path}.start_interval"), map.get("start_interval")),
            disable,
        })
    }

    fn depends_on(&mut self, path: &str, v: &Value) -> IndexMap<String, DependsOn> {
        let mut out = IndexMap::new();
        match v {
            Value::Array(_) => {
                for (_, name) in self.string_list(path, v) {
                    out.insert(name, DependsOn::on(Condition::ServiceStarted));
                }
            }
            Value::Object(map) => {
                for (name, spec) in map {
                    let p = format!("{path}.{name}");
                    let dep = match spec {
                        Value::Null => Some(DependsOn::on(Condition::ServiceStarted)),
                        Value::Object(o) => self.depends_on_long(&p, o),
                        _ => {
                            self.err(&p, "must be a map with a condition");
                            None
                        }
                    };
                    if let Some(dep) = dep {
                        out.insert(name.clone(), dep);
                    }
                }
            }
            _ => self.err(
                path,
                "must be a list of member names or a map with conditions",
            ),
        }
        out
    }

    fn depends_on_long(
        &mut self,
        p: &str,
        o: &serde_json::Map<String, Value>,
    ) -> Option<DependsOn> {
        for k in o.keys() {
            if !matches!(k.as_str(), "condition" | "restart" | "required") {
                self.err(
                    format!("{p}.{k}"),
                    "unknown depends_on option; supported: condition, restart, required",
                );
            }
        }
        let condition = match o.get("condition") {
            None | Some(Value::Null) => Some(Condition::ServiceStarted),
            Some(Value::String(c)) => match c.as_str() {
                "service_started" => Some(Condition::ServiceStarted),
                "service_healthy" => Some(Condition::ServiceHealthy),
                "service_completed_successfully" => Some(Condition::ServiceCompletedSuccessfully),
                other => {
                    self.err(
                        format!("{p}.condition"),
                        format!("`{other}` is not a condition: use service_started, service_healthy or service_completed_successfully"),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(format!("{p}.condition"), "must be a string");
                None
            }
        };
        let mut flag = |key: &str, default: bool| match o.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.err(format!("{p}.{key}"), "must be true or false");
                default
            }
        };
        let restart = flag("restart", false);
        let required = flag("required", true);
        Some(DependsOn {
            condition: condition?,
            restart,
            required,
        })
    }

    /// A top-level volume: driver and labels, or `external` (with an optional real `name`).
    fn volume_decl(&mut self, p: &str, o: &serde_json::Map<String, Value>) -> Option<VolumeDecl> {
        for k in o.keys() {
            if !matches!(
                k.as_str(),
                "driver" | "driver_opts" | "labels" | "name" | "external"
            ) && !k.starts_with("x-")
            {
                self.err(
                    format!("{p}.{k}"),
                    "unsupported volume field; supported: driver, driver_opts, labels, name, external",
                );
            }
        }
        let driver = o
            .get("driver")
            .and_then(|d| self.string(&format!("{p}.driver"), d));
        let driver_opts = o
            .get("driver_opts")
            .map(|d| self.key_values(&format!("{p}.driver_opts"), d))
            .unwrap_or_default();
        let labels = o
            .get("labels")
            .map(|l| self.key_values(&format!("{p}.labels"), l))
            .unwrap_or_default();
        for k in labels.keys() {
            if k.starts_with("io.sdmd.") {
                self.err(
                    format!("{p}.labels.{k}"),
                    "labels under io.sdmd. are reserved for SDMD",
                );
            }
        }
        let name = o.get("name").and_then(|n| {
            let s = self.string(&format!("{p}.name"), n)?;
            if !super::is_volume_name(&s) {
                self.err(
                    format!("{p}.name"),
                    format!("`{s}` is not a valid Docker volume name"),
                );
            }
            Some(s)
        });
        let external = match o.get("external") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.err(format!("{p}.external"), "must be true or false");
                false
            }
        };
        if external && (driver.is_some() || !labels.is_empty() || !driver_opts.is_empty()) {
            // compose refuses this too: an external volume's settings are not SDMD's to make.
            self.err(
                p,
                "an external volume cannot also set driver, driver_opts or labels (it is not created by SDMD)",
            );
        }
        Some(VolumeDecl {
            driver,
            driver_opts,
            labels,
            name,
            external,
        })
    }

    fn member(&mut self, path: &str, v: &Value) -> Option<Member> {
        let Value::Object(map) = v else {
            self.err(path, "must be a map");
            return None;
        };
        let extensions = self.member_keys(path, map);
        let network = super::network::parse_member(self, path, map);
        let runtime = super::runtime::parse(self, path, map);
        let image = self.image(path, map);
        let container_name = self.container_name(path, map, runtime.replicas());
        let environment = map
            .get("environment")
            .map(|e| self.key_values(&format!("{path}.environment"), e))
            .unwrap_or_default();
        let labels = self.member_labels(path, map);
        let volumes = map
            .get("volumes")
            .map(|v| super::volumes::parse(self, &format!("{path}.volumes"), v))
            .unwrap_or_default();
        let ports = map
            .get("ports")
            .map(|v| super::ports::parse(self, &format!("{path}.ports"), v))
            .unwrap_or_default();
        let profiles = map
            .get("profiles")
            .map(|v| self.profiles(&format!("{path}.profiles"), v))
            .unwrap_or_default();
        let restart = map
            .get("restart")
            .and_then(|r| self.restart(&format!("{path}.restart"), r));
        let depends_on = map
            .get("depends_on")
            .map(|d| self.depends_on(&format!("{path}.depends_on"), d))
            .unwrap_or_default();
        let command = map
            .get("command")
            .and_then(|c| self.command(&format!("{path}.command"), c));
        let entrypoint = map
            .get("entrypoint")
            .and_then(|c| self.command(&format!("{path}.entrypoint"), c));
        let healthcheck = map
            .get("healthcheck")
            .and_then(|h| self.healthcheck(&format!("{path}.healthcheck"), h));
        let init = match map.get("init") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(format!("{path}.init"), "must be true or false");
                None
            }
        };
        let refs = |w: &mut Self, key: &str| {
            map.get(key)
                .map(|v| super::objects::parse_refs(w, &format!("{path}.{key}"), v))
                .unwrap_or_default()
        };
        let secrets = refs(self, "secrets");
        let configs = refs(self, "configs");
        Some(Member {
            image,
            container_name,
            environment,
            volumes,
            ports,
            profiles,
            restart,
            depends_on,
            command,
            entrypoint,
            labels,
            healthcheck,
            init,
            secrets,
            configs,
            network,
            runtime,
            extensions,
        })
    }

    /// Refuses the member fields SDMD does not know and returns its `x-` extensions.
    fn member_keys(&mut self, path: &str, map: &Map<String, Value>) -> IndexMap<String, Value> {
        const KNOWN: &[&str] = &[
            "image",
            "container_name",
            "environment",
            "volumes",
            "ports",
            "restart",
            "depends_on",
            "command",
            "entrypoint",
            "labels",
            "healthcheck",
            "init",
            "profiles",
            "secrets",
            "configs",
        ];
        let mut extensions = IndexMap::new();
        for (k, val) in map {
            let k = k.as_str();
            if k.starts_with("x-") {
                extensions.insert(k.to_owned(), val.clone());
            } else if !KNOWN.contains(&k)
                && !super::network::MEMBER_KEYS.contains(&k)
                && !super::runtime::KEYS.contains(&k)
            {
                self.err(format!("{path}.{k}"), unsupported_member_field(k));
            }
        }
        extensions
    }

    /// The member's required `image`, a valid image reference.
    fn image(&mut self, path: &str, map: &Map<String, Value>) -> String {
        let Some(i) = map.get("image") else {
            self.err(format!("{path}.image"), "is required");
            return String::new();
        };
        let s = self.string(&format!("{path}.image"), i).unwrap_or_default();
        if !s.is_empty() && !is_valid_image_ref(&s) {
            self.err(
                format!("{path}.image"),
                format!("`{s}` is not a valid image reference"),
            );
        }
        s
    }

    /// The member's `container_name`: the engine's name pattern, and only for a single
    /// container.
    fn container_name(
        &mut self,
        path: &str,
        map: &Map<String, Value>,
        replicas: u32,
    ) -> Option<String> {
        let container_name = map.get("container_name").and_then(|c| {
            let p = format!("{path}.container_name");
            let s = self.string(&p, c)?;
            let b = s.as_bytes();
            let ok = b.len() >= 2
                && b[0].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
            if !ok {
                self.err(
                    p,
                    format!("`{s}` is not a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)"),
                );
            }
            Some(s)
        });
        if container_name.is_some() && replicas > 1 {
            // Compose fails the same way (v2 before it creates anything, 1.29 at the second
            // container): every container needs a name of its own.
            self.err(
                format!("{path}.container_name"),
                format!(
                    "a fixed container name cannot be given to {replicas} containers (the member's scale): remove `container_name` to run replicas"
                ),
            );
        }
        container_name
    }

    /// The member's `labels`, none under SDMD's own `io.sdmd.` prefix.
    fn member_labels(&mut self, path: &str, map: &Map<String, Value>) -> IndexMap<String, String> {
        let labels = map
            .get("labels")
            .map(|e| self.key_values(&format!("{path}.labels"), e))
            .unwrap_or_default();
        for k in labels.keys() {
            if k.starts_with("io.sdmd.") {
                self.err(
                    format!("{path}.labels.{k}"),
                    "labels under io.sdmd. are reserved for SDMD",
                );
            }
        }
        labels
    }

    /// A member's `profiles`: compose-spec's profile names, each once.
    fn profiles(&mut self, path: &str, v: &Value) -> Vec<String> {
        let mut profiles = Vec::new();
        for (p, s) in self.string_list(path, v) {
            // compose-spec's profile name pattern.
            let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                self.err(
                    p,
                    format!("`{s}` is not a profile name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"),
                );
            } else if !profiles.contains(&s) {
                profiles.push(s);
            }
        }
        profiles
    }

    /// A member's `restart` policy, as written when it parses.
    fn restart(&mut self, path: &str, r: &Value) -> Option<String> {
        let s = self.string(path, r)?;
        match Restart::parse(&s) {
            Ok(_) => Some(s),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }
}

/// Why a member field is refused: what SDMD cannot do says so and what to do instead.
fn unsupported_member_field(k: &str) -> String {
    match k {
        "build" => "SDMD deploys images, it does not build them: build and push the image to a registry, then reference it with `image`".into(),
        "develop" => "`develop` (compose watch) needs the build context on the client; SDMD deploys images".into(),
        "extends" => "`extends` refers to other files SDMD was not given: inline the extended service".into(),
        "credential_spec" | "isolation" => format!("`{k}` is Windows-only"),
        _ => format!("`{k}` is not supported by SDMD (yet); see docs/service-format.md for the supported fields"),
    }
}

/// Validates a compose-style document (already decoded from JSON or YAML) and returns the
/// canonical definition, or every problem found.
pub fn parse(doc: &Value) -> Result<Definition, Vec<Problem>> {
    let mut w = Walker {
        problems: Vec::new(),
    };
    let Value::Object(root) = doc else {
        return Err(vec![Problem {
            field: "".into(),
            message: "the document must be a map".into(),
        }]);
    };
    let extensions = top_level_keys(&mut w, root);
    let name = document_name(&mut w, root);
    let volumes = volume_decls(&mut w, root.get("volumes"));
    let networks = super::network::parse_decls(&mut w, root.get("networks"));
    let secrets = super::objects::parse_decls(&mut w, Kind::Secret, root.get("secrets"));
    let configs = super::objects::parse_decls(&mut w, Kind::Config, root.get("configs"));
    let mut services = members(&mut w, root.get("services"));
    // Cross-member rules: references, uniqueness, cycles.
    let mut container_names: IndexMap<String, (String, u32)> = IndexMap::new();
    for (mname, m) in &services {
        check_member_refs(&mut w, mname, m, &services, &volumes);
        claim_container_names(&mut w, &mut container_names, &name, mname, m);
    }
    super::network::check_references(&mut w, &services, &networks);
    qualify_volumes_from(&mut w, &mut services);
    for (mname, m) in &services {
        check_file_refs(&mut w, mname, m, &secrets, &configs);
    }
    if let Some(cycle) = find_cycle(&services) {
        w.err(
            format!("services.{}.depends_on", cycle[0]),
            format!("dependency cycle: {}", cycle.join(" -> ")),
        );
    }
    if w.problems.is_empty() {
        Ok(Definition {
            name,
            services,
            volumes,
            networks,
            secrets,
            configs,
            extensions,
        })
    } else {
        Err(w.problems)
    }
}

/// Refuses the top-level fields SDMD does not know and returns the `x-` extensions.
fn top_level_keys(w: &mut Walker, root: &Map<String, Value>) -> IndexMap<String, Value> {
    let mut extensions = IndexMap::new();
    for (k, val) in root {
        if k.starts_with("x-") {
            if k == super::X_SDMD {
                x_sdmd(w, val);
            }
            extensions.insert(k.clone(), val.clone());
            continue;
        }
        // `version` is obsolete in compose but common in the wild: accepted and ignored.
        if !matches!(
            k.as_str(),
            "name" | "services" | "volumes" | "networks" | "secrets" | "configs" | "version"
        ) {
            w.err(
                k.clone(),
                "unsupported top-level field; supported: name, services, volumes, networks, secrets, configs",
            );
        }
    }
    extensions
}

/// Checks SDMD's own extension, `x-sdmd`: a map whose only key is `standard_environment`
/// (a boolean). Other `x-*` fields stay free, as compose allows.
fn x_sdmd(w: &mut Walker, val: &Value) {
    let Value::Object(map) = val else {
        w.err(
            super::X_SDMD,
            "must be a map (known key: standard_environment)",
        );
        return;
    };
    for (k, v) in map {
        let path = format!("{}.{k}", super::X_SDMD);
        match k.as_str() {
            "standard_environment" if !v.is_boolean() => w.err(path, "must be true or false"),
            "standard_environment" => {}
            _ => w.err(path, "unknown key of x-sdmd; known: standard_environment"),
        }
    }
}

/// The document's required, DNS-safe `name`.
fn document_name(w: &mut Walker, root: &Map<String, Value>) -> String {
    match root.get("name") {
        Some(Value::String(s)) => {
            if !is_dns_label(s) {
                w.err("name", format!("`{s}` is not DNS-safe: 1-63 lowercase letters, digits and '-', not starting or ending with '-'"));
            }
            s.clone()
        }
        Some(_) => {
            w.err("name", "must be a string");
            String::new()
        }
        None => {
            w.err("name", "is required");
            String::new()
        }
    }
}

/// The top-level `volumes` declarations.
fn volume_decls(w: &mut Walker, v: Option<&Value>) -> IndexMap<String, VolumeDecl> {
    let mut volumes = IndexMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (vname, decl) in map {
                let p = format!("volumes.{vname}");
                if !super::is_volume_name(vname) {
                    w.err(&p, format!("`{vname}` is not a valid volume name"));
                }
                match decl {
                    Value::Null => {
                        volumes.insert(vname.clone(), VolumeDecl::default());
                    }
                    Value::Object(o) => {
                        if let Some(d) = w.volume_decl(&p, o) {
                            volumes.insert(vname.clone(), d);
                        }
                    }
                    _ => w.err(&p, "must be a map or empty"),
                }
            }
        }
        Some(_) => w.err("volumes", "must be a map of volume names"),
    }
    volumes
}

/// The required `services`: at least one member, each with a DNS-safe name.
fn members(w: &mut Walker, v: Option<&Value>) -> IndexMap<String, Member> {
    let mut services = IndexMap::new();
    match v {
        Some(Value::Object(map)) if !map.is_empty() => {
            for (mname, spec) in map {
                let p = format!("services.{mname}");
                if !is_dns_label(mname) {
                    w.err(&p, format!("member name `{mname}` is not DNS-safe"));
                }
                if let Some(m) = w.member(&p, spec) {
                    services.insert(mname.clone(), m);
                }
            }
        }
        Some(Value::Object(_)) => w.err("services", "must have at least one member"),
        Some(_) => w.err("services", "must be a map of members"),
        None => w.err("services", "is required"),
    }
    services
}

/// A member's `depends_on` names other members and its named volumes are declared.
fn check_member_refs(
    w: &mut Walker,
    mname: &str,
    m: &Member,
    services: &IndexMap<String, Member>,
    volumes: &IndexMap<String, VolumeDecl>,
) {
    for dep in m.depends_on.keys() {
        if dep == mname {
            w.err(
                format!("services.{mname}.depends_on.{dep}"),
                "a member cannot depend on itself",
            );
        } else if !services.contains_key(dep) {
            w.err(
                format!("services.{mname}.depends_on.{dep}"),
                format!("unknown member `{dep}`"),
            );
        }
    }
    for (i, v) in m.volumes.iter().enumerate() {
        if let Ok(Mount::Named { volume, .. }) = v.mount()
            && !volumes.contains_key(&volume)
        {
            w.err(
                format!("services.{mname}.volumes[{i}]"),
                format!("volume `{volume}` is not declared under the top-level volumes"),
            );
        }
    }
}

/// Claims the container names of a member's replicas in `taken` (name → member, replica
/// number), refusing one another member's replica has already.
fn claim_container_names(
    w: &mut Walker,
    taken: &mut IndexMap<String, (String, u32)>,
    name: &str,
    mname: &str,
    m: &Member,
) {
    let cname = m
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{name}-{mname}"));
    // Replicas after the first are `<service>-<member>-<n>` (see `Definition::replica_name`).
    let names = std::iter::once((cname, 1))
        .chain((2..=m.runtime.replicas()).map(|n| (format!("{name}-{mname}-{n}"), n)));
    for (cname, n) in names {
        if let Some((other, on)) = taken.insert(cname.clone(), (mname.to_owned(), n)) {
            let whose = |m: &str, n: u32| {
                if n > 1 {
                    format!("member `{m}` (its replica {n})")
                } else {
                    format!("member `{m}`")
                }
            };
            w.err(
                format!("services.{mname}.container_name"),
                format!(
                    "container name `{cname}` of {} is also used by {}",
                    whose(mname, n),
                    whose(&other, on)
                ),
            );
        }
    }
}

/// `volumes_from` names a member when one has the bare name, else a container (compose's rule);
/// `service:` references and `ipc`/`pid: service:X` must name another member.
fn qualify_volumes_from(w: &mut Walker, services: &mut IndexMap<String, Member>) {
    let names: Vec<String> = services.keys().cloned().collect();
    for (mname, m) in services.iter_mut() {
        for (i, v) in m.runtime.volumes_from.iter_mut().enumerate() {
            if !v.starts_with("service:") && !v.starts_with("container:") {
                let name = v.split(':').next().unwrap_or_default();
                let kind = if names.iter().any(|n| n == name) {
                    "service"
                } else {
                    "container"
                };
                *v = format!("{kind}:{v}");
            }
            if let Some(rest) = v.strip_prefix("service:") {
                let target = rest.split(':').next().unwrap_or_default();
                let p = format!("services.{mname}.volumes_from[{i}]");
                if target == mname {
                    w.err(p, "a member cannot mount its own volumes");
                } else if !names.iter().any(|n| n == target) {
                    w.err(p, format!("unknown member `{target}`"));
                }
            }
        }
        for (key, mode) in [("ipc", &m.runtime.ipc), ("pid", &m.runtime.pid)] {
            if let Some(target) = mode.as_deref().and_then(|s| s.strip_prefix("service:")) {
                let p = format!("services.{mname}.{key}");
                if target == mname {
                    w.err(p, "a member cannot share its own namespace");
                } else if !names.iter().any(|n| n == target) {
                    w.err(p, format!("unknown member `{target}`"));
                }
            }
        }
    }
}

/// A member's secrets and configs: declared, at distinct paths that no volume or tmpfs also
/// takes, and copyable when they must be copied.
fn check_file_refs(
    w: &mut Walker,
    mname: &str,
    m: &Member,
    secrets: &IndexMap<String, FileObject>,
    configs: &IndexMap<String, FileObject>,
) {
    let mut taken: Vec<String> = m
        .volumes
        .iter()
        .filter_map(|v| v.mount().ok().map(|mt| mt.target().to_owned()))
        .chain(
            m.runtime
                .tmpfs
                .iter()
                .map(|t| t.split(':').next().unwrap_or_default().to_owned()),
        )
        .collect();
    for (kind, refs, decls) in [
        (Kind::Secret, &m.secrets, secrets),
        (Kind::Config, &m.configs, configs),
    ] {
        for (i, r) in refs.iter().enumerate() {
            let p = format!("services.{mname}.{}[{i}]", kind.key());
            let Some(decl) = decls.get(&r.source) else {
                w.err(
                    &p,
                    format!(
                        "`{}` is not declared under the top-level {}",
                        r.source,
                        kind.key()
                    ),
                );
                continue;
            };
            let target = r.container_path(kind);
            if taken.contains(&target) {
                // The engine refuses two mounts at one path; compose v2 silently drops the file.
                w.err(
                    &p,
                    format!("`{target}` is already used by another volume, secret or config of this member"),
                );
            }
            taken.push(target);
            let copied = decl.file.is_none() || r.shapes_file();
            if copied && m.runtime.read_only == Some(true) {
                w.err(
                    &p,
                    "this file is copied into the container before it starts (its content comes from a variable or inline, or it sets uid/gid/mode), which the engine refuses on a `read_only: true` root filesystem: use a `file:` source without uid/gid/mode (bind-mounted), or drop read_only",
                );
            }
        }
    }
}

/// Finds one dependency cycle (as a closed path) among known members, if any.
fn find_cycle(services: &IndexMap<String, Member>) -> Option<Vec<String>> {
    fn visit<'a>(
        n: &'a str,
        services: &'a IndexMap<String, Member>,
        stack: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|s| *s == n) {
            let mut cycle: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(&n) {
            return None;
        }
        stack.push(n);
        if let Some(m) = services.get(n) {
            for dep in m.dependencies() {
                let dep = dep.as_str();
                if dep != n
                    && let Some((dep, _)) = services.get_key_value(dep)
                    && let Some(c) = visit(dep, services, stack, done)
                {
                    return Some(c);
                }
            }
        }
        stack.pop();
        done.push(n);
        None
    }
    let mut done = Vec::new();
    for n in services.keys() {
        if let Some(c) = visit(n, services, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_compose_shapes() {
        let def = parse(&json!({
            "name": "whoami",
            "services": {
                "web": {
                    "image": "127.0.0.1:5000/demo/app:latest",
                    "environment": ["GREETING=hi", "EMPTY="],
                    "depends_on": ["db"],
                    "command": "httpd -f -p 80",
                    "healthcheck": {"test": "wget -q -T 2 -O- http://localhost/", "interval": "5s"}
                },
                "db": {"image": "127.0.0.1:5000/demo/db:1", "environment": {"PORT": 5432, "DEBUG": true}}
            }
        }))
        .expect("valid");
        let web = &def.services["web"];
        assert_eq!(
            web.environment.get("GREETING").map(String::as_str),
            Some("hi")
        );
        assert_eq!(web.depends_on["db"].condition, Condition::ServiceStarted);
        assert_eq!(
            web.command.as_deref(),
            Some(&["httpd".to_string(), "-f".into(), "-p".into(), "80".into()][..])
        );
        assert_eq!(
            web.healthcheck.as_ref().map(|h| h.test[0].as_str()),
            Some("CMD-SHELL")
        );
        assert_eq!(def.services["db"].environment["PORT"], "5432");
        assert_eq!(def.start_order(), vec!["db".to_string(), "web".into()]);
    }

    #[test]
    fn finds_cycles() {
        let err = parse(&json!({
            "name": "loop",
            "services": {
                "a": {"image": "x", "depends_on": ["b"]},
                "b": {"image": "x", "depends_on": ["c"]},
                "c": {"image": "x", "depends_on": ["a"]}
            }
        }))
        .expect_err("cycle");
        assert!(
            err.iter()
                .any(|p| p.message.contains("dependency cycle: a -> b -> c -> a")),
            "{err:?}"
        );
    }

    #[test]
    fn depends_on_long_form() {
        let def = parse(&json!({
            "name": "d",
            "services": {
                "init": {"image": "x"},
                "db": {"image": "x"},
                "web": {"image": "x", "depends_on": {
                    "init": {"condition": "service_completed_successfully"},
                    "db": {"condition": "service_healthy", "restart": true, "required": false}
                }}
            }
        }))
        .expect("valid");
        let web = &def.services["web"];
        assert_eq!(
            web.depends_on["init"],
            DependsOn::on(Condition::ServiceCompletedSuccessfully)
        );
        assert_eq!(
            web.depends_on["db"],
            DependsOn {
                condition: Condition::ServiceHealthy,
                restart: true,
                required: false
            }
        );
        // Defaults are not written out, so definitions stored before these fields hash the same.
        let stored = serde_json::to_value(&def.services["web"].depends_on["init"]).expect("json");
        assert_eq!(
            stored,
            json!({"condition": "service_completed_successfully"})
        );
        let old: DependsOn =
            serde_json::from_value(json!({"condition": "service_started"})).expect("old row");
        assert!(old.required && !old.restart);
        let err = parse(&json!({
            "name": "d",
            "services": {
                "db": {"image": "x"},
                "web": {"image": "x", "depends_on": {"db": {"condition": "service_done", "restart": "yes", "when": 1}}}
            }
        }))
        .expect_err("refused");
        for field in ["condition", "restart", "when"] {
            assert!(
                err.iter()
                    .any(|p| p.field == format!("services.web.depends_on.db.{field}")),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn healthcheck_parity() {
        let def = parse(&json!({
            "name": "h",
            "services": {"web": {"image": "x", "healthcheck": {
                "test": ["CMD", "true"], "start_period": "30s", "start_interval": "1s"
            }}}
        }))
        .expect("valid");
        assert_eq!(
            def.engine_requirements(),
            vec![(
                "services.web.healthcheck.start_interval".to_string(),
                "1.44"
            )]
        );
        for (hc, says) in [
            (
                json!({"disable": true, "interval": "5s"}),
                "cannot be combined",
            ),
            (
                json!({"test": ["CMD", "true"], "start_interval": "1s"}),
                "requires start_period",
            ),
        ] {
            let err = parse(
                &json!({"name": "h", "services": {"web": {"image": "x", "healthcheck": hc}}}),
            )
            .expect_err("refused");
            assert!(err.iter().any(|p| p.message.contains(says)), "{err:?}");
        }
    }

    #[test]
    fn profiles_select_members() {
        let def = parse(&json!({
            "name": "p",
            "services": {
                "web": {"image": "x"},
                "debug": {"image": "x", "profiles": ["debug"]},
                "tool": {"image": "x", "profiles": ["tools", "debug"], "depends_on": ["debug"]},
                "opt": {"image": "x", "depends_on": {"debug": {"required": false}}}
            }
        }))
        .expect("valid");
        assert_eq!(
            def.enabled_members(&[]),
            Ok(vec!["web".to_string(), "opt".into()])
        );
        assert_eq!(
            def.enabled_members(&["debug".into()]).map(|m| m.len()),
            Ok(4)
        );
        assert_eq!(def.enabled_members(&["*".into()]).map(|m| m.len()), Ok(4));
        // `tool` needs `debug`, which `tools` alone does not enable: compose calls this invalid.
        let err = def.enabled_members(&["tools".into()]).expect_err("invalid");
        assert_eq!(err[0].field, "services.tool.depends_on.debug");
        // Implicit dependencies are never optional: a member that joins a disabled member's
        // network namespace (or mounts its volumes) cannot run without it.
        let def = parse(&json!({
            "name": "p",
            "services": {
                "vpn": {"image": "x", "profiles": ["vpn"]},
                "app": {"image": "x", "network_mode": "service:vpn"},
                "backup": {"image": "x", "volumes_from": ["vpn"], "profiles": ["backup"]}
            }
        }))
        .expect("valid");
        let err = def.enabled_members(&[]).expect_err("app needs vpn");
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].field, "services.app");
        assert!(err[0].message.contains("`vpn`"), "{err:?}");
        let err = def
            .enabled_members(&["backup".into()])
            .expect_err("both need vpn");
        assert_eq!(err.len(), 2, "{err:?}");
        assert_eq!(
            def.enabled_members(&["vpn".into()]),
            Ok(vec!["vpn".to_string(), "app".into()])
        );
        let err =
            parse(&json!({"name": "p", "services": {"web": {"image": "x", "profiles": ["-bad"]}}}))
                .expect_err("bad name");
        assert_eq!(err[0].field, "services.web.profiles[0]");
    }
}
