//! Compose parity: every case under `tests/fixtures/compose-parity/<case>/` is deployed by
//! docker-compose 1.29 (the reference implementation) and by SDMD on the same engine, and the
//! normalised `docker inspect` of every container is compared field by field (rules in
//! `support/inspect_normalise.rs`).
//!
//! Each case directory holds `compose.yaml` (a real-world-looking file; `name:` is added for SDMD),
//! optional project files (`.env`, env files, secrets, configs, `./data` …) and `expect.yaml`:
//! - `expect: parity` — SDMD accepts and deploys it, and every container matches compose's;
//! - `expect: refused` with `refused: [field paths]` — SDMD answers 422 naming exactly these
//!   fields (its honest answer for attributes it does not support yet), and docker-compose
//!   deploys the file with every container running. When the model grows, flip the case;
//! - `expect: differs` with `differences: ["member: path", …]` — SDMD deploys it but these
//!   normalised fields differ from compose's: a known, reported bug, asserted so that a fix (or a
//!   new difference) fails the test until the entry is updated.
//!
//! Every case SDMD accepts is also exported (`GET …/compose`) before its deploy: docker-compose
//! 1.29 accepts the export (`config`, in a project directory with the case's files), and
//! `PUT`ting the export with the same files back stores nothing new — the definition, the stored
//! document and the files are identical (issue 10, item 6).
//!
//! Images are `local/busybox:1` tagged under every name the corpus uses (Docker Hub is not
//! reachable); every service runs a long-lived command with `init: true` so stops are instant.
//! Host ports are fixed per case and unique across the corpus (cases run four at a time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/inspect_normalise.rs"]
mod inspect_normalise;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use futures_util::StreamExt;
use inspect_normalise::{Naming, diff, normalise};
use serde::Deserialize;
use serde_json::{Value, json};
use support::http::multipart;
use support::*;

/// Cases deployed at the same time (the machine has two cores; most time is spent waiting).
const CONCURRENCY: usize = 4;
/// Prefix of every compose project and SDMD service the harness creates.
const PREFIX: &str = "cp";

/// A case's `expect.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    expect: Status,
    #[serde(default)]
    refused: BTreeSet<String>,
    #[serde(default)]
    differences: BTreeSet<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Status {
    Parity,
    Refused,
    Differs,
}

struct Case {
    name: String,
    dir: PathBuf,
    expect: Expectation,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose-parity")
}

fn load_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = std::fs::read_dir(corpus_dir())
        .expect("reading the corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                dir.join("compose.yaml").is_file(),
                "case {name} has no compose.yaml"
            );
            let text = std::fs::read_to_string(dir.join("expect.yaml")).unwrap_or_else(|e| {
                panic!("case {name} has no expect.yaml ({e}): every case declares parity, refused or differs")
            });
            let expect: Expectation = serde_norway::from_str(&text)
                .unwrap_or_else(|e| panic!("case {name}: invalid expect.yaml: {e}"));
            match expect.expect {
                Status::Refused => assert!(
                    !expect.refused.is_empty() && expect.differences.is_empty(),
                    "case {name}: `expect: refused` lists the refused fields (and only those)"
                ),
                Status::Differs => assert!(
                    !expect.differences.is_empty() && expect.refused.is_empty(),
                    "case {name}: `expect: differs` lists the differences (and only those)"
                ),
                Status::Parity => assert!(
                    expect.refused.is_empty() && expect.differences.is_empty(),
                    "case {name}: `expect: parity` lists nothing"
                ),
            }
            Case { name, dir, expect }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs a command; stdout on success, a readable error otherwise.
async fn run(program: &str, args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

async fn docker_cli(args: &[&str]) -> Result<String, String> {
    run(DOCKER, args, None).await
}

/// `docker inspect` of the containers carrying `label`, or an error if there are none.
async fn inspect_labelled(label: &str) -> Result<Vec<Value>, String> {
    let ids = docker_cli(&["ps", "-aq", "--filter", &format!("label={label}")]).await?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Err(format!("no containers labelled {label}"));
    }
    let mut args = vec!["inspect"];
    args.extend(&ids);
    let out = docker_cli(&args).await?;
    serde_json::from_str(&out).map_err(|e| format!("inspect JSON: {e}"))
}

