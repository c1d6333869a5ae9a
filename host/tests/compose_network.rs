//! Networking fidelity: the same file deployed by docker-compose 1.29 and by SDMD produces the
//! same networking in `docker inspect` (attachments, aliases, static addresses, modes, hosts,
//! DNS, host names, exposed ports). (Adopting `docker run` containers with custom networks and
//! network modes: `adopt_fidelity.rs`.)

mod support;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use support::*;

/// A /24 no other run uses: 10.<231-239>.<0-253>.0, from fresh randomness.
fn compose_file(prefix: &str) -> String {
    format!(
        r#"services:
  proxy:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {{sdmd.test: "1"}}
    hostname: edge-host
    domainname: example.test
    dns: [10.231.250.53]
    dns_search: [internal.test]
    dns_opt: ["ndots:2"]
    extra_hosts: ["upstream:10.231.250.7"]
    expose: ["8080", "9000-9001/udp"]
    networks:
      front:
        aliases: [edge, www]
        ipv4_address: {prefix}.10
      back: {{}}
  app:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {{sdmd.test: "1"}}
    networks: [back]
    links: ["proxy:gateway"]
  vpn:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {{sdmd.test: "1"}}
  client:
    image: local/busybox:1
    command: ["sleep", "3600"]
    init: true
    labels: {{sdmd.test: "1"}}
    network_mode: service:vpn
networks:
  front:
    ipam:
      config: [{{subnet: {prefix}.0/24}}]
    labels: {{sdmd.test: "1"}}
  back:
    internal: true
    labels: {{sdmd.test: "1"}}
"#
    )
}

