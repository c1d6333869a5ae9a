//! `sdmd plugin new|inspect|test` through the real binary.

mod support;

use support::plugins::wasm_path as dist;

fn sdmd(args: &[&str], dir: &std::path::Path) -> (bool, String, String) {
    let out = support::process::sdmd()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sdmd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn inspect_and_test_a_plugin_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = dist("semver-strategy");
    let wasm = wasm.to_str().expect("utf-8 path");
    let (ok, out, err) = sdmd(&["plugin", "inspect", wasm], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["manifest"]["id"], "semver-strategy");
    assert_eq!(v["wit"], "0.1.0");
    assert!(
        v["exports"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == "sdmd:plugin/strategy@0.1.0")),
        "{v}"
    );

    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        r#"{"current": {"reference": "r/a:1.0.0", "repository": "r/a", "tag": "1.0.0"},
        "candidates": [{"tag": "1.0.1"}, {"tag": "2.0.0"}]}"#,
    )
    .expect("write");
    let input = input.to_str().expect("utf-8 path");
    let (ok, out, err) = sdmd(
        &[
            "plugin",
            "test",
            wasm,
            "--input",
            input,
            "--grant",
            "registry",
            "--config",
            r#"{"threshold":"minor"}"#,
        ],
        dir.path(),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["output"]["candidate"]["tag"], "1.0.1", "{v}");
    assert!(v["duration_ms"].as_f64().is_some(), "{v}");

    // Not granted: refused with the reason, non-zero exit.
    let (ok, _, err) = sdmd(&["plugin", "test", wasm, "--input", input], dir.path());
    assert!(!ok);
    assert!(err.contains("needs registry"), "{err}");
}

#[test]
fn new_scaffolds_a_valid_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out, err) = sdmd(
        &["plugin", "new", "my-notifier", "--kind", "notifier"],
        dir.path(),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("cargo build --release --target wasm32-wasip2"),
        "{out}"
    );
    let root = dir.path().join("my-notifier");
    for f in ["Cargo.toml", "plugin.json", "src/lib.rs", "sample.json"] {
        assert!(root.join(f).exists(), "{f} missing");
    }
    let manifest = std::fs::read(root.join("plugin.json")).expect("manifest");
    let m = sdmd::plugins::Manifest::from_json(&manifest).expect("a valid manifest");
    assert_eq!(m.id, "my-notifier");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(cargo.contains(r#"features = ["notifier"]"#), "{cargo}");
    // The SDK path it points at exists.
    let sdk_line = cargo
        .lines()
        .find(|l| l.starts_with("sdmd-plugin"))
        .expect("sdk dependency");
    let path = sdk_line.split('"').nth(1).expect("path");
    assert!(
        std::path::Path::new(path).join("Cargo.toml").exists(),
        "{sdk_line}"
    );
    let (ok, _, err) = sdmd(
        &["plugin", "new", "my-notifier", "--kind", "notifier"],
        dir.path(),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
}
