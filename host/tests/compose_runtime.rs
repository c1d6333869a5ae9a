//! Privileges, resources and process attributes: SDMD creates the same container as docker-compose
//! 1.29 (the reference on this machine) for the same file. (Adopting `docker run` containers with
//! these flags: `adopt_fidelity.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::docker::compose;
use support::{TestApp, docker, docker_ok, inspect, unique};

/// A second member with the rest of the attributes this engine can run.
const SYSTEM: &str = r#"
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    labels: {sdmd.test: "1"}
    pid: host
    cpu_quota: 50000
    cpu_period: 100000
    cpuset: "0"
    mem_limit: 32m
    mem_swappiness: 10
    oom_kill_disable: true
    device_cgroup_rules: ["c 1:3 mr"]
    userns_mode: host
    cgroup_parent: sdmd-test
    runtime: runc
    platform: linux/amd64
    # Whole seconds: 1.29 sends 1.5 for 1500ms, which the engine refuses (v2 truncates to 1; the
    # unit tests cover that).
    stop_grace_period: 2s
    logging: {driver: none}
    deploy:
      restart_policy: {condition: on-failure, max_attempts: 2}
"#;

/// The members' shared service body (compose 1.29 gets it without SDMD's `name`).
const MONITORING: &str = r#"
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    labels: {sdmd.test: "1"}
    cap_add: [NET_ADMIN, SYS_PTRACE]
    cap_drop: [MKNOD]
    user: "1000:1000"
    read_only: true
    tmpfs: ["/run:size=1m", "/tmp"]
    mem_limit: 64m
    memswap_limit: 128m
    cpus: 0.5
    cpu_shares: 512
    pids_limit: 100
    shm_size: 128m
    ulimits: {nofile: 2048, nproc: {soft: 512, hard: 1024}}
    sysctls: {net.core.somaxconn: 1024}
    security_opt: ["no-new-privileges:true"]
    logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
    working_dir: /tmp
    stop_signal: SIGINT
    stop_grace_period: 3s
    devices: ["/dev/null:/dev/xnull"]
    group_add: ["100"]
    oom_score_adj: 100
    ipc: shareable
    tty: true
    stdin_open: true
    deploy:
      resources:
        limits: {memory: 96m, cpus: "0.25"}
        reservations: {memory: 16m}
"#;

const HOST_FIELDS: &[&str] = &[
    "CapAdd",
    "CapDrop",
    "Privileged",
    "ReadonlyRootfs",
    "Tmpfs",
    "Memory",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "PidsLimit",
    "ShmSize",
    "Ulimits",
    "Sysctls",
    "SecurityOpt",
    "LogConfig",
    "Devices",
    "DeviceCgroupRules",
    "GroupAdd",
    "OomScoreAdj",
    "OomKillDisable",
    "IpcMode",
    "PidMode",
    "UTSMode",
    "UsernsMode",
    "CgroupnsMode",
    "CgroupParent",
    "Runtime",
    "Init",
    "MaskedPaths",
    "ReadonlyPaths",
    "RestartPolicy",
];

const CONFIG_FIELDS: &[&str] = &[
    "User",
    "WorkingDir",
    "StopSignal",
    "StopTimeout",
    "Tty",
    "OpenStdin",
];

/// Absent, null, empty and zero are the same setting; lists of named things are compared sorted.
fn norm(field: &str, v: Option<&Value>) -> Value {
    let v = v.cloned().unwrap_or(Value::Null);
    match &v {
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Number(n) if n.as_i64() == Some(0) => Value::Null,
        Value::Bool(false) => Value::Null,
        Value::Array(a) if field == "Ulimits" => {
            let mut a = a.clone();
            a.sort_by_key(|u| u["Name"].as_str().unwrap_or_default().to_owned());
            Value::Array(a)
        }
        // The engine reports a policy that was never set as {"Name": ""}: the same as "no".
        Value::Object(o) if field == "RestartPolicy" => {
            match (
                o.get("Name").and_then(Value::as_str),
                o.get("MaximumRetryCount"),
            ) {
                (Some("" | "no") | None, _) => Value::Null,
                _ => v.clone(),
            }
        }
        _ => v,
    }
}

