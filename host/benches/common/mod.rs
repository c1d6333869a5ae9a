//! Shared by the benchmarks that need the engine and a database of their own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// Debian's CLI (its classic builder works offline).
pub const DOCKER: &str = "/usr/bin/docker";

/// Runs the docker CLI, panicking with its stderr on failure; returns stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new(DOCKER)
        .env("DOCKER_BUILDKIT", "0")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh database next to the one `DATABASE_URL` names; dropped when this goes away.
pub struct BenchDb {
    admin_url: String,
    name: String,
    /// URL of the fresh database.
    pub url: String,
}

fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql")
        .args([url, "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql {sql}");
}

impl BenchDb {
    /// Creates `<prefix>_<pid>` on the server of `DATABASE_URL`.
    pub fn create(prefix: &str) -> Self {
        let admin_url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL: the test PostgreSQL (make bench sets it)");
        let name = format!("{prefix}_{}", std::process::id());
        psql(&admin_url, &format!("create database {name}"));
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("DATABASE_URL has no database part"),
        };
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("drop database {} with (force)", self.name),
        );
    }
}