/// Copies a case directory (without `expect.yaml`) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "expect.yaml" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Normalised containers by member name (`member#n` for replica n ≥ 2).
type Deployment = BTreeMap<String, Value>;

fn by_member(containers: &[Value], label: &str, mut naming: Naming) -> Result<Deployment, String> {
    let member = |c: &Value| c["Config"]["Labels"][label].as_str().map(str::to_owned);
    // Each tool's container number: compose's and SDMD's (absent: 1).
    let number = |c: &Value| {
        let labels = &c["Config"]["Labels"];
        labels["com.docker.compose.container-number"]
            .as_str()
            .or(labels["io.sdmd.replica"].as_str())
            .unwrap_or("1")
            .to_owned()
    };
    let key = |c: &Value| {
        let m = member(c).unwrap_or_default();
        match number(c).as_str() {
            "1" => m,
            n => format!("{m}#{n}"),
        }
    };
    for c in containers {
        let m = member(c).ok_or_else(|| format!("container {} has no {label}", c["Name"]))?;
        naming.add_container(c, &m);
    }
    let mut out = BTreeMap::new();
    for c in containers {
        if c["State"]["Running"] != true {
            return Err(format!(
                "container {} is not running: {}",
                c["Name"], c["State"]
            ));
        }
        out.insert(key(c), normalise(c, &naming));
    }
    Ok(out)
}

/// Adds the volumes labelled `label` to `out` as `volume:<key>` → their driver, driver options
/// and own labels (each tool's bookkeeping labels dropped), `<key>` being the volume's name
/// without the project's (`<project>_`) or service's (`<service>_`) prefix.
async fn add_volumes(out: &mut Deployment, label: &str, prefix: &str) -> Result<(), String> {
    let ids = docker_cli(&["volume", "ls", "-q", "--filter", &format!("label={label}")]).await?;
    for name in ids.split_whitespace() {
        let v: Value = serde_json::from_str(&docker_cli(&["volume", "inspect", name]).await?)
            .map_err(|e| e.to_string())?;
        let v = &v[0];
        let mut labels = v["Labels"].as_object().cloned().unwrap_or_default();
        labels.retain(|k, _| !k.starts_with("com.docker.compose.") && !k.starts_with("io.sdmd."));
        let key = name.strip_prefix(prefix).unwrap_or(name);
        out.insert(
            format!("volume:{key}"),
            json!({"Driver": v["Driver"], "Options": v["Options"], "Labels": labels}),
        );
    }
    Ok(())
}

/// `docker-compose -p <project> -f compose.yaml <args>` in the project directory.
async fn compose_cmd(project: &str, dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut a = vec!["-p", project, "-f", "compose.yaml"];
    a.extend(args);
    run("docker-compose", &a, Some(dir)).await
}

/// The images a case uses: read from its `image:` lines, or — when one is interpolated — from
/// `docker-compose config` (a Python start costs most of a case's time on a busy machine).
async fn images(dir: &Path, project: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
    let literal: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image:"))
        .map(|i| i.trim().trim_matches(['"', '\'']).to_owned())
        .collect();
    if !literal.iter().any(|i| i.contains('$')) {
        return Ok(literal);
    }
    let config = compose_cmd(project, dir, &["config"]).await.map_err(|e| {
        format!("{e}\n(is docker-compose installed? run `bash scripts/test-env.sh`)")
    })?;
    let config: Value = serde_norway::from_str(&config).map_err(|e| format!("config: {e}"))?;
    Ok(config["services"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, s)| s["image"].as_str().map(str::to_owned))
        .collect())
}