fn settings(c: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for f in HOST_FIELDS {
        out.push((format!("HostConfig.{f}"), norm(f, c["HostConfig"].get(*f))));
    }
    for f in CONFIG_FIELDS {
        out.push((format!("Config.{f}"), norm(f, c["Config"].get(*f))));
    }
    out
}

fn assert_same(reference: &Value, ours: &Value, what: &str) {
    let (a, b) = (settings(reference), settings(ours));
    let diff: Vec<_> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|((f, x), (_, y))| format!("{f}: reference {x} vs SDMD {y}"))
        .collect();
    assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
}

#[sqlx::test(migrations = "../migrations")]
async fn compose_and_sdmd_create_the_same_container(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("rtmon");
    let project = name.replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        format!("services:\n  mon:{MONITORING}\n  sys:{SYSTEM}"),
    )
    .unwrap();
    let yaml = format!("name: {name}\nservices:\n  mon:{MONITORING}\n  sys:{SYSTEM}");

    let dir_path = dir.path().to_owned();
    let p = project.clone();
    let reference = tokio::task::spawn_blocking(move || compose(&dir_path, &p, &["up", "-d"]));
    let ours = async {
        let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
            .await
    };
    let (out, deployed) = tokio::join!(reference, ours);
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "docker-compose up failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        deployed["created"].as_array().map(Vec::len),
        Some(2),
        "{deployed}"
    );

    let theirs = inspect(&format!("{project}_mon_1"));
    let ours = inspect(&format!("{name}-mon"));
    assert_same(&theirs, &ours, "compose 1.29 vs SDMD");
    let sys = inspect(&format!("{name}-sys"));
    assert_same(
        &inspect(&format!("{project}_sys_1")),
        &sys,
        "compose 1.29 vs SDMD (sys)",
    );
    assert_eq!(
        sys["HostConfig"]["RestartPolicy"],
        json!({"Name": "on-failure", "MaximumRetryCount": 2})
    );
    assert_eq!(sys["Config"]["StopTimeout"], 2);
    // What the file asked for, spelled out (deploy.resources wins over mem_limit/cpus, as in
    // compose v2; 1.29 agrees here).
    let h = &ours["HostConfig"];
    assert_eq!(h["Memory"], 96 << 20);
    assert_eq!(h["NanoCpus"], 250_000_000);
    assert_eq!(h["MemoryReservation"], 16 << 20);
    assert_eq!(h["ShmSize"], 128 << 20);
    assert_eq!(h["Tmpfs"], json!({"/run": "size=1m", "/tmp": ""}));
    assert_eq!(h["Devices"][0]["CgroupPermissions"], "rwm");
    assert_eq!(ours["Config"]["StopTimeout"], 3);
    assert_eq!(ours["Config"]["StopSignal"], "SIGINT");
    // The container really runs under these settings.
    assert_eq!(
        docker(&["exec", &format!("{name}-mon"), "sh", "-c", "id -u"]).trim(),
        "1000"
    );
    assert_eq!(
        docker(&["exec", &format!("{name}-mon"), "sh", "-c", "ulimit -n"]).trim(),
        "2048"
    );

    // Stop goes through the member's grace period (3 s) and its stop signal.
    app.ok(Method::POST, &format!("/api/v1/services/{name}/stop"))
        .await;
    let state = inspect(&format!("{name}-mon"));
    assert_eq!(state["State"]["Running"], false);

    let dir_path = dir.path().to_owned();
    let p = project.clone();
    let down = tokio::task::spawn_blocking(move || compose(&dir_path, &p, &["down", "-v"]));
    let (_, down) = tokio::join!(app.cleanup(&name), down);
    assert!(down.unwrap().status.success());
}

