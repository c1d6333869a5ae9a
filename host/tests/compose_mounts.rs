//! Long-syntax ports and volumes, `service_completed_successfully`, and profiles: the same file
//! deployed by docker-compose 1.29 (the reference here) and by SDMD, compared field by field in
//! `docker inspect`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{TestApp, docker, docker_ok, eventually, free_port, inspect, unique};

const IMAGE: &str = "local/busybox:1";

/// The compose file both tools deploy. docker-compose 1.29 refuses `host_ip` and a `published`
/// range in the long port syntax and `tmpfs.mode`, so its copy writes those ports in the short
/// syntax (which SDMD must publish identically) and leaves the mode out (checked on SDMD alone).
fn file(name: &str, dir: &str, ports: &[u16; 4], for_compose: bool) -> String {
    let [web, dns, lo, hi] = ports;
    let (ports, mode) = if for_compose {
        (
            format!(
                r#"
      - "127.0.0.1:{web}:80"
      - {{target: 53, published: {dns}, protocol: udp}}
      - "{lo}-{hi}:81""#
            ),
            "",
        )
    } else {
        (
            format!(
                r#"
      - {{target: 80, published: "{web}", host_ip: 127.0.0.1, protocol: tcp, mode: host}}
      - {{target: 53, published: {dns}, protocol: udp, app_protocol: dns, name: dns}}
      - {{target: 81, published: "{lo}-{hi}"}}"#
            ),
            ", mode: 0o1777",
        )
    };
    format!(
        r#"
name: {name}
services:
  web:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: {{sdmd.test: "1"}}
    ports:{ports}
    volumes:
      - type: bind
        source: {dir}
        target: /b
        read_only: true
        bind: {{propagation: rprivate}}
      - type: volume
        source: data
        target: /data
        volume: {{nocopy: true}}
      - type: tmpfs
        target: /t
        tmpfs: {{size: 1048576{mode}}}
      - data:/d2:nocopy
      - {dir}:/b2:ro
volumes:
  data: {{labels: {{sdmd.test: "1"}}}}
"#
    )
}

/// Runs docker-compose 1.29 in `dir` with the given arguments.
fn compose(dir: &std::path::Path, project: &str, args: &[&str]) {
    let out = support::docker::compose(dir, project, args);
    assert!(
        out.status.success(),
        "docker-compose {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PortBindings with each host port replaced by its role (the two deployments need different
/// host ports) and an empty HostIp dropped (the same thing to the engine).
fn port_bindings(c: &Value, ports: &[u16; 4]) -> Value {
    let roles = [
        (format!("{}-{}", ports[2], ports[3]), "RANGE"),
        (ports[0].to_string(), "WEB"),
        (ports[1].to_string(), "DNS"),
    ];
    let mut out = serde_json::Map::new();
    for (k, v) in c["HostConfig"]["PortBindings"].as_object().unwrap() {
        let list: Vec<Value> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let hp = b["HostPort"].as_str().unwrap_or_default();
                let role = roles.iter().find(|(p, _)| p == hp).map_or(hp, |(_, r)| *r);
                json!({"HostIp": b["HostIp"].as_str().unwrap_or_default(), "HostPort": role})
            })
            .collect();
        out.insert(k.clone(), Value::Array(list));
    }
    Value::Object(out)
}

/// The container's mounts by destination: type, RW, propagation, source with the project's or
/// service's volume prefix removed.
fn mounts(c: &Value, prefix: &str) -> Vec<Value> {
    let mut out: Vec<Value> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let source = match m["Type"].as_str() {
                Some("volume") => m["Name"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(prefix)
                    .to_owned(),
                _ => m["Source"].as_str().unwrap_or_default().to_owned(),
            };
            json!({
                "Destination": m["Destination"],
                "Type": m["Type"],
                "RW": m["RW"],
                "Propagation": m["Propagation"],
                "Source": source,
            })
        })
        .collect();
    out.sort_by_key(|m| m["Destination"].as_str().unwrap().to_owned());
    out
}

