//! Supabase mode: the project's public keys from `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`,
//! cached for [`MAX_AGE`], refetched when a token names an unknown `kid` — at most once per
//! `SDMD_JWKS_MIN_REFETCH_SECS` (default 30 s), so a flood of forged `kid`s cannot turn SDMD into
//! a request amplifier.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::AuthError;

/// How long fetched keys are trusted without refetching.
pub const MAX_AGE: Duration = Duration::from_secs(10 * 60);

struct Cached {
    keys: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

/// The JWKS of one Supabase project.
pub struct JwksCache {
    url: String,
    min_refetch: Duration,
    http: reqwest::Client,
    state: tokio::sync::Mutex<Cached>,
}

impl JwksCache {
    /// A cache for the JWKS at `url` (nothing is fetched until a token needs it).
    pub fn new(url: String, min_refetch: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            url,
            min_refetch,
            http,
            state: tokio::sync::Mutex::new(Cached {
                keys: HashMap::new(),
                fetched_at: None,
                attempted_at: None,
            }),
        }
    }

    /// The key with `kid`, usable for `alg` (the key's own `alg`, when present, must agree).
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        let mut st = self.state.lock().await;
        let fresh = st.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE);
        if !fresh || !st.keys.contains_key(kid) {
            let may_fetch = st
                .attempted_at
                .is_none_or(|t| t.elapsed() >= self.min_refetch);
            if may_fetch {
                st.attempted_at = Some(Instant::now());
                match self.fetch().await {
                    Ok(keys) => {
                        st.keys = keys;
                        st.fetched_at = Some(Instant::now());
                    }
                    // Keep serving the keys we have; a token with an unknown kid fails below.
                    Err(e) => {
                        tracing::warn!(url = %self.url, error = %e, "fetching the Supabase JWKS failed")
                    }
                }
            }
        }
        let (key, key_alg) = st
            .keys
            .get(kid)
            .ok_or_else(|| AuthError::Unauthorized("unknown key id".into()))?;
        if key_alg.is_some_and(|a| a != alg) {
            return Err(AuthError::Unauthorized(
                "the key does not allow this algorithm".into(),
            ));
        }
        Ok(key.clone())
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, (DecodingKey, Option<Algorithm>)>> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut out = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            // Symmetric keys never come from a public JWKS.
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                continue;
            }
            let alg = match jwk.common.key_algorithm {
                Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
                Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
                Some(_) => continue,
                None => None,
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(k) => {
                    out.insert(kid, (k, alg));
                }
                Err(e) => tracing::warn!(kid, error = %e, "skipping an unusable JWKS key"),
            }
        }
        Ok(out)
    }
}