/// `post_start` and `pre_stop` run in the container as compose v2's lifecycle hooks do (an exec
/// each, with their own user and environment), around deploy, stop, start and a recreate; a
/// failing hook fails the operation with its exit code and output. `pull_policy: always` pulls on
/// every deploy and recreates the member when the image its tag names changed.
#[sqlx::test(migrations = "../migrations")]
async fn lifecycle_hooks_and_pull_policy_always(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("hooks");
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        data.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let image = format!("127.0.0.1:5000/sdmd-test/pullalways:{name}");
    support::build_image(&image, "FROM local/busybox:1\nLABEL sdmd.test=1 v=1\n");
    let v1 = inspect(&image)["Id"].as_str().unwrap().to_owned();
    let yaml = |extra: &str| {
        format!(
            r#"name: {name}
services:
  app:
    image: {image}
    pull_policy: always
    command: ["sleep", "300"]
    init: true
    labels: {{sdmd.test: "1"}}
    volumes: ["{data}:/data"]
    environment: {{WHO: app}}
    post_start:
      # `$$`: the shell's variables, not compose's (interpolation happens first, as in compose).
      - command: sh -c 'echo "$$GREETING $$WHO $$(id -u)" >> /data/started'
        user: "1000"
        environment: {{GREETING: hello}}
    pre_stop:
      - command: ["sh", "-c", "echo bye >> /data/stopped"]
{extra}"#,
            data = data.path().display()
        )
    };
    let (s, v) = app.post_yaml("/api/v1/services", &yaml("")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let deployed = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(deployed["created"], json!(["app"]), "{deployed}");
    let read = |f: &str| std::fs::read_to_string(data.path().join(f)).unwrap_or_default();
    assert_eq!(read("started"), "hello app 1000\n");
    assert_eq!(read("stopped"), "");

    // Stop runs pre_stop (in the running container), start runs post_start again.
    app.ok(Method::POST, &format!("/api/v1/services/{name}/stop"))
        .await;
    assert_eq!(read("stopped"), "bye\n");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/start"))
        .await;
    assert_eq!(read("started").lines().count(), 2);

    // A new image under the same tag in the registry, the local tag still on v1: a deploy
    // pulls it (always) and recreates the member on it, stopping the old one through pre_stop.
    support::build_image(&image, "FROM local/busybox:1\nLABEL sdmd.test=1 v=2\n");
    let v2 = inspect(&image)["Id"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    docker(&["tag", &v1, &image]);
    let again = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(again["recreated"], json!(["app"]), "{again}");
    assert_eq!(inspect(&format!("{name}-app"))["Image"], v2);
    assert_eq!(read("stopped"), "bye\nbye\n");
    assert_eq!(read("started").lines().count(), 3);
    // Nothing changed since: the pull finds the same image and the container stays.
    let same = app
        .ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    assert_eq!(same["unchanged"], json!(["app"]), "{same}");

    // A failing hook fails the deploy with what it printed; the container it ran in stays.
    let broken = yaml(
        r#"  broken:
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    labels: {sdmd.test: "1"}
    post_start:
      - command: sh -c 'echo cannot warm the cache; exit 3'
"#,
    );
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &broken)
        .await;
    assert!(s.is_success(), "{v}");
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "hook_failed", "{v}");
    assert_eq!(v["details"]["member"], "broken");
    assert_eq!(v["details"]["hook"], "post_start");
    assert_eq!(v["details"]["exit_code"], 3);
    assert!(
        v["details"]["output"]
            .as_str()
            .unwrap()
            .contains("cannot warm the cache"),
        "{v}"
    );
    assert_eq!(inspect(&format!("{name}-broken"))["State"]["Running"], true);

    // Delete (compose's down) runs pre_stop too.
    app.cleanup(&name).await;
    assert_eq!(read("stopped"), "bye\nbye\nbye\n");
    docker_ok(&["rmi", &image]);
    docker_ok(&["rmi", &v1]);
}

