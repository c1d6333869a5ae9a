//! The built-in issuer's ES256 key: generated once, stored in PostgreSQL, cached per process.

use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

use super::AuthError;
use crate::db::auth::{self as db, SigningKey};

/// The loaded key pair and its public JWK.
pub struct Keys {
    /// Key id (`kid` header).
    pub kid: String,
    /// Signs access tokens.
    pub encoding: EncodingKey,
    /// Verifies them.
    pub decoding: DecodingKey,
    /// The public key as served by the JWKS endpoint.
    pub jwk: PublicJwk,
}

/// One public key in a JWKS document (RFC 7517).
#[derive(Debug, Clone)]
pub struct PublicJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// base64url X coordinate.
    pub x: String,
    /// base64url Y coordinate.
    pub y: String,
    /// Key id.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    pub use_: String,
    /// `["verify"]`.
    pub key_ops: Vec<String>,
}

/// Loads the key once per process.
#[derive(Default)]
pub struct KeyCache {
    cell: tokio::sync::OnceCell<Keys>,
}

impl KeyCache {
    /// The key, loading or creating it on first use.
    pub async fn get(&self, pool: &crate::db::PgPool) -> Result<&Keys, AuthError> {
        self.cell.get_or_try_init(|| load_or_create(pool)).await
    }
}

async fn load_or_create(pool: &crate::db::PgPool) -> Result<Keys, AuthError> {
    if let Some(k) = db::signing_key(pool).await? {
        return parse(&k);
    }
    let generated = generate()?;
    db::insert_signing_key_if_none(pool, &generated).await?;
    // Another replica may have won the race: use what is stored.
    let stored = db::signing_key(pool)
        .await?
        .ok_or_else(|| AuthError::Internal("signing key vanished".into()))?;
    tracing::info!(kid = %stored.kid, "token signing key ready");
    parse(&stored)
}

/// A fresh P-256 key pair.
fn generate() -> Result<SigningKey, AuthError> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| AuthError::Internal(format!("generating the signing key: {e}")))?;
    let raw = pair.public_key_raw();
    // Uncompressed SEC1 point: 0x04 ‖ X (32) ‖ Y (32).
    if raw.len() != 65 || raw[0] != 4 {
        return Err(AuthError::Internal("unexpected public key encoding".into()));
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let kid = hex::encode(&Sha256::digest(raw)[..8]);
    Ok(SigningKey {
        kid,
        algorithm: "ES256".into(),
        private_pem: pair.serialize_pem(),
        public_x: b64.encode(&raw[1..33]),
        public_y: b64.encode(&raw[33..65]),
    })
}

fn parse(k: &SigningKey) -> Result<Keys, AuthError> {
    let encoding = EncodingKey::from_ec_pem(k.private_pem.as_bytes())
        .map_err(|e| AuthError::Internal(format!("stored signing key: {e}")))?;
    let decoding = DecodingKey::from_ec_components(&k.public_x, &k.public_y)
        .map_err(|e| AuthError::Internal(format!("stored public key: {e}")))?;
    Ok(Keys {
        kid: k.kid.clone(),
        encoding,
        decoding,
        jwk: PublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: k.public_x.clone(),
            y: k.public_y.clone(),
            kid: k.kid.clone(),
            alg: "ES256".into(),
            use_: "sig".into(),
            key_ops: vec!["verify".into()],
        },
    })
}
