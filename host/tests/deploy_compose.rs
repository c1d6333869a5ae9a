//! compose.yaml (and the socket-proxy override) validated by `docker-compose config`: base images
//! cannot be pulled here, so the test checks the resolved configuration's hardening instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::docker::{compose_cli, compose_output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `docker-compose config` of the given files with the example env file, as JSON.
fn config(files: &[&str], profile: Option<&str>) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let env = root().join(".env.example");
    let secret = tmp.path().join("admin_password");
    std::fs::write(&secret, "an-admin-password").unwrap();
    let mut cmd = compose_cli();
    cmd.current_dir(root())
        .env("SDMD_ENV_FILE", &env)
        .env("SDMD_ADMIN_PASSWORD_SECRET", &secret)
        .arg("--env-file")
        .arg(&env);
    for f in files {
        cmd.args(["-f", f]);
    }
    if let Some(p) = profile {
        cmd.args(["--profile", p]);
    }
    let out = compose_output(cmd.arg("config"));
    assert!(
        out.status.success(),
        "docker-compose config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_norway::from_slice(&out.stdout).unwrap()
}

/// (host ip, container port) of a port entry, in the long or the short form.
fn port(p: &Value) -> (String, u64) {
    if let Some(s) = p.as_str() {
        let s = s.split('/').next().unwrap();
        let parts: Vec<&str> = s.split(':').collect();
        let host_ip = if parts.len() == 3 {
            parts[0].to_owned()
        } else {
            String::new()
        };
        return (host_ip, parts.last().unwrap().parse().unwrap());
    }
    (
        p["host_ip"].as_str().unwrap_or_default().to_owned(),
        p["target"].as_u64().unwrap(),
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn compose_runs_sdmd_hardened_with_only_https_published() {
    let c = config(&["compose.yaml"], None);
    let sdmd = &c["services"]["sdmd"];
    assert_eq!(sdmd["build"]["dockerfile"], "Dockerfile");
    assert_eq!(sdmd["read_only"], true);
    assert_eq!(strings(&sdmd["cap_drop"]), ["ALL"]);
    assert!(sdmd.get("cap_add").is_none());
    assert!(strings(&sdmd["security_opt"]).contains(&"no-new-privileges:true".to_owned()));
    let user = sdmd["user"].as_str().unwrap();
    assert!(
        !user.starts_with("0") && !user.starts_with("root"),
        "sdmd runs as {user}"
    );
    assert_eq!(
        strings(&sdmd["group_add"]),
        ["999"],
        "the socket's group from DOCKER_GID"
    );
    let volumes = strings(&sdmd["volumes"]);
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("/var/run/docker.sock:/var/run/docker.sock")),
        "{volumes:?}"
    );
    assert_eq!(sdmd["environment"]["SDMD_TLS"], "auto");
    assert_eq!(
        sdmd["environment"]["SDMD_ADMIN_PASSWORD_FILE"],
        "/run/secrets/sdmd_admin_password"
    );
    assert!(
        sdmd["environment"].get("SDMD_ADMIN_PASSWORD").is_none(),
        "the password comes from a secret"
    );

    // Exactly one published port on the whole default stack: sdmd's HTTPS.
    let mut published = Vec::new();
    for (name, svc) in c["services"].as_object().unwrap() {
        if svc.get("profiles").is_some() {
            continue;
        }
        for p in svc["ports"].as_array().into_iter().flatten() {
            published.push((name.clone(), port(p).1));
        }
    }
    assert_eq!(published, [("sdmd".to_owned(), 8443)]);
    let pg = &c["services"]["postgres"];
    assert_eq!(pg["read_only"], true);
    assert_eq!(strings(&pg["cap_drop"]), ["ALL"]);
}

#[test]
fn compose_profiles_and_socket_proxy_override_validate() {
    let c = config(&["compose.yaml"], Some("supabase"));
    for s in ["supabase-db", "supabase-auth", "supabase-gateway"] {
        assert!(
            c["services"].get(s).is_some(),
            "{s} missing from the supabase profile"
        );
    }
    // Supabase's gateway is published on loopback only.
    let ports = c["services"]["supabase-gateway"]["ports"]
        .as_array()
        .unwrap();
    assert!(ports.iter().all(|p| port(p).0 == "127.0.0.1"), "{ports:?}");

    let c = config(&["compose.yaml", "compose.socket-proxy.yaml"], None);
    let sdmd = &c["services"]["sdmd"];
    assert_eq!(
        sdmd["environment"]["DOCKER_HOST"],
        "tcp://socket-proxy:2375"
    );
    let volumes = strings(&sdmd["volumes"]);
    assert!(
        volumes.contains(&"/dev/null:/var/run/docker.sock:ro".to_owned()),
        "the raw socket is still mounted: {volumes:?}"
    );
    let proxy = &c["services"]["socket-proxy"];
    assert_eq!(proxy["environment"]["EXEC"], "0");
    assert!(proxy.get("ports").is_none());
    assert_eq!(c["networks"]["docker-api"]["internal"], true);
}

#[test]
fn dockerfile_is_multi_stage_and_unprivileged() {
    let d = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        d.matches("\nFROM ").count() + usize::from(d.starts_with("FROM ")) >= 2,
        "not multi-stage"
    );
    let user = d
        .lines()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains(" 0") && !user.contains("root"), "{user}");
    assert!(d.contains("COPY --from=build"));
}
