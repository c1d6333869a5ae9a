//! The real Docker engine, driven through the CLI, and the local registry the test environment
//! runs. Everything a test creates carries the label `sdmd.test` and a unique name; leftovers of
//! earlier (crashed) runs are swept once per test binary, before its first app starts.

use std::process::Command;
use std::sync::Once;

use serde_json::Value;

/// Debian's CLI: its classic builder works offline (the newer CLI on PATH may lack buildx).
pub const DOCKER: &str = "/usr/bin/docker";
/// The local registry the test environment runs.
pub const REGISTRY: &str = "127.0.0.1:5000";

/// The docker CLI with the classic builder (`DOCKER_BUILDKIT=0`: works offline).
pub fn cli() -> Command {
    let mut c = Command::new(DOCKER);
    c.env("DOCKER_BUILDKIT", "0");
    c
}

/// Runs the docker CLI and returns stdout (panics with stderr on failure).
pub fn docker(args: &[&str]) -> String {
    let out = cli().args(args).output().expect("running docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the docker CLI, tolerating failure (cleanup).
pub fn docker_ok(args: &[&str]) -> bool {
    cli().args(args).output().is_ok_and(|o| o.status.success())
}

/// Ids of every container (running or not) SDMD labelled as `service`'s.
pub fn service_containers(service: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.sdmd.service={service}"),
    ])
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

/// Removes every container (and its anonymous volumes) SDMD labelled as `service`'s.
pub fn remove_service_containers(service: &str) {
    for id in service_containers(service) {
        docker_ok(&["rm", "-f", "-v", &id]);
    }
}

/// `docker inspect` of one object as JSON.
pub fn inspect(what: &str) -> Value {
    let v: Value = serde_json::from_str(&docker(&["inspect", what])).expect("inspect JSON");
    v[0].clone()
}

/// A container's environment as `docker inspect` shows it (`KEY=value` lines).
pub fn env_of(container: &str) -> Vec<String> {
    inspect(container)["Config"]["Env"]
        .as_array()
        .expect("Config.Env")
        .iter()
        .map(|v| v.as_str().expect("an Env line").to_owned())
        .collect()
}

/// A unique DNS-safe name for this test.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("t{}-{prefix}", &id[..8])
}

/// A random `10.231-239.x` prefix for a test's own subnets (`{prefix}.0/24`).
pub fn subnet_prefix() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    format!("10.{}.{}", 231 + b[0] % 9, b[1] % 254)
}

/// Builds an image from `dockerfile` (its context is empty) and pushes it to the local registry.
pub fn build_image(reference: &str, dockerfile: &str) {
    build_local(reference, dockerfile);
    docker(&["push", "-q", reference]);
}

/// Builds an image from `dockerfile` (its context is empty), tagged `reference`, not pushed.
pub fn build_local(reference: &str, dockerfile: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let out = cli()
        .args(["build", "-q", "-t", reference])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds an image from `local/busybox:1` that serves `body` over HTTP on port 80 and prints
/// `started <body>` on start, then pushes it to the local registry under `reference`.
pub fn build_http_image(reference: &str, body: &str, extra_dockerfile: &str) {
    build_image(
        reference,
        &format!(
            "FROM local/busybox:1\nRUN mkdir -p /www && echo '{body}' > /www/index.html\n{extra_dockerfile}\nLABEL sdmd.test=1\nCMD [\"sh\", \"-c\", \"echo started {body}; exec httpd -f -p 80 -h /www\"]\n"
        ),
    );
}

/// The stacks directory tests use: `<tmp>/sdmd-test-stacks-<pid>`, created on first use.
pub fn stacks_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sdmd-test-stacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

static SWEEP: Once = Once::new();

/// Checks the engine and the base image are there, then removes what earlier (crashed) runs left
/// behind: only objects created before this process. Once per test binary.
pub fn sweep_leftovers() {
    SWEEP.call_once(|| {
        preflight();
        // Containers of this process are seconds old; anything older than a minute is a leftover
        // (test binaries run one after another).
        let cutoff = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        for id in docker(&["ps", "-aq", "--filter", "label=sdmd.test"]).lines() {
            let created = docker(&["inspect", "-f", "{{.Created}}", id]);
            if !created.trim().is_empty() && created.trim() < cutoff.as_str() {
                docker_ok(&["rm", "-f", "-v", id]);
            }
        }
        docker_ok(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "label=sdmd.test",
            "--filter",
            "until=1m",
        ]);
        docker_ok(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "label=io.sdmd.service",
            "--filter",
            "until=10m",
        ]);
        docker_ok(&["volume", "prune", "-f", "--filter", "label=sdmd.test"]);
    });
}

/// Fails loudly (never skips) when the real parts are missing.
pub fn preflight() {
    let info = Command::new(DOCKER)
        .args(["info", "-f", "{{.ServerVersion}}"])
        .output();
    match info {
        Ok(o) if o.status.success() => {}
        _ => {
            panic!("Docker is not reachable: run `bash scripts/test-env.sh` (or `make test`) first")
        }
    }
    let img = Command::new(DOCKER)
        .args(["image", "inspect", "local/busybox:1"])
        .output();
    assert!(
        img.is_ok_and(|o| o.status.success()),
        "the base image local/busybox:1 is missing: run `bash scripts/test-env.sh` first"
    );
}

/// Runs docker-compose 1.29 (the reference the parity tests compare with) in `dir` as project
/// `project` (panics when it is not installed).
pub fn compose(dir: &std::path::Path, project: &str, args: &[&str]) -> std::process::Output {
    compose_output(
        compose_cli()
            .current_dir(dir)
            .args(["-p", project])
            .args(args),
    )
}

/// The docker-compose 1.29 CLI.
pub fn compose_cli() -> Command {
    Command::new("docker-compose")
}

/// Runs a [`compose_cli`] command (panics when docker-compose is not installed).
pub fn compose_output(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("docker-compose is not installed ({e}): run `bash scripts/test-env.sh` (installs the Debian package)")
    })
}