/// Deploys the case with docker-compose, inspects, and always takes it down again.
async fn deploy_compose(case: &Case, project: &str) -> Result<Deployment, String> {
    let tmp = tempfile::tempdir().unwrap();
    // Canonical path: compose resolves relative binds against it.
    let dir = tmp.path().canonicalize().unwrap();
    copy_dir(&case.dir, &dir);
    for image in images(&dir, project).await? {
        docker_cli(&["tag", "local/busybox:1", &image]).await?;
    }
    let up = compose_cmd(project, &dir, &["up", "-d", "--no-color"]).await;
    let label = format!("com.docker.compose.project={project}");
    let result = match up {
        Ok(_) => match inspect_labelled(&label).await {
            Ok(cs) => by_member(
                &cs,
                "com.docker.compose.service",
                Naming::compose(project, &dir),
            ),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let result = match result {
        Ok(mut d) => add_volumes(&mut d, &label, &format!("{project}_"))
            .await
            .map(|()| d),
        e => e,
    };
    let down = compose_cmd(
        project,
        &dir,
        &["down", "-v", "--remove-orphans", "-t", "2"],
    )
    .await;
    let result = result.map_err(|e| format!("docker-compose: {e}"))?;
    down.map_err(|e| format!("docker-compose down: {e}"))?;
    Ok(result)
}

/// What SDMD did with the case.
enum SdmdOutcome {
    Refused(BTreeSet<String>),
    Deployed(Deployment),
}

/// Creates the case in SDMD; if accepted, deploys, inspects and deletes it (with volumes).
async fn deploy_sdmd(app: &TestApp, case: &Case, service: &str) -> Result<SdmdOutcome, String> {
    let text = std::fs::read_to_string(case.dir.join("compose.yaml")).unwrap();
    // Prepended, not merged, so the rest of the document reaches SDMD byte for byte (anchors too).
    let doc = format!("name: {service}\n{text}");
    // Every other file of the case is a project file, sent as compose's project directory.
    let mut files = Vec::new();
    project_files(&case.dir, "", &mut files);
    let mut parts: Vec<(&str, &str)> = vec![("compose", doc.as_str())];
    parts.extend(files.iter().map(|(p, c)| (p.as_str(), c.as_str())));
    let (s, v) = app.post_multipart("/api/v1/services", &parts).await;
    if s == StatusCode::UNPROCESSABLE_ENTITY {
        if v["code"] != "validation_failed" {
            return Err(format!("SDMD answered 422 without validation details: {v}"));
        }
        let fields = v["details"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["field"].as_str().unwrap_or_default().to_owned())
            .collect();
        return Ok(SdmdOutcome::Refused(fields));
    }
    if s != StatusCode::CREATED {
        return Err(format!("SDMD create answered {s}: {v}"));
    }
    let exported = export_round_trip(app, service, &files).await;
    let result = async {
        exported.map_err(|e| format!("export: {e}"))?;
        let (s, v) = app
            .call(
                Method::POST,
                &format!("/api/v1/services/{service}/deploy"),
                None,
            )
            .await;
        if s.is_success() {
            let label = format!("io.sdmd.service={service}");
            let mut d = by_member(
                &inspect_labelled(&label).await?,
                "io.sdmd.member",
                Naming::sdmd(service, Some(&stacks_dir().join(service))),
            )?;
            add_volumes(&mut d, &label, &format!("{service}_")).await?;
            Ok(d)
        } else {
            Err(format!("deploy answered {s}: {v}"))
        }
    }
    .await;
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/services/{service}?volumes=true"),
            None,
        )
        .await;
    let result = result.map_err(|e| format!("SDMD: {e}"))?;
    if !s.is_success() {
        return Err(format!("SDMD delete answered {s}: {v}"));
    }
    Ok(SdmdOutcome::Deployed(result))
}

/// `multipart/form-data` of (part name, content): `compose` and one part per project file.
/// Exports the stored service, has docker-compose 1.29 parse the export in a project directory
/// holding the case's files, and sends the export with the same files back.
async fn export_round_trip(
    app: &TestApp,
    service: &str,
    files: &[(String, String)],
) -> Result<(), String> {
    let (s, export) = app
        .get(&format!("/api/v1/services/{service}/compose"))
        .await;
    let export = match (s, export) {
        (StatusCode::OK, Value::String(y)) => y,
        (s, v) => return Err(format!("GET …/compose answered {s}: {v}")),
    };
    // The reference parser predates the Compose Specification's top-level `name` (it answers
    // "'name' does not match any of the regexes: '^x-'"); compose v2 reads it. Everything else
    // of the export goes to docker-compose as is.
    let mut doc: Value =
        serde_norway::from_str(&export).map_err(|e| format!("the export is not YAML: {e}"))?;
    doc.as_object_mut().map(|o| o.remove("name"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    std::fs::write(
        dir.join("compose.yaml"),
        serde_norway::to_string(&doc).unwrap(),
    )
    .unwrap();
    compose_cmd(service, dir, &["config", "-q"])
        .await
        .map_err(|e| format!("docker-compose refused the export: {e}\n{export}"))?;

    let (_, before) = app.get(&format!("/api/v1/services/{service}")).await;
    let mut parts: Vec<(&str, &str)> = vec![("compose", export.as_str())];
    parts.extend(files.iter().map(|(p, c)| (p.as_str(), c.as_str())));
    let (ct, body) = multipart(&parts);
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/services/{service}"),
            Some((&ct, body)),
        )
        .await;
    if !s.is_success() {
        return Err(format!("PUT of the export answered {s}: {v}\n{export}"));
    }
    if v["definition"] != before["definition"] {
        return Err(format!(
            "the export stores a different definition:\n  stored   {}\n  exported {}",
            before["definition"], v["definition"]
        ));
    }
    if v["revision"] != before["revision"] {
        return Err(format!(
            "the export is not the stored document (PUT made revision {}):\n{export}",
            v["revision"]
        ));
    }
    Ok(())
}

/// The case's project files (everything but `compose.yaml` and `expect.yaml`), by relative path.
fn project_files(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        if entry.file_type().unwrap().is_dir() {
            project_files(&entry.path(), &format!("{rel}/"), out);
        } else if rel != "compose.yaml" && rel != "expect.yaml" {
            out.push((rel, std::fs::read_to_string(entry.path()).unwrap()));
        }
    }
}

/// `member: path` for every normalised field that differs, with both values.
fn compare(compose: &Deployment, sdmd: &Deployment) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let members: BTreeSet<&String> = compose.keys().chain(sdmd.keys()).collect();
    for m in members {
        match (compose.get(m), sdmd.get(m)) {
            (Some(a), Some(b)) => {
                for d in diff(a, b) {
                    out.push((format!("{m}: {}", d.path), format!("{m}: {d}")));
                }
            }
            (a, _) => out.push((
                format!("{m}: <container>"),
                format!(
                    "{m}: container only deployed by {}",
                    if a.is_some() { "compose" } else { "sdmd" }
                ),
            )),
        }
    }
    out
}