/// `SDMD_POLICY` (opt-in): a definition that breaks it is refused with 422 naming each field
/// and nothing is stored; a policy tightened after a service was stored refuses its deploy
/// (nothing is created) while delete keeps working.
#[sqlx::test(migrations = "../migrations")]
async fn the_host_policy_refuses_what_it_forbids(pool: sqlx::PgPool) {
    use sdmd::spec::policy::Policy;
    let mut app = TestApp::new(pool).await;
    let allowed = tempfile::tempdir().unwrap();
    let set_policy = |app: &mut TestApp, policy: Policy| {
        app.state.policy = std::sync::Arc::new(policy);
        app.router = sdmd::api::app(app.state.clone());
    };
    set_policy(
        &mut app,
        Policy {
            forbid_privileged: true,
            forbid_docker_socket: true,
            allowed_bind_roots: vec![allowed.path().display().to_string()],
            allowed_capabilities: Some(vec!["NET_BIND_SERVICE".into()]),
            ..Policy::default()
        },
    );
    let name = unique("policy");
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!(
                r#"name: {name}
services:
  agent:
    image: local/busybox:1
    privileged: true
    cap_add: [NET_BIND_SERVICE, SYS_ADMIN]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - {ok}:/data
      - /etc:/host-etc:ro
"#,
                ok = allowed.path().display()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "policy_violation", "{v}");
    let fields: Vec<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in [
        "services.agent.privileged",
        "services.agent.cap_add[1]",
        "services.agent.volumes[0]",
        "services.agent.volumes[2]",
    ] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    assert!(!fields.contains(&"services.agent.volumes[1]"), "{fields:?}");
    let (s, _) = app.get(&format!("/api/v1/services/{name}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored");

    // Allowed under this policy; a later, stricter one refuses the deploy.
    let yaml = format!(
        "name: {name}\nservices:\n  top:\n    image: local/busybox:1\n    command: [sleep, '300']\n    init: true\n    labels: {{sdmd.test: '1'}}\n    pid: host\n"
    );
    let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    set_policy(
        &mut app,
        Policy {
            forbid_host_namespaces: true,
            ..Policy::default()
        },
    );
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "policy_violation", "{v}");
    assert_eq!(v["details"][0]["field"], "services.top.pid", "{v}");
    assert!(
        support::service_containers(&name).is_empty(),
        "nothing created"
    );
    let (s, v) = app.delete_service(&name, true).await;
    assert!(s.is_success(), "{v}");
}

/// Attributes this engine's API (1.41) would silently ignore are refused by the deploy with the
/// version they need, and nothing is created: `annotations` (1.43), a health check's
/// `start_interval` (1.44).
#[sqlx::test(migrations = "../migrations")]
async fn attributes_newer_than_the_engine_are_refused_at_deploy(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("newapi");
    let yaml = format!(
        r#"name: {name}
services:
  m:
    image: local/busybox:1
    command: ["sleep", "300"]
    init: true
    labels: {{sdmd.test: "1"}}
    annotations: {{com.example.trace: "on"}}
    healthcheck: {{test: ["CMD", "true"], start_period: 30s, start_interval: 1s}}
"#
    );
    let (s, v) = app.post_yaml("/api/v1/services", &yaml).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "stored: the engine decides at deploy: {v}"
    );
    let (s, v) = app.post(&format!("/api/v1/services/{name}/deploy")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let problems = v["details"].as_array().unwrap();
    let says = |field: &str, version: &str| {
        problems.iter().any(|p| {
            p["field"] == field && p["message"].as_str().unwrap_or_default().contains(version)
        })
    };
    assert!(says("services.m.annotations", "1.43"), "{v}");
    assert!(says("services.m.healthcheck.start_interval", "1.44"), "{v}");
    assert!(
        support::service_containers(&name).is_empty(),
        "nothing created"
    );
    app.cleanup(&name).await;
}
