//! Who of a Supabase project's users is an SDMD administrator (supabase mode only).
//!
//! Every administrator is root on the host (through the Docker socket), so a valid Supabase
//! token alone admits nobody. A user is admitted when either rule matches:
//!
//! - `SDMD_SUPABASE_ADMINS`: a comma-separated list of emails (case-insensitive) and/or user ids
//!   (`sub`, UUIDs);
//! - `SDMD_SUPABASE_ADMIN_CLAIM`: a claim of the access token, as a dotted path, that must be
//!   JSON `true` (`app_metadata.sdmd_admin`) or, written `path=value`, a string equal to the
//!   value or an array containing it (`app_metadata.role=sdmd_admin`, `user_role=admin` from a
//!   custom access token hook).
//!
//! Claims a user can set themselves (`user_metadata.*`, editable through `updateUser`) and
//! claims every user's token carries (`aud`, `email`, `app_metadata.provider`, `role` without a
//! value or `role=authenticated`, …) are refused at startup: they would admit everyone.
//! Anonymous users (`is_anonymous: true`) are never admitted, whatever the rules say.

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

/// The parsed admission rules.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    emails: HashSet<String>,
    ids: HashSet<Uuid>,
    claim: Option<ClaimRule>,
}

/// A required claim: `path` (segments) is `true`, or equals / contains `value`.
#[derive(Debug, Clone)]
struct ClaimRule {
    path: Vec<String>,
    value: Option<String>,
}

/// Top-level claims every user's token has (or that the user controls): never a policy.
const UNIVERSAL_CLAIMS: &[&str] = &[
    "aud",
    "sub",
    "exp",
    "iat",
    "nbf",
    "iss",
    "jti",
    "email",
    "phone",
    "session_id",
    "aal",
    "amr",
    "is_anonymous",
    "user_metadata",
];

impl Admission {
    /// Parses `SDMD_SUPABASE_ADMINS` and `SDMD_SUPABASE_ADMIN_CLAIM`; the error names the
    /// variable and what is wrong.
    pub fn parse(admins: Option<&str>, claim: Option<&str>) -> Result<Self, String> {
        let mut a = Self::default();
        for entry in admins.unwrap_or_default().split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if let Ok(id) = Uuid::parse_str(entry) {
                a.ids.insert(id);
            } else if entry.contains('@') && !entry.contains(char::is_whitespace) {
                a.emails.insert(entry.to_lowercase());
            } else {
                return Err(format!(
                    "SDMD_SUPABASE_ADMINS: `{entry}` is neither an email nor a user id (UUID)"
                ));
            }
        }
        if let Some(spec) = claim.map(str::trim).filter(|s| !s.is_empty()) {
            a.claim = Some(ClaimRule::parse(spec)?);
        }
        Ok(a)
    }

    /// No rule at all: nobody would be admitted.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.ids.is_empty() && self.claim.is_none()
    }

    /// Whether the user of these (verified) claims is an administrator. `claims` is the whole
    /// payload as JSON, so custom top-level claims can be required.
    pub fn admits(&self, user_id: Uuid, email: Option<&str>, claims: &Value) -> bool {
        if claims.get("is_anonymous") == Some(&Value::Bool(true)) {
            return false;
        }
        if self.ids.contains(&user_id) {
            return true;
        }
        if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty())
            && self.emails.contains(&email.to_lowercase())
        {
            return true;
        }
        self.claim.as_ref().is_some_and(|rule| rule.matches(claims))
    }
}

