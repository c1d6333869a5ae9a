//! Authentication settings (docs/auth.md): flags mirror environment variables.

use clap::{Args, ValueEnum};

use std::path::PathBuf;

/// Where user tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum AuthMode {
    /// SDMD issues and verifies tokens itself (GoTrue-compatible).
    #[default]
    Builtin,
    /// Tokens come from a self-hosted Supabase; SDMD verifies them.
    Supabase,
}

/// Authentication settings (docs/auth.md).
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// `builtin` or `supabase`.
    #[arg(
        long = "auth-mode",
        env = "SDMD_AUTH_MODE",
        value_enum,
        default_value = "builtin"
    )]
    pub mode: AuthMode,
    /// Supabase project URL (supabase mode): its JWKS is fetched from here, and the dashboard signs in there.
    #[arg(long, env = "SUPABASE_URL")]
    pub supabase_url: Option<String>,
    /// Supabase JWT secret (HS256), used as raw bytes.
    #[arg(long, env = "SUPABASE_JWT_SECRET", hide_env_values = true)]
    pub supabase_jwt_secret: Option<String>,
    /// Supabase anon key, handed to the dashboard through `/config.json` (public by design).
    #[arg(long, env = "SUPABASE_ANON_KEY")]
    pub supabase_anon_key: Option<String>,
    /// Accepted algorithms in supabase mode, comma-separated (`HS256,ES256,RS256`); by default
    /// HS256 when a secret is set plus ES256/RS256 when a URL is set.
    #[arg(long, env = "SDMD_JWT_ALGORITHMS")]
    pub jwt_algorithms: Option<String>,
    /// Required `iss` in supabase mode (checked only when set).
    #[arg(long, env = "SUPABASE_JWT_ISSUER")]
    pub supabase_jwt_issuer: Option<String>,
    /// Minimum seconds between two fetches of the Supabase JWKS (a token with an unknown `kid`
    /// triggers a refetch at most this often).
    #[arg(long, env = "SDMD_JWKS_MIN_REFETCH_SECS", default_value_t = 30)]
    pub jwks_min_refetch_secs: u64,
    /// Lifetime of built-in access tokens, in seconds.
    #[arg(long, env = "SDMD_JWT_EXPIRY", default_value_t = 3600)]
    pub jwt_expiry: u32,
    /// Absolute lifetime of a built-in session, in seconds (default 30 days): after it, its
    /// refresh token is refused and its access tokens stop working, however active it was.
    #[arg(long, env = "SDMD_SESSION_LIFETIME_SECS", default_value_t = 30 * 24 * 3600)]
    pub session_lifetime_secs: u64,
    /// Idle timeout of a built-in session, in seconds (default 7 days): a session not refreshed
    /// (nor signed in) for this long ends. At least `SDMD_JWT_EXPIRY`, since clients refresh
    /// only when their access token is about to expire.
    #[arg(long, env = "SDMD_SESSION_IDLE_SECS", default_value_t = 7 * 24 * 3600)]
    pub session_idle_secs: u64,
    /// Supabase mode: administrators by email and/or user id (comma-separated). With
    /// `SDMD_SUPABASE_ADMIN_CLAIM`, a user matching either is admitted; nobody else is.
    #[arg(long, env = "SDMD_SUPABASE_ADMINS")]
    pub supabase_admins: Option<String>,
    /// Supabase mode: a claim that admits its holder, as a dotted path that must be `true`
    /// (`app_metadata.sdmd_admin`) or `path=value` (`app_metadata.role=sdmd_admin`).
    #[arg(long, env = "SDMD_SUPABASE_ADMIN_CLAIM")]
    pub supabase_admin_claim: Option<String>,
    /// First administrator, created when no user exists.
    #[arg(long, env = "SDMD_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the first administrator.
    #[arg(long, env = "SDMD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// File holding the first administrator's password (a Docker secret, for instance).
    #[arg(long, env = "SDMD_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Builtin,
            supabase_url: None,
            supabase_jwt_secret: None,
            supabase_anon_key: None,
            jwt_algorithms: None,
            supabase_jwt_issuer: None,
            jwks_min_refetch_secs: 30,
            supabase_admins: None,
            supabase_admin_claim: None,
            jwt_expiry: 3600,
            session_lifetime_secs: 30 * 24 * 3600,
            session_idle_secs: 7 * 24 * 3600,
            admin_email: None,
            admin_password: None,
            admin_password_file: None,
        }
    }
}

