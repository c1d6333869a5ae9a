//! Benchmark: what storing (and every deploy of) a 50-member compose file costs before the engine
//! is asked anything: `${VAR}` interpolation from the project's `.env` and validation into the
//! canonical definition (`project::resolve`), alone and with the YAML decoding (anchors and merge
//! keys) in front. Needs no engine or database. Prints p50/p99; asserts nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

const MEMBERS: usize = 50;
const ROUNDS: usize = 2000;

/// A file shaped like the stacks people run: an `x-` block merged into every member, env from
/// `.env` with defaults, ports, named and relative bind volumes, health checks, limits and a
/// dependency on the previous member.
fn document() -> String {
    let mut out = String::from(
        "name: bench50\nx-common: &common\n  restart: unless-stopped\n  init: true\n  labels: {tier: bench}\n  logging: {driver: json-file, options: {max-size: 10m}}\nservices:\n",
    );
    for i in 0..MEMBERS {
        out.push_str(&format!(
            r#"  app{i}:
    <<: *common
    image: ${{REGISTRY:-127.0.0.1:5000}}/bench/app{i}:${{TAG:-1.0}}
    environment:
      DB_URL: postgres://${{DB_USER}}:${{DB_PASSWORD}}@db:5432/app{i}
      MODE: ${{MODE:-production}}
      INDEX: "{i}"
    ports: ["127.0.0.1:${{BASE_PORT:-200}}{i:02}:80"]
    volumes: ["data{i}:/data", "./config/app{i}:/config:ro"]
    healthcheck:
      test: ["CMD-SHELL", "wget -q -T 2 -O- http://127.0.0.1/ || exit 1"]
      interval: 10s
      timeout: 3s
      retries: 3
    mem_limit: 256m
    cap_drop: [ALL]
"#
        ));
        if i > 0 {
            out.push_str(&format!(
                "    depends_on:\n      app{}: {{condition: service_started}}\n",
                i - 1
            ));
        }
    }
    out.push_str("volumes:\n");
    for i in 0..MEMBERS {
        out.push_str(&format!("  data{i}: {{}}\n"));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn measure(mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..100 {
        f();
    }
    let mut t = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let s = Instant::now();
        f();
        t.push(s.elapsed());
    }
    t.sort();
    (percentile(&t, 0.5), percentile(&t, 0.99))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let yaml = document();
    let env = b"DB_USER=app\nDB_PASSWORD='s3cr$$et'\nTAG=2.4.1\n".to_vec();
    let dir = std::path::Path::new("/srv/stacks/bench50");
    let globals = |_: &str| None;
    let files: indexmap::IndexMap<String, Vec<u8>> =
        [(".env".to_owned(), env)].into_iter().collect();
    let resolve = |source: serde_json::Value| {
        let project = sdmd_model::project::Project {
            source,
            files: files.clone(),
        };
        sdmd_model::project::resolve(&project, &globals, dir).unwrap()
    };
    let decoded = sdmd_model::spec::yaml_document(yaml.as_bytes()).unwrap();
    let r = resolve(decoded.clone());
    assert_eq!(r.definition.services.len(), MEMBERS);
    assert_eq!(
        r.definition.services["app7"].image,
        "127.0.0.1:5000/bench/app7:2.4.1"
    );
    // What the target names: interpolation (from the `.env`), env files, relative paths and
    // validation into the canonical definition, of the decoded document (a JSON body starts
    // here; so does every deploy, from the stored document).
    let project = sdmd_model::project::Project {
        source: decoded,
        files: files.clone(),
    };
    let (r50, r99) = measure(|| {
        std::hint::black_box(sdmd_model::project::resolve(&project, &globals, dir).unwrap());
    });
    // And with the YAML decoding (anchors and merge keys) in front, as a YAML body costs.
    let (y50, y99) = measure(|| {
        std::hint::black_box(resolve(
            sdmd_model::spec::yaml_document(yaml.as_bytes()).unwrap(),
        ));
    });
    // The split by phase: interpolation alone, and validation alone of the interpolated document.
    let lookup = |k: &str| match k {
        "DB_USER" => Some("app".to_owned()),
        "DB_PASSWORD" => Some("s3cr$et".to_owned()),
        "TAG" => Some("2.4.1".to_owned()),
        _ => None,
    };
    let (i50, i99) = measure(|| {
        std::hint::black_box(sdmd_model::spec::interpolate::interpolate(
            &project.source,
            lookup,
        ));
    });
    // (relative binds anchored as `project::resolve` does, which `spec::parse` expects)
    let interpolated: serde_json::Value = serde_json::from_str(
        &serde_json::to_string(
            &sdmd_model::spec::interpolate::interpolate(&project.source, lookup).value,
        )
        .unwrap()
        .replace("./config/", "/srv/stacks/bench50/config/"),
    )
    .unwrap();
    let (p50, p99) = measure(|| {
        std::hint::black_box(sdmd_model::spec::parse(&interpolated).unwrap());
    });
    let (d50, d99) = measure(|| {
        std::hint::black_box(sdmd_model::spec::yaml_document(yaml.as_bytes()).unwrap());
    });
    println!(
        "{MEMBERS}-member file ({} bytes) + .env, {ROUNDS} rounds each",
        yaml.len()
    );
    println!("{:<52} {:>9} {:>9}", "", "p50", "p99");
    for (label, p50, p99) in [
        ("interpolation + validation (project::resolve)", r50, r99),
        (
            "  of which interpolation (interpolate::interpolate)",
            i50,
            i99,
        ),
        ("  of which validation (spec::parse)", p50, p99),
        ("YAML decode alone (spec::yaml_document)", d50, d99),
        ("YAML decode + interpolation + validation", y50, y99),
    ] {
        println!("{label:<52} {:>7.3}ms {:>7.3}ms", ms(p50), ms(p99));
    }
    println!("target: interpolation + validation p50 < 2 ms");
}