impl ClaimRule {
    fn parse(spec: &str) -> Result<Self, String> {
        let (path, value) = match spec.split_once('=') {
            Some((p, v)) => (p.trim(), Some(v.trim().to_owned())),
            None => (spec, None),
        };
        if value.as_deref() == Some("") {
            return Err(format!(
                "SDMD_SUPABASE_ADMIN_CLAIM: `{spec}` has an empty value after `=`"
            ));
        }
        let segments: Vec<String> = path.split('.').map(|s| s.trim().to_owned()).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "SDMD_SUPABASE_ADMIN_CLAIM: `{path}` is not a dotted claim path (e.g. app_metadata.sdmd_admin)"
            ));
        }
        let first = segments[0].as_str();
        if UNIVERSAL_CLAIMS.contains(&first) {
            return Err(format!(
                "SDMD_SUPABASE_ADMIN_CLAIM: `{path}` is carried by every user's token or set by the user (user_metadata is editable through updateUser); use app_metadata (set only with the service role) or a claim your access token hook adds"
            ));
        }
        if first == "app_metadata"
            && matches!(
                segments.get(1).map(String::as_str),
                Some("provider" | "providers") | None
            )
        {
            return Err(format!(
                "SDMD_SUPABASE_ADMIN_CLAIM: `{path}` is set for every user; name a key of your own, e.g. app_metadata.sdmd_admin"
            ));
        }
        if first == "role"
            && segments.len() == 1
            && matches!(
                value.as_deref(),
                None | Some("authenticated" | "anon" | "service_role")
            )
        {
            return Err(
                "SDMD_SUPABASE_ADMIN_CLAIM: `role` must name a role of your own (role=<name>), not authenticated, anon or service_role".into(),
            );
        }
        Ok(Self {
            path: segments,
            value,
        })
    }

    fn matches(&self, claims: &Value) -> bool {
        let mut at = claims;
        for seg in &self.path {
            match at.get(seg) {
                Some(v) => at = v,
                None => return false,
            }
        }
        match &self.value {
            None => at == &Value::Bool(true),
            Some(want) => match at {
                Value::String(s) => s == want,
                Value::Array(items) => items.iter().any(|i| i.as_str() == Some(want)),
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_and_claims_admit_and_nothing_else_does() {
        let id = Uuid::new_v4();
        let a = Admission::parse(Some(&format!(" Alice@Example.com, {id} ,")), None).unwrap();
        let plain = json!({"role": "authenticated"});
        assert!(a.admits(Uuid::new_v4(), Some("alice@example.COM"), &plain));
        assert!(a.admits(id, None, &plain));
        assert!(!a.admits(Uuid::new_v4(), Some("bob@example.com"), &plain));
        // Anonymous users never, even when listed.
        assert!(!a.admits(id, None, &json!({"is_anonymous": true})));

        let flag = Admission::parse(None, Some("app_metadata.sdmd_admin")).unwrap();
        assert!(flag.admits(id, None, &json!({"app_metadata": {"sdmd_admin": true}})));
        assert!(!flag.admits(id, None, &json!({"app_metadata": {"sdmd_admin": "true"}})));
        assert!(!flag.admits(id, None, &json!({"user_metadata": {"sdmd_admin": true}})));
        let role = Admission::parse(None, Some("app_metadata.roles=ops")).unwrap();
        assert!(role.admits(
            id,
            None,
            &json!({"app_metadata": {"roles": ["dev", "ops"]}})
        ));
        assert!(!role.admits(id, None, &json!({"app_metadata": {"roles": ["dev"]}})));
        let top = Admission::parse(None, Some("user_role=admin")).unwrap();
        assert!(top.admits(id, None, &json!({"user_role": "admin"})));
        assert!(!top.admits(id, None, &json!({"user_role": "viewer"})));
    }

    #[test]
    fn rules_that_would_admit_everyone_are_refused() {
        assert!(Admission::parse(None, None).unwrap().is_empty());
        assert!(Admission::parse(Some(" , "), Some(" ")).unwrap().is_empty());
        for bad in [
            "user_metadata.sdmd_admin",
            "aud=authenticated",
            "email",
            "role",
            "role=authenticated",
            "app_metadata",
            "app_metadata.provider=email",
            "is_anonymous",
            "app_metadata..x",
            "app_metadata.role=",
        ] {
            assert!(Admission::parse(None, Some(bad)).is_err(), "{bad} accepted");
        }
        assert!(Admission::parse(Some("not-an-email"), None).is_err());
        assert!(Admission::parse(None, Some("role=sdmd_admin")).is_ok());
    }
}