impl AuthConfig {
    /// Treats empty values (`SUPABASE_JWT_SECRET=` in an env file) as unset: an empty HS256
    /// secret must never become a key anyone can sign with.
    pub fn normalized(mut self) -> Self {
        for v in [
            &mut self.supabase_url,
            &mut self.supabase_jwt_secret,
            &mut self.supabase_anon_key,
            &mut self.jwt_algorithms,
            &mut self.supabase_jwt_issuer,
            &mut self.supabase_admins,
            &mut self.supabase_admin_claim,
            &mut self.admin_email,
            &mut self.admin_password,
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *v = None;
            }
        }
        self
    }

    /// Refuses configurations that cannot work or would be unsafe.
    pub fn validate(&self) -> Result<(), String> {
        if self.session_idle_secs < u64::from(self.jwt_expiry) {
            return Err(format!(
                "SDMD_SESSION_IDLE_SECS ({}) must be at least SDMD_JWT_EXPIRY ({}): clients refresh only when their access token is about to expire, so active sessions would end",
                self.session_idle_secs, self.jwt_expiry
            ));
        }
        if self.session_lifetime_secs < self.session_idle_secs {
            return Err(format!(
                "SDMD_SESSION_LIFETIME_SECS ({}) must be at least SDMD_SESSION_IDLE_SECS ({})",
                self.session_lifetime_secs, self.session_idle_secs
            ));
        }
        if self.mode != AuthMode::Supabase {
            return Ok(());
        }
        if self.supabase_url.is_none() && self.supabase_jwt_secret.is_none() {
            return Err("SDMD_AUTH_MODE=supabase needs SUPABASE_URL (JWKS) and/or SUPABASE_JWT_SECRET (HS256)".into());
        }
        let admission = self.admission()?;
        if admission.is_empty() {
            return Err("SDMD_AUTH_MODE=supabase admits nobody yet: every administrator is root on the host, so a valid Supabase account is not enough. Set SDMD_SUPABASE_ADMINS (emails and/or user ids, comma-separated) and/or SDMD_SUPABASE_ADMIN_CLAIM (e.g. app_metadata.sdmd_admin, set with the service role); see docs/auth.md".into());
        }
        if let Some(secret) = &self.supabase_jwt_secret
            && secret.len() < 32
        {
            return Err(
                "SUPABASE_JWT_SECRET must be at least 32 characters (as Supabase requires)".into(),
            );
        }
        if let Some(list) = &self.jwt_algorithms {
            for a in list.split(',') {
                let a = a.trim().to_ascii_uppercase();
                if !["HS256", "ES256", "RS256"].contains(&a.as_str()) {
                    return Err(format!(
                        "SDMD_JWT_ALGORITHMS: `{a}` is not one of HS256, ES256, RS256"
                    ));
                }
                if a == "HS256" && self.supabase_jwt_secret.is_none() {
                    return Err(
                        "SDMD_JWT_ALGORITHMS allows HS256 but SUPABASE_JWT_SECRET is unset".into(),
                    );
                }
                if a != "HS256" && self.supabase_url.is_none() {
                    return Err(format!(
                        "SDMD_JWT_ALGORITHMS allows {a} but SUPABASE_URL (for the JWKS) is unset"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The supabase-mode admission rules (`SDMD_SUPABASE_ADMINS`, `SDMD_SUPABASE_ADMIN_CLAIM`).
    pub fn admission(&self) -> Result<super::admission::Admission, String> {
        super::admission::Admission::parse(
            self.supabase_admins.as_deref(),
            self.supabase_admin_claim.as_deref(),
        )
    }

    /// The `iss` of built-in tokens.
    pub fn issuer(&self) -> String {
        "sdmd".into()
    }

    /// The first administrator's password, from the variable or the file (trailing newline dropped).
    pub fn admin_password(&self) -> std::io::Result<Option<String>> {
        if let Some(p) = &self.admin_password {
            return Ok(Some(p.clone()));
        }
        match &self.admin_password_file {
            Some(f) => Ok(Some(
                std::fs::read_to_string(f)?
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
            )),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supabase(secret: Option<&str>, url: Option<&str>, algs: Option<&str>) -> AuthConfig {
        AuthConfig {
            mode: AuthMode::Supabase,
            supabase_jwt_secret: secret.map(Into::into),
            supabase_url: url.map(Into::into),
            jwt_algorithms: algs.map(Into::into),
            supabase_admins: Some("admin@example.com".into()),
            ..AuthConfig::default()
        }
        .normalized()
    }

    #[test]
    fn empty_values_are_unset_and_unsafe_settings_refused() {
        let long = "x".repeat(32);
        // An empty secret from an env file is no secret at all.
        assert!(supabase(Some(""), None, None).supabase_jwt_secret.is_none());
        assert!(supabase(Some(""), None, None).validate().is_err());
        assert!(supabase(Some("short"), None, None).validate().is_err());
        assert!(supabase(Some(&long), None, None).validate().is_ok());
        assert!(
            supabase(None, Some("https://sb.example"), None)
                .validate()
                .is_ok()
        );
        assert!(
            supabase(None, Some("https://sb.example"), Some("HS256"))
                .validate()
                .is_err()
        );
        assert!(
            supabase(Some(&long), None, Some("ES256"))
                .validate()
                .is_err()
        );
        assert!(
            supabase(Some(&long), None, Some("none"))
                .validate()
                .is_err()
        );
        assert!(AuthConfig::default().validate().is_ok());
    }

    #[test]
    fn supabase_mode_needs_an_admission_policy() {
        let long = "x".repeat(32);
        let none = AuthConfig {
            supabase_admins: None,
            ..supabase(Some(&long), None, None)
        };
        let err = none.validate().unwrap_err();
        assert!(
            err.contains("SDMD_SUPABASE_ADMINS") && err.contains("SDMD_SUPABASE_ADMIN_CLAIM"),
            "{err}"
        );
        let claim = AuthConfig {
            supabase_admins: None,
            supabase_admin_claim: Some("app_metadata.sdmd_admin".into()),
            ..supabase(Some(&long), None, None)
        };
        assert!(claim.validate().is_ok());
        let everyone = AuthConfig {
            supabase_admin_claim: Some("user_metadata.admin".into()),
            ..claim
        };
        assert!(everyone.validate().unwrap_err().contains("user_metadata"));
        // Built-in mode has no use for the policy.
        assert!(AuthConfig::default().validate().is_ok());
    }

    #[test]
    fn session_limits_are_configurable_and_checked() {
        let d = AuthConfig::default();
        assert_eq!(d.session_lifetime_secs, 30 * 24 * 3600);
        assert_eq!(d.session_idle_secs, 7 * 24 * 3600);
        let short_idle = AuthConfig {
            session_idle_secs: 600,
            ..AuthConfig::default()
        };
        assert!(
            short_idle
                .validate()
                .unwrap_err()
                .contains("SDMD_SESSION_IDLE_SECS")
        );
        let idle_over_lifetime = AuthConfig {
            session_lifetime_secs: 3600,
            session_idle_secs: 7200,
            ..AuthConfig::default()
        };
        assert!(idle_over_lifetime.validate().is_err());
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            auth: AuthConfig,
        }
        let parsed = <Cli as clap::Parser>::try_parse_from([
            "sdmd",
            "--session-lifetime-secs",
            "86400",
            "--session-idle-secs",
            "7200",
        ])
        .unwrap();
        assert_eq!(parsed.auth.session_lifetime_secs, 86_400);
        assert_eq!(parsed.auth.session_idle_secs, 7200);
        assert!(parsed.auth.validate().is_ok());
    }
}
