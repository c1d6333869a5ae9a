//! argon2id password hashing (RustCrypto `argon2`, default parameters: m = 19 MiB, t = 2, p = 1),
//! run on the blocking pool so a sign-in never stalls the async workers.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::AuthError;

/// Shortest password accepted for new users.
pub const MIN_LENGTH: usize = 8;

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Internal(format!("hashing the password: {e}")))
    })
    .await
    .map_err(|e| AuthError::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches `phc`. The comparison inside argon2 is constant-time; a malformed
/// stored hash counts as a mismatch.
pub async fn verify(password: String, phc: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })
    .await
    .map_err(|e| AuthError::Internal(format!("verifying task: {e}")))
}

/// Rejects passwords too short to be worth hashing.
pub fn check_strength(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(AuthError::Validation(format!(
            "Password should be at least {MIN_LENGTH} characters."
        )));
    }
    Ok(())
}