/// HostConfig.Mounts (what was asked of the engine) with volume sources normalised.
fn requested(c: &Value, prefix: &str) -> Vec<Value> {
    let mut out: Vec<Value> = c["HostConfig"]["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            if m["Type"] == "volume" {
                let s = m["Source"].as_str().unwrap().trim_start_matches(prefix);
                m["Source"] = json!(s);
            }
            if let Some(t) = m.get_mut("TmpfsOptions") {
                // Only SDMD's copy sets a mode (1.29 cannot); compared separately.
                t.as_object_mut().unwrap().remove("Mode");
            }
            m
        })
        .collect();
    out.sort_by_key(|m| m["Target"].as_str().unwrap().to_owned());
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn long_syntax_ports_and_volumes_match_compose(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let name = unique("mounts");
    let project = unique("ref");
    let tmp = tempfile::tempdir().unwrap();
    let bind_dir = tmp.path().join("bind");
    std::fs::create_dir(&bind_dir).unwrap();
    std::fs::write(bind_dir.join("hello"), "hi").unwrap();
    let dir = bind_dir.to_str().unwrap();
    let range = |p: u16| [p, p + 3];
    let (a, b) = (free_port(), free_port());
    let ra = range(free_port().min(60000));
    let rb = range(ra[1] + 10);
    let compose_ports = [a, free_port(), ra[0], ra[1]];
    let sdmd_ports = [b, free_port(), rb[0], rb[1]];
    // docker-compose 1.29 refuses a top-level `name` (the project comes from `-p`).
    let reference_file =
        file(&project, dir, &compose_ports, true).replace(&format!("name: {project}\n"), "");
    std::fs::write(tmp.path().join("docker-compose.yml"), reference_file).unwrap();

    let compose_up = tokio::task::spawn_blocking({
        let path = tmp.path().to_owned();
        let project = project.clone();
        move || compose(&path, &project, &["up", "-d"])
    });
    let (s, v) = app
        .post_yaml("/api/v1/services", &file(&name, dir, &sdmd_ports, false))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The stored definition keeps the long syntax as written…
    let stored = &v["definition"]["services"]["web"];
    assert_eq!(stored["ports"][0]["host_ip"], "127.0.0.1");
    assert_eq!(stored["volumes"][2]["tmpfs"]["mode"], 0o1777);
    assert_eq!(stored["volumes"][3], "data:/d2:nocopy");
    app.ok(Method::POST, &format!("/api/v1/services/{name}/deploy"))
        .await;
    compose_up.await.unwrap();

    let reference = inspect(&format!("{project}_web_1"));
    let ours = inspect(&format!("{name}-web"));
    assert_eq!(
        port_bindings(&ours, &sdmd_ports),
        port_bindings(&reference, &compose_ports)
    );
    assert_eq!(
        mounts(&ours, &format!("{name}_")),
        mounts(&reference, &format!("{project}_"))
    );
    assert_eq!(
        requested(&ours, &format!("{name}_")),
        requested(&reference, &format!("{project}_"))
    );
    // Binds is a list the engine treats as a set; docker-compose 1.29 builds it from a Python
    // set, so its order changes from run to run: compare sorted.
    let sorted_binds = |c: &Value, prefix: &str| {
        let mut b: Vec<String> = c["HostConfig"]["Binds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().replace(prefix, &format!("{name}_")))
            .collect();
        b.sort();
        b
    };
    assert_eq!(
        sorted_binds(&ours, &format!("{name}_")),
        sorted_binds(&reference, &format!("{project}_"))
    );
    // The mode 1.29 cannot set reaches the engine and the mounted tmpfs.
    let tmpfs = ours["HostConfig"]["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Type"] == "tmpfs")
        .cloned()
        .unwrap();
    assert_eq!(
        tmpfs["TmpfsOptions"],
        json!({"SizeBytes": 1048576, "Mode": 0o1777})
    );
    let id = ours["Id"].as_str().unwrap();
    let listing = docker(&["exec", id, "ls", "-ld", "/t"]);
    assert!(listing.starts_with("drwxrwxrwt"), "{listing}");
    assert_eq!(docker(&["exec", id, "cat", "/b/hello"]).trim(), "hi");
    assert!(
        !docker_ok(&["exec", id, "touch", "/b/x"]),
        "the bind is read-only"
    );

    // The exported YAML is accepted again by SDMD (same definition) and by docker-compose.
    let (s, export) = app.get(&format!("/api/v1/services/{name}/compose")).await;
    assert_eq!(s, StatusCode::OK);
    let yaml = export.as_str().unwrap().to_owned();
    let (s, v) = app
        .put_yaml(&format!("/api/v1/services/{name}"), &yaml)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revision"], 1, "re-importing the export changes nothing");

    app.cleanup(&name).await;
    compose(tmp.path(), &project, &["down", "-v"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn completed_dependencies_and_profiles(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let (ok, failing, prof) = (unique("init"), unique("initfail"), unique("prof"));
    let init_file = |name: &str, script: &str| {
        format!(
            r#"
name: {name}
services:
  init:
    image: {IMAGE}
    command: ["sh", "-c", "{script}"]
    labels: {{sdmd.test: "1"}}
    volumes: ["data:/data"]
  web:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: {{sdmd.test: "1"}}
    volumes: ["data:/data"]
    depends_on:
      init: {{condition: service_completed_successfully, restart: true}}
volumes:
  data: {{labels: {{sdmd.test: "1"}}}}
"#
        )
    };
    let prof_file = format!(
        r#"
name: {prof}
services:
  web:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: {{sdmd.test: "1"}}
  debug:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: {{sdmd.test: "1"}}
    profiles: [debug]
  helper:
    image: {IMAGE}
    init: true
    command: ["sleep", "3600"]
    labels: {{sdmd.test: "1"}}
    profiles: [tools]
    depends_on: [debug]
"#
    );
    for (n, f) in [
        (&ok, init_file(&ok, "echo done > /data/x")),
        (&failing, init_file(&failing, "exit 1")),
        (&prof, prof_file),
    ] {
        let (s, v) = app.post_yaml("/api/v1/services", &f).await;
        assert_eq!(s, StatusCode::CREATED, "{n}: {v}");
    }
    let deploy_ok = format!("/api/v1/services/{ok}/deploy");
    let deploy_failing = format!("/api/v1/services/{failing}/deploy");
    let deploy_plain = format!("/api/v1/services/{prof}/deploy");
    let (r_ok, r_failing, r_plain) = tokio::join!(
        app.post(&deploy_ok),
        app.post(&deploy_failing),
        app.post(&deploy_plain)
    );

    // The job ran to completion before web started: web sees its output.
    assert_eq!(r_ok.0, StatusCode::OK, "{}", r_ok.1);
    let web = format!("{ok}-web");
    assert_eq!(docker(&["exec", &web, "cat", "/data/x"]).trim(), "done");
    assert_eq!(inspect(&format!("{ok}-init"))["State"]["ExitCode"], 0);
    // A redeploy runs the exited job again (as compose's `up`), and `restart: true` restarts
    // web after it although web itself is unchanged.
    let v = app.ok(Method::POST, &deploy_ok).await;
    assert_eq!(v["started"], json!(["init", "web"]), "{v}");
    assert_eq!(v["unchanged"], json!([]), "{v}");

    // A job that fails stops the deploy before its dependent is created.
    assert_eq!(
        (r_failing.0, r_failing.1["code"].as_str()),
        (StatusCode::CONFLICT, Some("dependency_not_ready")),
        "{}",
        r_failing.1
    );
    assert!(
        r_failing.1.to_string().contains("exited with status 1"),
        "{}",
        r_failing.1
    );
    assert!(!docker_ok(&["inspect", &format!("{failing}-web")]));

    // Profiles: a plain deploy runs only members without profiles.
    assert_eq!(r_plain.0, StatusCode::OK, "{}", r_plain.1);
    assert!(docker_ok(&["inspect", &format!("{prof}-web")]));
    assert!(!docker_ok(&["inspect", &format!("{prof}-debug")]));
    assert!(!docker_ok(&["inspect", &format!("{prof}-helper")]));
    // `tools` alone enables helper but not the debug member it requires: invalid, as compose.
    let (s, v) = app
        .post(&format!("/api/v1/services/{prof}/deploy?profiles=tools"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("depends_on.debug"), "{v}");
    let v = app
        .ok(
            Method::POST,
            &format!("/api/v1/services/{prof}/deploy?profiles=debug"),
        )
        .await;
    assert_eq!(v["created"], json!(["debug"]), "{v}");
    assert_eq!(inspect(&format!("{prof}-debug"))["State"]["Running"], true);
    // A later plain deploy leaves the profiled member alone, as compose does.
    let v = app.ok(Method::POST, &deploy_plain).await;
    assert_eq!(v["removed"], json!([]), "{v}");
    eventually(Duration::from_secs(10), "debug still running", || async {
        (inspect(&format!("{prof}-debug"))["State"]["Running"] == true).then_some(())
    })
    .await;

    for n in [&ok, &failing, &prof] {
        app.cleanup(n).await;
    }
}
