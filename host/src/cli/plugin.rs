//! `sdmd plugin new|inspect|test`: author tooling that runs offline, in the same sandbox as the server.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::plugins::{Capability, Grants, Kind, Limits, Manifest, Runtime, RuntimeConfig};

/// Plugin author commands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Scaffold a Rust plugin from the SDK.
    New {
        /// Plugin id and directory name (a-z, 0-9, -).
        name: String,
        /// Which world it exports.
        #[arg(long, value_parser = parse_kind)]
        kind: Kind,
        /// Path to the `sdmd-plugin` SDK crate (default: found from this checkout).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Validate a component and print its manifest, world, WIT version and imports.
    Inspect {
        /// The `.wasm` component.
        file: PathBuf,
        /// A sidecar manifest overriding the embedded one.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Run a plugin once on sample input, offline, in the server's sandbox; print output, logs, duration.
    Test {
        /// The `.wasm` component.
        file: PathBuf,
        /// JSON input file in the shape of the plugin's kind (`-` for standard input).
        #[arg(long)]
        input: PathBuf,
        /// Settings as JSON, or `@file`.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Grant a capability: `http=<scheme://host[:port]>` (repeatable) or `registry`.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Per-call deadline in milliseconds.
        #[arg(long, default_value_t = Limits::default().deadline_ms)]
        deadline_ms: u64,
        /// A sidecar manifest overriding the embedded one.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    serde_json::from_value(Value::String(s.into()))
        .map_err(|_| format!("unknown kind {s:?} (update-strategy, health-check, notifier)"))
}

/// Run a plugin command.
pub async fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::New { name, kind, sdk } => scaffold(&name, kind, sdk),
        PluginCommand::Inspect { file, manifest } => {
            let rt = runtime()?;
            let i = rt
                .inspect(read(&file)?, sidecar(manifest.as_deref())?)
                .await?;
            println!("{}", serde_json::to_string_pretty(&i)?);
            Ok(())
        }
        PluginCommand::Test {
            file,
            input,
            config,
            grants,
            deadline_ms,
            manifest,
        } => {
            let rt = runtime()?;
            let input: Value =
                serde_json::from_slice(&read_input(&input)?).context("parsing the input JSON")?;
            let config: Value = match config.strip_prefix('@') {
                Some(path) => serde_json::from_slice(
                    &std::fs::read(path).with_context(|| format!("reading {path}"))?,
                )?,
                None => serde_json::from_str(&config).context("parsing --config")?,
            };
            let limits = Limits {
                deadline_ms,
                ..Limits::default()
            };
            let plugin = rt
                .load(
                    read(&file)?,
                    sidecar(manifest.as_deref())?,
                    parse_grants(&grants)?,
                    config,
                    limits,
                )
                .await?;
            let out = rt.invoke_json(&plugin, input).await;
            let failed = out.result.is_err();
            let report = json!({
                "output": out.result.as_ref().ok(),
                "error": out.result.as_ref().err().map(|e| json!({
                    "code": crate::plugins::store::error_code(e), "message": e.to_string()})),
                "logs": out.logs,
                "duration_ms": out.duration.as_secs_f64() * 1e3,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
            if failed {
                bail!("the plugin failed");
            }
            Ok(())
        }
    }
}

fn runtime() -> anyhow::Result<Runtime> {
    // Author tooling compiles fresh each run, in memory: nothing is written next to the user's files.
    let rt = Runtime::new(RuntimeConfig::default())?;
    // `--grant registry` talks to the real registry of the input's image (anonymously), like the server.
    let registry = crate::registry::Registry::new(std::time::Duration::from_secs(60));
    rt.set_registry(Arc::new(
        crate::plugins::registry_access::CoreRegistry::new(Arc::new(registry)),
    ));
    Ok(rt)
}

fn read(path: &Path) -> anyhow::Result<Arc<[u8]>> {
    Ok(std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))?
        .into())
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn sidecar(path: Option<&Path>) -> anyhow::Result<Option<Manifest>> {
    path.map(|p| {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        Ok(Manifest::from_json(&bytes)?)
    })
    .transpose()
}

/// `http=<pattern>` (repeatable) and `registry`.
fn parse_grants(specs: &[String]) -> anyhow::Result<Grants> {
    let mut g = Grants::default();
    for spec in specs {
        match spec.split_once('=') {
            Some(("http", pattern)) => {
                g.capabilities.insert(Capability::Http);
                g.http
                    .allow
                    .push(pattern.parse().map_err(anyhow::Error::msg)?);
            }
            None if spec == "http" => {
                g.capabilities.insert(Capability::Http);
            }
            None if spec == "registry" => {
                g.capabilities.insert(Capability::Registry);
            }
            _ => bail!("unknown grant {spec:?}: use http=<scheme://host[:port]> or registry"),
        }
    }
    Ok(g)
}

fn find_sdk() -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let sdk = d.join("plugins/sdk");
        if sdk.join("Cargo.toml").exists() {
            return Some(sdk);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    // The checkout this binary was built from.
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
    built
        .join("Cargo.toml")
        .exists()
        .then(|| built.canonicalize().unwrap_or(built))
}

fn scaffold(name: &str, kind: Kind, sdk: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = PathBuf::from(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let sdk = match sdk.or_else(find_sdk) {
        Some(p) => p,
        None => bail!(
            "cannot find the sdmd-plugin SDK: pass --sdk <path to plugins/sdk of an SDMD checkout>"
        ),
    };
    let sdk = sdk.canonicalize().unwrap_or(sdk);
    let (capabilities, schema, body) = template(kind);
    let manifest = json!({
        "id": name, "name": name, "version": "0.1.0", "kinds": [kind], "description": "",
        "wit": "0.1.0", "capabilities": capabilities, "config_schema": schema,
    });
    // Validate what we are about to write, so `new` never scaffolds something the host refuses.
    Manifest::from_json(manifest.to_string().as_bytes())?;
    std::fs::create_dir_all(dir.join("src"))?;
    let cargo = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

# Not part of any enclosing workspace.
[workspace]

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
sdmd-plugin = {{ path = "{sdk}", features = ["{world}"] }}

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
"#,
        sdk = sdk.display(),
        world = kind.world(),
    );
    std::fs::write(dir.join("Cargo.toml"), cargo)?;
    std::fs::write(
        dir.join("plugin.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    std::fs::write(dir.join("src/lib.rs"), body)?;
    let sample = match kind {
        Kind::UpdateStrategy => {
            json!({"current": {"reference": "r/app:1.0.0", "repository": "r/app", "tag": "1.0.0"},
                                       "candidates": [{"tag": "1.0.1"}, {"tag": "2.0.0"}]})
        }
        Kind::HealthCheck => {
            json!({"service": {"name": "demo"}, "containers": [{"name": "demo-web", "state": "running"}], "attempt": 0})
        }
        Kind::Notifier => {
            json!({"kind": "updated", "service": {"name": "demo"}, "summary": "demo updated to 1.0.1",
                                 "timestamp": "2026-01-01T00:00:00Z"})
        }
    };
    std::fs::write(
        dir.join("sample.json"),
        serde_json::to_string_pretty(&sample)? + "\n",
    )?;
    let crate_file = name.replace('-', "_");
    println!("created {name}/ ({kind} plugin). Next:");
    println!("  cd {name} && cargo build --release --target wasm32-wasip2");
    println!(
        "  sdmd plugin test target/wasm32-wasip2/release/{crate_file}.wasm --input sample.json"
    );
    Ok(())
}

fn template(kind: Kind) -> (BTreeSet<Capability>, Value, &'static str) {
    let base = BTreeSet::from([Capability::Log, Capability::Config]);
    match kind {
        Kind::UpdateStrategy => (
            base,
            json!({"type": "object", "properties": {"allow_major": {"type": "boolean", "default": false}}}),
            r#"//! An SDMD update strategy.

use sdmd_plugin::{Decision, StrategyInput, UpdateStrategy, config, log};

struct Strategy;

impl UpdateStrategy for Strategy {
    fn decide(input: StrategyInput) -> Result<Decision, String> {
        let allow_major: bool = config::get_or("allow_major", false)?;
        log::info(format!("{} candidates, allow_major = {allow_major}", input.candidates.len()));
        // Replace with your policy: here, the last candidate the host offers wins.
        match input.candidates.last() {
            Some(c) if Some(&c.tag) != input.current.tag.as_ref() => Ok(Decision::UpdateTo(c.clone())),
            _ => Ok(Decision::Skip("nothing newer".into())),
        }
    }
}

sdmd_plugin::export_update_strategy!(Strategy, manifest = "../plugin.json");
"#,
        ),
        Kind::HealthCheck => (
            base,
            json!({"type": "object", "properties": {"max_restarts": {"type": "integer", "default": 0, "minimum": 0}}}),
            r#"//! An SDMD health check.

use sdmd_plugin::{Health, HealthCheck, HealthInput, config};

struct Check;

impl HealthCheck for Check {
    fn check(input: HealthInput) -> Result<Health, String> {
        let max_restarts: u32 = config::get_or("max_restarts", 0)?;
        if let Some(c) = input.containers.iter().find(|c| c.restart_count > max_restarts) {
            return Ok(Health::Unhealthy(format!("{} restarted {} times", c.name, c.restart_count)));
        }
        // The default: every container running and not reported unhealthy by Docker.
        Ok(Self::containers_ok(&input))
    }
}

sdmd_plugin::export_health_check!(Check, manifest = "../plugin.json");
"#,
        ),
        Kind::Notifier => (
            base,
            json!({"type": "object", "properties": {"prefix": {"type": "string", "default": ""}}}),
            r#"//! An SDMD notifier. Add "http" to the manifest's capabilities to deliver somewhere real.

use sdmd_plugin::{Event, Notifier, config, log};

struct Notify;

impl Notifier for Notify {
    fn deliver(event: Event) -> Result<(), String> {
        let prefix: String = config::get_or("prefix", String::new())?;
        log::info(format!("{prefix}{}", Self::text(&event)));
        Ok(())
    }
}

sdmd_plugin::export_notifier!(Notify, manifest = "../plugin.json");
"#,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        let g = parse_grants(&["http=http://127.0.0.1:8080".into(), "registry".into()])
            .expect("grants");
        assert_eq!(
            g.capabilities,
            BTreeSet::from([Capability::Http, Capability::Registry])
        );
        assert_eq!(g.http.allow.len(), 1);
        assert!(parse_grants(&["fs=/".into()]).is_err());
        assert!(parse_grants(&["http=ntfy.sh".into()]).is_err());
    }

    #[test]
    fn templates_have_valid_manifests() {
        for kind in [Kind::UpdateStrategy, Kind::HealthCheck, Kind::Notifier] {
            let (caps, schema, _) = template(kind);
            let m = json!({"id": "x", "name": "x", "version": "0.1.0", "kinds": [kind], "wit": "0.1.0",
                           "capabilities": caps, "config_schema": schema});
            assert!(
                Manifest::from_json(m.to_string().as_bytes()).is_ok(),
                "{kind}"
            );
        }
    }
}
