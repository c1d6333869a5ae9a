//! Lossless adopt of `docker run` containers (issue 10, item 5): one container per flag group of
//! the service model — networking (custom network with alias and static address, `host`, `none`,
//! `container:`, host name, DNS, extra hosts), privileges, resources, process settings, mounts —
//! is adopted, deployed by SDMD, and the normalised `docker inspect` of SDMD's container equals
//! the original's field by field (`support/inspect_normalise.rs`, plus the three adopt rules in
//! [`comparable`]). Data written to named and anonymous volumes before the adopt is still there
//! after the deploy. A container with settings outside the model is refused with 422 naming each
//! one (nothing stored) and adopted with `accept_loss=true`, which lists what it dropped.
//!
//! The containers are created in parallel and the services deployed concurrently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/inspect_normalise.rs"]
mod inspect_normalise;
mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use inspect_normalise::{Naming, diff, normalise};
use serde_json::{Value, json};
use support::{
    CatchUnwind, TestApp, docker, docker_ok, eventually, inspect, subnet_prefix, unique,
};

/// The normalised inspect, with the things adopt changes by design made equal:
/// - an anonymous volume is mounted again *by name* (that is how its data survives), so SDMD's
///   container names it in `Binds`/`Mounts` where the original had it only in `Config.Volumes`:
///   binds of `<anon>` volumes and the `<anon>` (or empty) source of a volume mount are dropped
///   (`Mounts`, compared in full, shows the same volume at the same path);
/// - a volume bound without a mode gets the engine's `z` (`Mounts[].Mode` shows it), which the
///   adopted definition writes out (SDMD would otherwise send `rw`);
/// - `docker run` records the default bridge as `NetworkMode: default`, which is `bridge`;
/// - on a user-defined network the container name is an alias (SDMD adds the member name, here
///   the container name); the engine's DNS resolves container names there anyway.
fn comparable(c: &Value, naming: &Naming) -> Value {
    let mut n = normalise(c, naming);
    let name = c["Name"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/');
    if let Some(h) = n.get_mut("HostConfig").and_then(Value::as_object_mut) {
        if let Some(Value::Array(binds)) = h.get_mut("Binds") {
            binds.retain(|b| !b.as_str().unwrap_or_default().starts_with("<anon>:"));
            for b in binds.iter_mut() {
                let s = b.as_str().unwrap_or_default().to_owned();
                if !s.starts_with('/') && s.split(':').count() == 2 {
                    *b = json!(format!("{s}:z"));
                }
            }
            if binds.is_empty() {
                h.remove("Binds");
            }
        }
        if let Some(Value::Array(ms)) = h.get_mut("Mounts") {
            for m in ms.iter_mut().filter_map(Value::as_object_mut) {
                if matches!(m.get("Source").and_then(Value::as_str), Some("<anon>" | "")) {
                    m.remove("Source");
                }
            }
        }
        if h.get("NetworkMode").and_then(Value::as_str) == Some("default") {
            h.insert("NetworkMode".into(), json!("bridge"));
        }
    }
    if let Some(nets) = n.get_mut("Networks").and_then(Value::as_object_mut) {
        for ep in nets.values_mut().filter_map(Value::as_object_mut) {
            if let Some(Value::Array(a)) = ep.get_mut("Aliases") {
                a.retain(|x| x.as_str() != Some(name));
                if a.is_empty() {
                    ep.remove("Aliases");
                }
            }
        }
    }
    n
}

fn naming(c: &Value, holder: &Value) -> Naming {
    let mut n = Naming::default();
    n.add_container(c, "self");
    n.add_container(holder, "holder");
    n
}

/// `docker run -d` of every case at once.
async fn run_all(cases: &[(String, Vec<String>)]) {
    let runs = cases.iter().map(|(name, args)| {
        let mut full: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            name.clone(),
            "--label".into(),
            "sdmd.test=1".into(),
        ];
        full.extend(args.iter().cloned());
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = full.iter().map(String::as_str).collect();
            docker(&refs)
        })
    });
    for r in futures_util::future::join_all(runs).await {
        r.unwrap();
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn docker_run_flag_groups_survive_adopt_and_deploy(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let base = unique("af");
    let net = format!("{base}-net");
    let vol = format!("{base}-vol");
    let prefix = subnet_prefix();
    let holder = format!("{base}-holder");
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("conf"), "from the host\n").unwrap();
    let hd = host_dir.path().to_string_lossy().into_owned();
    docker(&[
        "network",
        "create",
        "--label",
        "sdmd.test=1",
        "--subnet",
        &format!("{prefix}.0/24"),
        &net,
    ]);
    // Not adopted: the network namespace `container:` joins (a deploy must not replace it).
    docker(&[
        "run",
        "-d",
        "--name",
        &holder,
        "--label",
        "sdmd.test=1",
        "--init",
        "local/busybox:1",
        "sleep",
        "3600",
    ]);
    let sleep = ["local/busybox:1", "sleep", "3600"];
    let case_with = |suffix: &str, flags: &[&str], tail: &[&str]| {
        let mut args = strs(&["--init"]);
        args.extend(strs(flags));
        args.extend(strs(tail));
        (format!("{base}-{suffix}"), args)
    };
    let case = |suffix: &str, flags: &[&str]| case_with(suffix, flags, &sleep);
    let cases = vec![
        case(
            "net",
            &[
                "--network",
                &net,
                "--network-alias",
                "api",
                "--ip",
                &format!("{prefix}.20"),
                "--hostname",
                "myhost",
                "--domainname",
                "example.test",
                "--dns",
                "10.231.250.53",
                "--dns-search",
                "example.test",
                "--dns-option",
                "ndots:2",
                "--add-host",
                "db:10.231.250.3",
                "--expose",
                "9000",
                "-p",
                "127.0.0.1::8080",
            ],
        ),
        case(
            "bridge",
            &[
                "-p",
                "127.0.0.1::80",
                "-p",
                "127.0.0.1::53/udp",
                "--hostname",
                "b",
                "--mac-address",
                "02:11:22:33:44:55",
            ],
        ),
        case("host", &["--network", "host"]),
        case("none", &["--network", "none"]),
        case("shared", &["--network", &format!("container:{holder}")]),
        case(
            "priv",
            &[
                "--cap-add",
                "NET_ADMIN",
                "--cap-add",
                "SYS_PTRACE",
                "--cap-drop",
                "MKNOD",
                "--user",
                "1000:1000",
                "--group-add",
                "100",
                "--read-only",
                "--device",
                "/dev/null:/dev/xnull",
                "--device",
                "/dev/zero:/dev/z:r",
                "--device-cgroup-rule",
                "c 1:3 mr",
                "--security-opt",
                "no-new-privileges",
                "--security-opt",
                "seccomp=unconfined",
                "--security-opt",
                "systempaths=unconfined",
                "--userns",
                "host",
            ],
        ),
        case(
            "res",
            &[
                "--cpus",
                "0.5",
                "--cpu-shares",
                "512",
                "--cpuset-cpus",
                "0",
                "--memory",
                "64m",
                "--memory-reservation",
                "16m",
                "--memory-swap",
                "128m",
                "--memory-swappiness",
                "10",
                "--pids-limit",
                "50",
                "--shm-size",
                "32m",
                "--ulimit",
                "nofile=1024:2048",
                "--ulimit",
                "nproc=512",
                "--sysctl",
                "net.core.somaxconn=1024",
                "--oom-score-adj",
                "50",
                "--oom-kill-disable",
            ],
        ),
        case_with(
            "proc",
            &[
                "--tmpfs",
                "/run:size=1m",
                "--tmpfs",
                "/tmp",
                "--log-driver",
                "json-file",
                "--log-opt",
                "max-size=10m",
                "--log-opt",
                "max-file=3",
                "--stop-signal",
                "SIGINT",
                "--stop-timeout",
                "4",
                "--workdir",
                "/tmp",
                "-t",
                "-i",
                "--restart",
                "on-failure:2",
                "-e",
                "FOO=bar",
                "--label",
                "tier=x",
                "--ipc",
                "shareable",
                "--pid",
                "host",
                "--cgroupns",
                "private",
                "--cgroup-parent",
                "sdmd-test",
                "--cpu-period",
                "100000",
                "--cpu-quota",
                "50000",
                "--health-cmd",
                "true",
                "--health-interval",
                "30s",
                "--health-retries",
                "2",
                "--entrypoint",
                "sleep",
            ],
            &["local/busybox:1", "3600"],
        ),
        case(
            "mounts",
            &[
                "-v",
                &format!("{vol}:/data"),
                "-v",
                "/anon",
                "-v",
                &format!("{hd}:/h:ro"),
                "--mount",
                "type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=1770",
                "--mount",
                "type=volume,dst=/anon2,volume-nocopy",
                "--mount",
                &format!("type=bind,src={hd},dst=/b,readonly,bind-propagation=rprivate"),
            ],
        ),
    ];
    let mut cases = cases;
    let lossy = format!("{base}-lossy");
    cases.push((
        lossy.clone(),
        strs(&[
            "--init",
            "--cpuset-mems",
            "0",
            "-e",
            "X=1",
            "local/busybox:1",
            "sleep",
            "3600",
        ]),
    ));
    let names: Vec<String> = cases.iter().map(|(n, _)| n.clone()).collect();

    let result = std::panic::AssertUnwindSafe(async {
        run_all(&cases).await;
        let mounts = format!("{base}-mounts");
        for path in ["/data", "/anon", "/anon2"] {
            docker(&[
                "exec",
                &mounts,
                "sh",
                "-c",
                &format!("echo kept > {path}/f"),
            ]);
        }
        let holder_before = inspect(&holder);
        let before: Vec<Value> = names.iter().map(|n| inspect(n)).collect();
        for n in &names {
            eventually(Duration::from_secs(10), "the container is listed", || {
                app.listed(n)
            })
            .await;
        }

        // Outside the model: 422 naming each setting, nothing stored.
        let (s, v) = app.post(&format!("/api/v1/services/{lossy}/adopt")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["code"], "adopt_would_lose_settings", "{v}");
        let fields: Vec<&str> = v["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                assert_eq!(d["container"], lossy.as_str(), "{d}");
                assert!(!d["message"].as_str().unwrap_or_default().is_empty(), "{d}");
                d["field"].as_str().unwrap()
            })
            .collect();
        assert_eq!(fields, vec!["HostConfig.CpusetMems"], "{v}");
        let still = app.listed(&lossy).await.unwrap();
        assert_eq!(still["kind"], "standalone", "nothing stored: {still}");
        let (s, audit) = app
            .get(&format!(
                "/api/v1/audit?action=service.adopt&target={lossy}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            !audit.to_string().contains(&lossy),
            "no audit row for a refused adopt: {audit}"
        );

        // Every group adopts with nothing to lose.
        for n in names.iter().filter(|n| **n != lossy) {
            let (s, v) = app.post(&format!("/api/v1/services/{n}/adopt")).await;
            assert_eq!(s, StatusCode::CREATED, "{n}: {v}");
            assert!(v.get("dropped").is_none(), "{n}: {v}");
            if n.ends_with("-res") {
                // The engine's and the image's defaults are not copied.
                let m = &v["definition"]["services"][n.as_str()];
                for absent in [
                    "ipc",
                    "cgroup",
                    "runtime",
                    "privileged",
                    "stop_grace_period",
                    "user",
                    "logging",
                    "networks",
                ] {
                    assert!(m.get(absent).is_none(), "{absent}: {m}");
                }
                assert_eq!(m["network_mode"], "bridge", "{m}");
                assert_eq!(m["shm_size"], 32 << 20, "{m}");
                assert_eq!(m["mem_limit"], 64 << 20, "{m}");
            }
        }
        let (s, v) = app
            .post(&format!("/api/v1/services/{lossy}/adopt?accept_loss=true"))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["dropped"].as_array().map(Vec::len), Some(1), "{v}");
        assert_eq!(v["dropped"][0]["field"], "HostConfig.CpusetMems", "{v}");

        let app = &app;
        let deploys = names.iter().map(|n| async move {
            let r = app
                .ok(Method::POST, &format!("/api/v1/services/{n}/deploy"))
                .await;
            assert_eq!(r["created"].as_array().map(Vec::len), Some(1), "{n}: {r}");
        });
        futures_util::future::join_all(deploys).await;

        let mut problems = Vec::new();
        for (n, b) in names.iter().zip(&before) {
            let a = inspect(n);
            assert_ne!(
                a["Id"], b["Id"],
                "{n}: deploy replaced the adopted container"
            );
            assert_eq!(a["Config"]["Labels"]["io.sdmd.service"], n.as_str());
            let holder_now = inspect(&holder);
            let mut original = comparable(b, &naming(b, &holder_before));
            if *n == lossy {
                // What accept_loss said it would drop, and nothing else.
                // The engine reports an unset cpuset as "".
                original["HostConfig"]["CpusetMems"] = json!("");
                original = inspect_normalise::prune(original);
            }
            let d = diff(&original, &comparable(&a, &naming(&a, &holder_now)));
            problems.extend(d.iter().map(|x| format!("{n}: {x}")));
        }
        assert!(
            problems.is_empty(),
            "adopt → deploy changed settings (original | SDMD):\n{}",
            problems.join("\n")
        );
        for path in ["/data", "/anon", "/anon2"] {
            assert_eq!(
                docker(&["exec", &mounts, "cat", &format!("{path}/f")]).trim(),
                "kept",
                "{path}: the data written before the adopt"
            );
        }
        // The adopted network and volume are someone else's: deleting the services keeps them.
        for n in &names {
            let (s, v) = app.delete_service(n, true).await;
            assert!(s.is_success(), "{v}");
        }
        assert!(
            docker_ok(&["network", "inspect", &net]),
            "external network removed"
        );
        assert!(
            docker_ok(&["volume", "inspect", &vol]),
            "adopted volume removed"
        );
    })
    .catch_unwind_safe()
    .await;
    for n in &names {
        app.cleanup(n).await;
    }
    for n in names.iter().chain([&holder]) {
        docker_ok(&["rm", "-f", "-v", n]);
    }
    docker_ok(&["network", "rm", &net]);
    docker_ok(&["volume", "rm", &vol]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// A compose v2 project SDMD cannot read the files of is reconstructed from inspect: its
/// `com.docker.compose.depends_on` labels become `depends_on` with their conditions.
#[sqlx::test(migrations = "../migrations")]
async fn compose_v2_depends_on_label_is_adopted(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let project = unique("afdep");
    let run = |service: &str, deps: &str| {
        let mut args = vec![
            "run".to_owned(),
            "-d".into(),
            "--name".into(),
            format!("{project}-{service}-1"),
            "--label".into(),
            "sdmd.test=1".into(),
            "--label".into(),
            format!("com.docker.compose.project={project}"),
            "--label".into(),
            format!("com.docker.compose.service={service}"),
            "--label".into(),
            "com.docker.compose.container-number=1".into(),
        ];
        if !deps.is_empty() {
            args.extend([
                "--label".into(),
                format!("com.docker.compose.depends_on={deps}"),
            ]);
        }
        args.extend(strs(&["--init", "local/busybox:1", "sleep", "3600"]));
        args
    };
    let cases = [
        run("db", ""),
        run("cache", ""),
        run(
            "app",
            "db:service_healthy:true,cache:service_started:false,elsewhere:service_started:false",
        ),
    ];
    let containers: Vec<String> = cases.iter().map(|a| a[3].clone()).collect();
    let result = std::panic::AssertUnwindSafe(async {
        for args in &cases {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            docker(&refs);
        }
        // The live cache sees the containers one event at a time: adopt all three.
        eventually(
            Duration::from_secs(10),
            "the project is listed with its 3 containers",
            || async {
                app.listed(&project)
                    .await
                    .filter(|v| v["containers_total"] == 3)
            },
        )
        .await;
        let (s, v) = app.post(&format!("/api/v1/services/{project}/adopt")).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let deps = &v["definition"]["services"]["app"]["depends_on"];
        assert_eq!(
            deps,
            &json!({
                "db": {"condition": "service_healthy", "restart": true},
                "cache": {"condition": "service_started"}
            }),
            "{v}"
        );
        assert!(
            v["definition"]["services"]["db"]
                .get("depends_on")
                .is_none(),
            "{v}"
        );
    })
    .catch_unwind_safe()
    .await;
    app.cleanup(&project).await;
    for c in &containers {
        docker_ok(&["rm", "-f", "-v", c]);
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// A docker-compose 1.29 project whose files SDMD cannot read (they are gone), with a service
/// scaled to two containers, named volumes and an anonymous one: adopt reconstructs it from
/// inspect, folds the two identical replicas into one member with `scale: 2`, and after the
/// first deploy every container's normalised inspect equals the original's and the data written
/// before the adopt is still there.
#[sqlx::test(migrations = "../migrations")]
async fn scaled_compose_project_survives_adopt_and_deploy(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let project = unique("afcmp").replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(
        &file,
        r#"services:
  web:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {sdmd.test: "1"}
    cap_add: [NET_ADMIN]
    mem_limit: 64m
    environment: {MODE: prod}
    volumes: ["shared:/shared"]
  db:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {sdmd.test: "1"}
    volumes: ["data:/data", "/anon"]
    healthcheck: {test: ["CMD", "true"], interval: 5s}
volumes:
  shared: {labels: {sdmd.test: "1"}}
  data: {labels: {sdmd.test: "1"}}
"#,
    )
    .unwrap();
    let up = support::docker::compose_output(
        support::docker::compose_cli()
            .args(["-p", &project, "-f"])
            .arg(&file)
            .args(["up", "-d", "--scale", "web=2"]),
    );
    let originals = [
        format!("{project}_db_1"),
        format!("{project}_web_1"),
        format!("{project}_web_2"),
    ];
    // The anonymous volume is removed at the end by name (SDMD keeps it: it is not its own).
    let anonymous: Vec<String> = if up.status.success() {
        inspect(&originals[0])["Mounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["Destination"] == "/anon")
            .filter_map(|m| m["Name"].as_str().map(str::to_owned))
            .collect()
    } else {
        Vec::new()
    };
    let result = std::panic::AssertUnwindSafe(async {
        assert!(
            up.status.success(),
            "docker-compose up: {}",
            String::from_utf8_lossy(&up.stderr)
        );
        let db = &originals[0];
        docker(&[
            "exec",
            db,
            "sh",
            "-c",
            "echo kept > /data/f; echo kept > /anon/f",
        ]);
        docker(&["exec", &originals[1], "sh", "-c", "echo kept > /shared/f"]);
        let before: Vec<Value> = originals.iter().map(|c| inspect(c)).collect();
        // The project's files are gone: adopt must work from inspect alone.
        std::fs::remove_file(&file).unwrap();
        eventually(
            Duration::from_secs(10),
            "the project is listed with its 3 containers",
            || async {
                app.listed(&project)
                    .await
                    .filter(|v| v["containers_total"] == 3)
            },
        )
        .await;
        let (s, v) = app.post(&format!("/api/v1/services/{project}/adopt")).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let services = &v["definition"]["services"];
        assert_eq!(
            services.as_object().map(|m| m.len()),
            Some(2),
            "the two web containers are one member: {v}"
        );
        assert_eq!(services["web"]["scale"], 2, "{v}");
        assert!(services["web"].get("container_name").is_none(), "{v}");
        assert_eq!(services["db"]["container_name"], db.as_str(), "{v}");

        let r = app
            .ok(Method::POST, &format!("/api/v1/services/{project}/deploy"))
            .await;
        assert_eq!(r["removed"].as_array().map(Vec::len), Some(3), "{r}");
        let after = [
            db.clone(),
            format!("{project}-web"),
            format!("{project}-web-2"),
        ];
        // The project's default network becomes the service's own default network, by design
        // (as in the parity corpus, both are `<default>`); the volumes keep their real names.
        let naming_of = |c: &Value| {
            let mut n = Naming::compose(&project, dir.path());
            n.networks
                .insert(format!("sdmd_{project}"), "<default>".to_owned());
            n.add_container(c, "self");
            n
        };
        let mut problems = Vec::new();
        for (b, name) in before.iter().zip(&after) {
            let a = inspect(name);
            assert_ne!(a["Id"], b["Id"], "{name}: not replaced");
            let d = diff(
                &comparable(b, &naming_of(b)),
                &comparable(&a, &naming_of(&a)),
            );
            problems.extend(d.iter().map(|x| format!("{name}: {x}")));
        }
        assert!(
            problems.is_empty(),
            "adopt → deploy changed settings (original | SDMD):\n{}",
            problems.join("\n")
        );
        for path in ["/data/f", "/anon/f"] {
            assert_eq!(docker(&["exec", db, "cat", path]).trim(), "kept", "{path}");
        }
        for c in &after[1..] {
            assert_eq!(
                docker(&["exec", c, "cat", "/shared/f"]).trim(),
                "kept",
                "{c}: the shared volume"
            );
        }
        // The volumes were docker-compose's: deleting the service with volumes keeps them.
        let (s, v) = app.delete_service(&project, true).await;
        assert!(s.is_success(), "{v}");
        for vol in ["shared", "data"] {
            assert!(
                docker_ok(&["volume", "inspect", &format!("{project}_{vol}")]),
                "{vol} removed"
            );
        }
    })
    .catch_unwind_safe()
    .await;
    app.cleanup(&project).await;
    let anon: Vec<String> = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    for c in anon.iter().chain(&originals) {
        docker_ok(&["rm", "-f", "-v", c]);
    }
    for vol in ["shared", "data"] {
        docker_ok(&["volume", "rm", &format!("{project}_{vol}")]);
    }
    for vol in &anonymous {
        docker_ok(&["volume", "rm", vol]);
    }
    docker_ok(&["network", "rm", &format!("{project}_default")]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
