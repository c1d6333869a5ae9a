//! The `registry` capability's scope: a strategy may only ask about the repository of the image
//! it is deciding on.

/// Whether `reference` (`repo` or `repo:tag`) names the repository `scope`.
pub fn in_scope(scope: &str, reference: &str) -> bool {
    let repo = match reference.rsplit_once(':') {
        // A colon after the last slash separates the tag; one before it is a registry port.
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    };
    !scope.is_empty() && repo == scope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope() {
        assert!(in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/app"
        ));
        assert!(in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/app:1.2.3"
        ));
        assert!(!in_scope(
            "127.0.0.1:5000/demo/app",
            "127.0.0.1:5000/demo/other:1"
        ));
        assert!(!in_scope(
            "127.0.0.1:5000/demo/app",
            "169.254.169.254/demo/app"
        ));
        assert!(!in_scope("", "x"));
    }
}
