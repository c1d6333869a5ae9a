//! Benchmark: deploying a 12-member stack of 4 independent chains (3 members each, `depends_on`
//! along each chain) from nothing, three ways on the same engine in the same run, interleaved:
//!
//! - sdmd: `POST /api/v1/services/{name}/deploy` against the release binary (HTTP, auth,
//!   PostgreSQL, the engine);
//! - docker-compose 1.29 (Debian): `docker-compose up -d` of the same file;
//! - the engine floor: the calls that deploy needs at least, issued directly through bollard, in
//!   parallel where the graph allows: create the network, then per chain create + start each
//!   member after the previous one, with the very create bodies sdmd sends.
//!
//! Each round starts with no container and no network of the stack (teardown is not timed).
//! Run with `make bench` (which builds the release binary and sets `SDMD_BIN` and
//! `DATABASE_URL`). Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::docker;

const CHAINS: usize = 4;
const LENGTH: usize = 3;
const ROUNDS: usize = 7;
const IMAGE: &str = "local/sdmd-bench-stack:1";

/// The compose file: chain `c<i>` has members `c<i>m1` ← `c<i>m2` ← `c<i>m3`.
fn services() -> String {
    let mut out = String::from("services:\n");
    for c in 1..=CHAINS {
        for m in 1..=LENGTH {
            out.push_str(&format!(
                "  c{c}m{m}:\n    image: {IMAGE}\n    init: true\n    labels: {{sdmd.bench: \"1\"}}\n"
            ));
            if m > 1 {
                out.push_str(&format!("    depends_on: [c{c}m{}]\n", m - 1));
            }
        }
    }
    out
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn remove_labelled(label: &str) {
    let ids = docker(&["ps", "-aq", "--filter", &format!("label={label}")]);
    let ids: Vec<&str> = ids.lines().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids);
        docker(&args);
    }
}