fn compose(dir: &std::path::Path, project: &str, args: &[&str]) -> bool {
    let out = support::docker::compose(dir, project, args);
    if !out.status.success() {
        eprintln!(
            "docker-compose {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

/// The member a container is: compose's service label, else SDMD's member label.
fn member_of(c: &Value) -> String {
    let l = &c["Config"]["Labels"];
    l["com.docker.compose.service"]
        .as_str()
        .or(l["io.sdmd.member"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The networking of a container with names normalised: `norm` maps a Docker network name to
/// its key in the file; the container's short id (an engine alias) and its name are dropped,
/// static addresses are compared by their last octet (the two runs use different subnets).
fn view(c: &Value, norm: &dyn Fn(&str) -> String) -> Value {
    let id = c["Id"].as_str().unwrap_or_default();
    let short = &id[..12];
    let name = c["Name"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/');
    let mode = c["HostConfig"]["NetworkMode"].as_str().unwrap_or_default();
    let owner = mode.strip_prefix("container:").map(inspect);
    let owner_short: String = owner
        .as_ref()
        .and_then(|o| o["Id"].as_str())
        .map(|i| i.chars().take(12).collect())
        .unwrap_or_default();
    let mode = match &owner {
        Some(o) => format!("container:{}", member_of(o)),
        None => norm(mode),
    };
    // The CLI sends empty lists where compose and SDMD send none: the same to the engine.
    let list = |v: &Value| match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        other => other.clone(),
    };
    let mut networks = BTreeMap::new();
    if let Some(ns) = c["NetworkSettings"]["Networks"].as_object() {
        for (n, ep) in ns {
            let mut aliases: Vec<String> = ep["Aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|a| *a != short && *a != name)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            aliases.sort();
            let last_octet = ep["IPAMConfig"]["IPv4Address"]
                .as_str()
                .and_then(|a| a.rsplit('.').next())
                .map(str::to_owned);
            // Links name containers: compare by member; compose 1.29's extra `<service>_<n>`
            // numbering name has no SDMD equivalent and is left out.
            let mut links: Vec<String> = ep["Links"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|l| {
                            let (cname, alias) = l.split_once(':')?;
                            let cname = cname.trim_start_matches('/');
                            let alias = alias.rsplit('/').next().unwrap_or(alias);
                            let member = member_of(&inspect(cname));
                            if alias
                                .strip_prefix(&format!("{member}_"))
                                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                            {
                                return None;
                            }
                            let alias = if alias == cname { "<container>" } else { alias };
                            Some(format!("{member}:{alias}"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            links.sort();
            networks.insert(
                norm(n),
                json!({"aliases": aliases, "ipv4": last_octet, "links": links}),
            );
        }
    }
    let mut exposed: Vec<String> = c["Config"]["ExposedPorts"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    exposed.sort();
    let hostname = c["Config"]["Hostname"].as_str().unwrap_or_default();
    json!({
        "network_mode": mode,
        "networks": networks,
        "extra_hosts": list(&c["HostConfig"]["ExtraHosts"]),
        "dns": list(&c["HostConfig"]["Dns"]),
        "dns_search": list(&c["HostConfig"]["DnsSearch"]),
        "dns_options": list(&c["HostConfig"]["DnsOptions"]),
        // The engine's default host name is the short id (of the stack's owner when shared).
        "hostname": if hostname == short {
            "<short id>"
        } else if hostname == owner_short {
            "<owner's short id>"
        } else {
            hostname
        },
        "domainname": c["Config"]["Domainname"],
        "exposed": exposed,
    })
}

/// What matters of a network: internal or not, the subnet's shape.
/// A network's configuration. The subnet size counts only where the file sets an `ipam`
/// subnet: otherwise the engine picks one from its address pools (a /16, or a /20 once the /16s
/// are taken by other networks on the host), which is not configuration.
fn network_view(name: &str, configured_subnet: bool) -> Value {
    let n = inspect(name);
    let subnet = n["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .filter(|_| configured_subnet)
        .map(|s| s.rsplit('/').next().unwrap_or_default().to_owned());
    json!({"internal": n["Internal"], "driver": n["Driver"], "prefix_len": subnet})
}

#[sqlx::test(migrations = "../migrations")]
async fn same_networking_as_compose(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = unique("cnet").replace('-', "");
    let svc = unique("snet");
    let (cprefix, sprefix) = loop {
        let (a, b) = (subnet_prefix(), subnet_prefix());
        if a != b {
            break (a, b);
        }
    };
    let dir = std::env::temp_dir().join(&project);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), compose_file(&cprefix)).unwrap();
    let (s, v) = app
        .post_yaml(
            "/api/v1/services",
            &format!("name: {svc}\n{}", compose_file(&sprefix)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let dir2 = dir.clone();
    let p2 = project.clone();
    let deploy_uri = format!("/api/v1/services/{svc}/deploy");
    let (composed, deployed) = tokio::join!(
        tokio::task::spawn_blocking(move || compose(&dir2, &p2, &["up", "-d"])),
        app.call(Method::POST, &deploy_uri, None),
    );
    let composed = composed.unwrap();
    let result = std::panic::AssertUnwindSafe(async {
        assert!(composed, "docker-compose up failed");
        assert!(deployed.0.is_success(), "deploy: {}", deployed.1);
        let cnorm = |n: &str| -> String {
            n.strip_prefix(&format!("{project}_"))
                .unwrap_or(n)
                .to_owned()
        };
        let snorm = |n: &str| -> String {
            if n == format!("sdmd_{svc}") {
                "default".to_owned()
            } else {
                n.strip_prefix(&format!("{svc}_")).unwrap_or(n).to_owned()
            }
        };
        for member in ["proxy", "app", "vpn", "client"] {
            let c = view(&inspect(&format!("{project}_{member}_1")), &cnorm);
            let s = view(&inspect(&format!("{svc}-{member}")), &snorm);
            for field in c.as_object().unwrap().keys() {
                assert_eq!(
                    c[field], s[field],
                    "{member}.{field}: compose {} vs SDMD {}",
                    c[field], s[field]
                );
            }
        }
        // Spot checks that the comparison saw the interesting parts.
        let proxy = view(&inspect(&format!("{svc}-proxy")), &snorm);
        assert_eq!(proxy["networks"]["front"]["ipv4"], "10");
        assert_eq!(
            proxy["networks"]["front"]["aliases"],
            json!(["edge", "edge-host", "proxy", "www"])
        );
        assert_eq!(proxy["network_mode"], "back");
        let app_links = view(&inspect(&format!("{svc}-app")), &snorm);
        assert_eq!(
            app_links["networks"]["back"]["links"],
            json!(["proxy:<container>", "proxy:gateway"])
        );
        let client = view(&inspect(&format!("{svc}-client")), &snorm);
        assert_eq!(client["network_mode"], "container:vpn");
        for net in ["front", "back"] {
            assert_eq!(
                network_view(&format!("{project}_{net}"), net == "front"),
                network_view(&format!("{svc}_{net}"), net == "front"),
                "network {net}"
            );
        }
        assert_eq!(
            inspect(&format!("{svc}_back"))["Labels"]["io.sdmd.service"],
            svc.as_str()
        );
        // A redeploy of an unchanged file leaves every member alone.
        let again = app
            .ok(Method::POST, &format!("/api/v1/services/{svc}/deploy"))
            .await;
        assert_eq!(
            again["unchanged"].as_array().map(Vec::len),
            Some(4),
            "{again}"
        );
    })
    .catch_unwind_safe()
    .await;
    compose(&dir, &project, &["down", "-v"]);
    app.cleanup(&svc).await;
    for n in [
        format!("{svc}_front"),
        format!("{svc}_back"),
        format!("sdmd_{svc}"),
    ] {
        assert!(
            !docker_ok(&["network", "inspect", &n]),
            "network {n} outlived the service"
        );
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