/// No container, network or volume of the project or service is left behind.
async fn assert_clean(project: &str, service: &str) -> Result<(), String> {
    let mut left = Vec::new();
    for label in [
        format!("com.docker.compose.project={project}"),
        format!("io.sdmd.service={service}"),
    ] {
        let filter = format!("label={label}");
        for kind in [
            ["ps", "-aq"].as_slice(),
            ["network", "ls", "-q"].as_slice(),
            ["volume", "ls", "-q"].as_slice(),
        ] {
            let mut args = kind.to_vec();
            args.extend(["--filter", filter.as_str()]);
            let out = docker_cli(&args).await?;
            left.extend(out.split_whitespace().map(|id| format!("{} {id}", kind[0])));
        }
    }
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("left behind: {left:?}"))
    }
}

/// Runs one case; `Ok(summary)` or `Err(a precise report)`.
async fn run_case(app: &TestApp, case: &Case) -> Result<String, String> {
    let project = unique_in(&case.name);
    let compose = deploy_compose(case, &project).await;
    let sdmd = deploy_sdmd(app, case, &project).await;
    assert_clean(&project, &project).await?;
    let compose = compose?;
    match (case.expect.expect, sdmd?) {
        (Status::Refused, SdmdOutcome::Refused(fields)) => {
            if fields == case.expect.refused {
                Ok(format!(
                    "refused as expected ({} field(s)); compose deployed {} container(s)",
                    fields.len(),
                    compose.len()
                ))
            } else {
                let now_accepted: Vec<_> = case.expect.refused.difference(&fields).collect();
                let newly_refused: Vec<_> = fields.difference(&case.expect.refused).collect();
                Err(format!(
                    "SDMD's refusal changed: no longer refused {now_accepted:?}, also refused {newly_refused:?}: update refused: in expect.yaml"
                ))
            }
        }
        (Status::Refused, SdmdOutcome::Deployed(_)) => Err(
            "SDMD now accepts and deploys this case: set `expect: parity` in its expect.yaml"
                .into(),
        ),
        (_, SdmdOutcome::Refused(fields)) => Err(format!("SDMD refused the case: {fields:?}")),
        (status, SdmdOutcome::Deployed(sdmd)) => {
            let diffs = compare(&compose, &sdmd);
            let paths: BTreeSet<String> = diffs.iter().map(|d| d.0.clone()).collect();
            let report = || {
                diffs
                    .iter()
                    .map(|d| format!("    {}", d.1))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            match status {
                Status::Parity if diffs.is_empty() => {
                    Ok(format!("parity ({} container(s))", sdmd.len()))
                }
                Status::Parity => Err(format!("{} field(s) differ:\n{}", diffs.len(), report())),
                _ if paths == case.expect.differences => Ok(format!(
                    "known differences only ({}): {paths:?}",
                    paths.len()
                )),
                _ => Err(format!(
                    "the differences changed (expected {:?}); now:\n{}",
                    case.expect.differences,
                    report()
                )),
            }
        }
    }
}

/// `cp<8 hex>-<case>`: a DNS-safe service name that is also a valid compose project name.
fn unique_in(case: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{PREFIX}{}-{case}", &id[..8])
}

/// Removes objects of earlier (crashed) runs: compose projects and SDMD services named like
/// ours and older than ten minutes (a concurrent run's objects are younger).
fn sweep_leftovers() {
    let ours = regex::Regex::new(&format!("^{PREFIX}[0-9a-f]{{8}}-")).unwrap();
    let cutoff = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    for label in ["com.docker.compose.project", "io.sdmd.service"] {
        let format = format!("{{{{.ID}}}} {{{{.Label \"{label}\"}}}}");
        for (kind, rm) in [
            (["ps", "-a"].as_slice(), ["rm", "-f", "-v"].as_slice()),
            (["network", "ls"].as_slice(), ["network", "rm"].as_slice()),
            (["volume", "ls"].as_slice(), ["volume", "rm"].as_slice()),
        ] {
            let mut args = kind.to_vec();
            let filter = format!("label={label}");
            let format = if kind[0] == "volume" {
                format.replace(".ID", ".Name")
            } else {
                format.clone()
            };
            args.extend(["--filter", &filter, "--format", &format]);
            for line in docker(&args).lines() {
                let Some((id, owner)) = line.split_once(' ') else {
                    continue;
                };
                if !ours.is_match(owner) {
                    continue;
                }
                let created = if kind[0] == "volume" {
                    docker(&["volume", "inspect", "-f", "{{.CreatedAt}}", id])
                } else {
                    docker(&["inspect", "-f", "{{.Created}}", id])
                };
                let created = chrono::DateTime::parse_from_rfc3339(created.trim())
                    .or_else(|_| {
                        chrono::DateTime::parse_from_str(created.trim(), "%Y-%m-%d %H:%M:%S %z %Z")
                    })
                    .map(|t| t.to_utc().to_rfc3339());
                if created.is_ok_and(|c| c < cutoff) {
                    let mut rm_args = rm.to_vec();
                    rm_args.push(id);
                    docker_ok(&rm_args);
                }
            }
        }
    }
}

#[test]
fn corpus_deploys_like_docker_compose() {
    let cases = load_cases();
    assert!(
        cases.len() >= 30,
        "the parity corpus has {} cases, the issue asks for at least 30",
        cases.len()
    );
    sweep_leftovers();
    with_db(|pool| async move {
        let app = TestApp::new(pool).await;
        let started = Instant::now();
        let results: Vec<(String, Status, Result<String, String>)> =
            futures_util::stream::iter(&cases)
                .map(|case| {
                    let app = &app;
                    async move {
                        let t = Instant::now();
                        let r = tokio::time::timeout(Duration::from_secs(120), run_case(app, case))
                            .await
                            .unwrap_or_else(|_| Err("timed out after 120 s".into()))
                            .map(|s| format!("{s} in {:.1?}", t.elapsed()));
                        (case.name.clone(), case.expect.expect, r)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut results = results;
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let mut failures = Vec::new();
        for (name, status, r) in &results {
            match r {
                Ok(summary) => eprintln!("ok   {name} [{status:?}]: {summary}"),
                Err(e) => {
                    eprintln!("FAIL {name} [{status:?}]: {e}");
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
        let count = |s| results.iter().filter(|r| r.1 == s).count();
        eprintln!(
            "{} cases in {:.1?}: {} parity, {} refused, {} known differences",
            results.len(),
            started.elapsed(),
            count(Status::Parity),
            count(Status::Refused),
            count(Status::Differs)
        );
        assert!(
            failures.is_empty(),
            "{} of {} parity case(s) failed:\n{}",
            failures.len(),
            results.len(),
            failures.join("\n")
        );
    });
}