fn remove_network(name: &str) {
    let _ = Command::new(support::DOCKER)
        .args(["network", "rm", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

struct Sdmd {
    server: std::process::Child,
    base: String,
    client: reqwest::blocking::Client,
    token: String,
    _data: tempfile::TempDir,
}

impl Sdmd {
    fn start(bin: &str, db_url: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = support::free_port();
        let server = Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", db_url)
            .env("SDMD_DATA_DIR", data.path())
            .env("SDMD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SDMD_TLS", "off")
            .env("SDMD_ADMIN_EMAIL", "bench@example.com")
            .env("SDMD_ADMIN_PASSWORD", "bench-password-123456")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let token = loop {
            let r = client
                .post(format!("{base}/auth/v1/token?grant_type=password"))
                .json(&serde_json::json!({"email": "bench@example.com", "password": "bench-password-123456"}))
                .send();
            if let Ok(r) = r
                && r.status().is_success()
            {
                let v: serde_json::Value = r.json().unwrap();
                break v["access_token"].as_str().unwrap().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "sdmd did not sign us in within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let s = Self {
            server,
            base,
            client,
            token,
            _data: data,
        };
        // The list answers 503 until the events stream is connected.
        while s.call(reqwest::Method::GET, "/api/v1/services", None).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "sdmd did not serve the list within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn call(&self, method: reqwest::Method, path: &str, yaml: Option<&str>) -> (u16, String) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(y) = yaml {
            req = req
                .header("content-type", "application/yaml")
                .body(y.to_owned());
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn ok(&self, method: reqwest::Method, path: &str, yaml: Option<&str>) {
        let (s, body) = self.call(method.clone(), path, yaml);
        assert!((200..300).contains(&s), "{method} {path}: {s} {body}");
    }
}

impl Drop for Sdmd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.server.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.server.wait();
    }
}

/// The engine floor: the network, then each chain's members created and started one after the
/// other, the chains concurrently, with sdmd's own create bodies.
async fn floor(engine: &bollard::Docker, def: &sdmd::spec::Definition) {
    engine
        .create_network(bollard::models::NetworkCreateRequest {
            name: def.network_name(),
            driver: Some("bridge".into()),
            labels: Some(HashMap::from([(
                "io.sdmd.service".to_owned(),
                def.name.clone(),
            )])),
            ..Default::default()
        })
        .await
        .unwrap();
    let chains = (1..=CHAINS).map(|c| async move {
        for m in 1..=LENGTH {
            let member = format!("c{c}m{m}");
            let body = sdmd::docker::container_body(def, &member, 1, &[], &HashMap::new()).unwrap();
            let opts = bollard::query_parameters::CreateContainerOptionsBuilder::default()
                .name(&def.container_name(&member))
                .build();
            let id = engine.create_container(Some(opts), body).await.unwrap().id;
            engine.start_container(&id, None).await.unwrap();
        }
    });
    futures_util::future::join_all(chains).await;
}

fn main() {
    let bin =
        std::env::var("SDMD_BIN").expect("SDMD_BIN: path to a release sdmd (make bench sets it)");
    let compose = std::env::var("DOCKER_COMPOSE").unwrap_or_else(|_| "docker-compose".into());
    let db = support::db::ScratchDb::create("sdmd_bench_deploy");
    let pid = std::process::id();
    let (sdmd_name, compose_name, floor_name) = (
        format!("benchdeploy{pid}"),
        format!("benchcompose{pid}"),
        format!("benchfloor{pid}"),
    );

    // A local image whose PID 1 runs until stopped (init makes the stop fast).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM local/busybox:1\nLABEL sdmd.bench=1\nCMD [\"sleep\", \"3600\"]\n",
    )
    .unwrap();
    docker(&["build", "-q", "-t", IMAGE, dir.path().to_str().unwrap()]);
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, services()).unwrap();
    let sdmd_yaml = format!("name: {sdmd_name}\n{}", services());
    let floor_def = sdmd::spec::parse(
        &sdmd::spec::yaml_document(format!("name: {floor_name}\n{}", services()).as_bytes())
            .unwrap(),
    )
    .unwrap();

    let sdmd = Sdmd::start(&bin, &db.url);
    let store = || sdmd.ok(reqwest::Method::POST, "/api/v1/services", Some(&sdmd_yaml));
    store();
    let compose_cmd = |args: &[&str]| {
        let out = Command::new(&compose)
            .args(["-p", &compose_name, "-f", file.to_str().unwrap()])
            .args(args)
            .output()
            .expect("docker-compose (apt-get install docker-compose)");
        assert!(
            out.status.success(),
            "docker-compose {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = rt.block_on(async {
        bollard::Docker::connect_with_local_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap()
    });
    let members = CHAINS * LENGTH;
    let running = |label: &str| {
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label={label}"),
            "--filter",
            "status=running",
        ])
        .lines()
        .count()
    };

    let (mut t_sdmd, mut t_compose, mut t_floor) = (Vec::new(), Vec::new(), Vec::new());
    // Round 0 warms every path up and is not counted; the order rotates so that none of the
    // three always runs right after another.
    for round in 0..=ROUNDS {
        for turn in 0..3 {
            match (round + turn) % 3 {
                0 => {
                    let t = Instant::now();
                    sdmd.ok(
                        reqwest::Method::POST,
                        &format!("/api/v1/services/{sdmd_name}/deploy"),
                        None,
                    );
                    let d = t.elapsed();
                    assert_eq!(running(&format!("io.sdmd.service={sdmd_name}")), members);
                    if round > 0 {
                        t_sdmd.push(d);
                    }
                    // Delete (containers, network) and store again: the next deploy starts
                    // from nothing, as the others do.
                    sdmd.ok(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/services/{sdmd_name}"),
                        None,
                    );
                    store();
                }
                1 => {
                    let t = Instant::now();
                    compose_cmd(&["up", "-d"]);
                    let d = t.elapsed();
                    assert_eq!(
                        running(&format!("com.docker.compose.project={compose_name}")),
                        members
                    );
                    if round > 0 {
                        t_compose.push(d);
                    }
                    compose_cmd(&["down", "-t", "2"]);
                }
                _ => {
                    let t = Instant::now();
                    rt.block_on(floor(&engine, &floor_def));
                    let d = t.elapsed();
                    assert_eq!(running(&format!("io.sdmd.service={floor_name}")), members);
                    if round > 0 {
                        t_floor.push(d);
                    }
                    remove_labelled(&format!("io.sdmd.service={floor_name}"));
                    remove_network(&floor_def.network_name());
                }
            }
        }
    }
    let (s, c, f) = (
        median(&mut t_sdmd),
        median(&mut t_compose),
        median(&mut t_floor),
    );
    println!(
        "deploy of {members} members ({CHAINS} chains of {LENGTH}, depends_on along each), from nothing; {ROUNDS} rounds each, interleaved"
    );
    println!("{:<46} {:>10} {:>10} {:>10}", "", "median", "min", "max");
    for (label, v) in [
        ("sdmd POST /api/v1/services/{name}/deploy", &t_sdmd),
        ("docker-compose 1.29 up -d", &t_compose),
        ("engine floor (bollard, parallel chains)", &t_floor),
    ] {
        println!(
            "{label:<46} {:>8.1}ms {:>8.1}ms {:>8.1}ms",
            ms(v[v.len() / 2]),
            ms(v[0]),
            ms(v[v.len() - 1])
        );
    }
    println!(
        "ratio sdmd/compose: {:.3}   (target <= 0.8)",
        s.as_secs_f64() / c.as_secs_f64()
    );
    println!(
        "ratio sdmd/floor:   {:.3}   (target <= 1.2)",
        s.as_secs_f64() / f.as_secs_f64()
    );

    sdmd.ok(
        reqwest::Method::DELETE,
        &format!("/api/v1/services/{sdmd_name}"),
        None,
    );
    drop(sdmd);
    remove_labelled(&format!("io.sdmd.service={floor_name}"));
    remove_network(&floor_def.network_name());
    let _ = Command::new(support::DOCKER)
        .args(["rmi", IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    drop(db);
}
