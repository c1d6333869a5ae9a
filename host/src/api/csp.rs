//! The hashes of the inline scripts SDMD serves, for a `script-src` without `'unsafe-inline'`.
//!
//! A Next.js static export inlines its bootstrap (`self.__next_f.push(…)`, the theme script);
//! a static export cannot carry per-request nonces, so each inline script is allowed by its
//! SHA-256 hash instead. The hashes are computed **at build time**: `frontend/tools/csp-hashes.mjs`
//! runs after `next build` (`npm run build`) and writes [`HASHES_FILE`] into the export. sdmd
//! reads that file when it builds its router. An export without the file (built by hand with
//! `next build` alone) has its HTML hashed here instead, with a warning. The API docs page is
//! compiled into the binary; its script is hashed from the embedded text.

use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The file the build writes into the export: `{"script_src": ["'sha256-…'", …], …}`.
pub const HASHES_FILE: &str = "csp-hashes.json";

/// `'sha256-<base64>'` of each inline script (a `<script>` without `src`) in `html`, in order.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let after_name = start + "<script".len();
        // `<scripts>` or `<script-x>` are other elements.
        if !lower[after_name..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            at = after_name;
            continue;
        }
        let Some(open_end) = lower[after_name..].find('>').map(|i| after_name + i) else {
            break;
        };
        let Some(close) = lower[open_end..].find("</script").map(|i| open_end + i) else {
            break;
        };
        let attrs = &lower[after_name..open_end];
        let body = &html[open_end + 1..close];
        if !has_src(attrs) {
            out.push(source(body));
        }
        at = close + "</script".len();
    }
    out
}

/// Whether a tag's attribute text has a `src` attribute.
fn has_src(attrs: &str) -> bool {
    attrs
        .split(|c: char| c.is_ascii_whitespace())
        .any(|a| a == "src" || a.starts_with("src="))
}

/// The CSP source of one script body.
pub fn source(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Whether `s` is exactly a SHA-256 hash source (nothing else from the file reaches the header).
fn is_hash_source(s: &str) -> bool {
    s.strip_prefix("'sha256-")
        .and_then(|r| r.strip_suffix('\''))
        .is_some_and(|b| {
            b.len() == 44
                && base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .is_ok_and(|d| d.len() == 32)
        })
}

/// The hash sources of the dashboard export in `dir`: from [`HASHES_FILE`], or computed from its
/// HTML files when the build did not write one.
pub fn ui_hashes(dir: &Path) -> Vec<String> {
    let file = dir.join(HASHES_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let list: Vec<String> = v
                    .get("script_src")
                    .and_then(|l| l.as_array())
                    .map(|l| {
                        l.iter()
                            .filter_map(|s| s.as_str())
                            .filter(|s| {
                                let ok = is_hash_source(s);
                                if !ok {
                                    tracing::warn!(file = %file.display(), entry = %s, "ignoring a CSP entry that is not a sha256 hash");
                                }
                                ok
                            })
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                tracing::debug!(file = %file.display(), hashes = list.len(), "dashboard script hashes (from the build)");
                return list;
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "unreadable CSP hash file: hashing the dashboard's HTML instead");
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(dir = %dir.display(), "the dashboard build has no {HASHES_FILE} (built without `npm run build`?): hashing its HTML at startup");
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "reading the CSP hash file: hashing the dashboard's HTML instead");
        }
    }
    let mut hashes = Vec::new();
    collect_html(dir, 0, &mut hashes);
    hashes
}

fn collect_html(dir: &Path, depth: usize, out: &mut Vec<String>) {
    // An export is a few levels deep; a symlink loop must not recurse forever.
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_html(&path, depth + 1, out);
        } else if path.extension().is_some_and(|e| e == "html")
            && let Ok(html) = std::fs::read_to_string(&path)
        {
            out.extend(inline_script_hashes(&html));
        }
    }
}

/// Every hash source to allow: the dashboard's and the embedded pages', sorted, unique.
pub fn script_hashes(ui_dir: Option<&Path>, embedded: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = ui_dir.map(ui_hashes).unwrap_or_default();
    for page in embedded {
        all.extend(inline_script_hashes(page));
    }
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<html><head><script>a()</script><script src="/x.js" async=""></script>
<SCRIPT type="module">b()</SCRIPT><scripts>no</scripts><script id="s" data-src="y">c()</script></head></html>"#;
        assert_eq!(
            inline_script_hashes(html),
            vec![source("a()"), source("b()"), source("c()")]
        );
        // The hash of `alert('Hello, world.');` as the CSP specification shows it.
        assert_eq!(
            source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
        assert!(is_hash_source(&source("x")));
        assert!(!is_hash_source("'unsafe-inline'"));
        assert!(!is_hash_source("'sha256-abc'; script-src *"));
    }
}
