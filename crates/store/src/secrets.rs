//! Secrets at rest (registry passwords): sealed with ChaCha20-Poly1305 under `SDMD_SECRET_KEY`
//! (32 bytes, base64). Every replica must share the key; without one in the environment it is
//! generated once into the data directory (mode 0600).

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Seals and opens secrets with the installation's key.
pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// A sealed value that could not be opened (wrong key, or altered).
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted: is SDMD_SECRET_KEY the one it was stored with?")]
pub struct OpenError;

impl SecretBox {
    fn from_key(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() != 32 {
            bail!(
                "SDMD_SECRET_KEY must be 32 bytes (base64), not {}",
                bytes.len()
            );
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| anyhow::anyhow!("invalid secret key"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// A box with a fresh random key (tests, and the first start).
    pub fn random() -> anyhow::Result<Self> {
        let mut k = [0u8; 32];
        SystemRandom::new()
            .fill(&mut k)
            .map_err(|_| anyhow::anyhow!("the system RNG failed"))?;
        Self::from_key(&k)
    }

    /// The key from `SDMD_SECRET_KEY` when given, else from `<data_dir>/secret.key`, created on
    /// first start.
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let k =
            master_key(env_key, data_dir, true)?.ok_or_else(|| anyhow::anyhow!("no secret key"))?;
        Self::from_key(&k)
    }

    /// Seals `plain`, bound to `context` (e.g. the registry host): nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| OpenError)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| OpenError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`SecretBox::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (n, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| OpenError)?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

/// The installation's 32-byte master key: `SDMD_SECRET_KEY` (base64) when given, else
/// `<data_dir>/secret.key`. When neither exists, `create` generates the file (mode 0600) — what
/// `sdmd serve` does on first start — and otherwise the answer is `None` (maintenance commands
/// must not invent a key the server does not have).
///
/// Keys for other purposes are derived from it with HKDF under their own label (e.g. the audit
/// chain's HMAC key, `db::audit::AuditKey`), so it is never used for two things.
pub fn master_key(
    env_key: Option<&str>,
    data_dir: &Path,
    create: bool,
) -> anyhow::Result<Option<[u8; 32]>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let exact = |bytes: Vec<u8>| -> anyhow::Result<[u8; 32]> {
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            anyhow::anyhow!(
                "SDMD_SECRET_KEY must be 32 bytes (base64), not {}",
                bytes.len()
            )
        })
    };
    if let Some(k) = env_key {
        let bytes = b64
            .decode(k.trim())
            .context("SDMD_SECRET_KEY is not valid base64")?;
        return exact(bytes).map(Some);
    }
    let path = data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let bytes = b64
            .decode(text.trim())
            .with_context(|| format!("{} is not valid base64", path.display()))?;
        return exact(bytes).map(Some);
    }
    if !create {
        return Ok(None);
    }
    let mut k = [0u8; 32];
    SystemRandom::new()
        .fill(&mut k)
        .map_err(|_| anyhow::anyhow!("the system RNG failed"))?;
    std::fs::create_dir_all(data_dir)?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(b64.encode(k).as_bytes())?;
    }
    tracing::warn!(
        path = %path.display(),
        "generated a secret key for stored credentials and the audit chain; replicas must share it (set SDMD_SECRET_KEY)"
    );
    Ok(Some(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_refuses_tampering_or_another_context() {
        let b = SecretBox::random().unwrap();
        let s = b.seal(b"hunter2", "ghcr.io").unwrap();
        assert_eq!(b.open(&s, "ghcr.io").unwrap(), b"hunter2");
        assert!(b.open(&s, "docker.io").is_err(), "bound to its context");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(b.open(&t, "ghcr.io").is_err(), "tampering is detected");
        assert!(
            SecretBox::random().unwrap().open(&s, "ghcr.io").is_err(),
            "another key cannot open it"
        );
        assert!(
            !s.windows(7).any(|w| w == b"hunter2"),
            "no plaintext in the sealed bytes"
        );
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load(None, dir.path()).unwrap();
        let sealed = a.seal(b"x", "h").unwrap();
        let b = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(b.open(&sealed, "h").unwrap(), b"x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            SecretBox::load(Some("c2hvcnQ="), dir.path()).is_err(),
            "a short key is refused"
        );
    }
}
