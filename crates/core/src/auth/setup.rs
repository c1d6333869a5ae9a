//! The one-time setup code of a first run (built-in mode, no user, no `SDMD_ADMIN_EMAIL`):
//! printed in the log at startup, required by `POST /api/v1/setup` to create the first
//! administrator. It is kept only in this process's memory (as a SHA-256 hash), dies when used
//! or after [`SETUP_CODE_TTL`], and a restart prints a new one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a setup code stays valid.
pub const SETUP_CODE_TTL: Duration = Duration::from_secs(30 * 60);

/// Letters of a code: Crockford's base32 without I, L, O, U (nothing to confuse when typing).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 16 symbols × 5 bits = 80 bits, shown as four groups of four.
const SYMBOLS: usize = 16;

/// The state of this process's setup code.
#[derive(Debug, Default)]
pub struct SetupCode {
    inner: Mutex<Option<Pending>>,
}

#[derive(Debug, Clone)]
struct Pending {
    hash: [u8; 32],
    expires: Instant,
}

/// What a presented code is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// It matched; the code is spent (call [`SetupCode::restore`] if the setup then fails).
    Taken,
    /// It did not match; the code stays valid.
    Wrong,
    /// There is no valid code (never issued, used, or expired).
    NoCode,
}

/// A spent code that can be put back when creating the administrator failed after all.
#[derive(Debug)]
pub struct Spent(Pending);

impl SetupCode {
    /// Issues a new code (replacing any other), valid for `ttl`; returns it for printing.
    pub fn issue(&self, ttl: Duration) -> String {
        let bytes = super::random_bytes(SYMBOLS);
        let code: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let pending = Pending {
            hash: digest(&code),
            expires: Instant::now() + ttl,
        };
        *self.lock() = Some(pending);
        code.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Whether a valid code exists now, and until when (seconds from now).
    pub fn active(&self) -> Option<Duration> {
        let g = self.lock();
        g.as_ref()
            .and_then(|p| p.expires.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Compares `presented` with the code in constant time (over SHA-256 digests, so neither the
    /// length nor a prefix leaks) and spends it when it matches.
    pub fn take(&self, presented: &str) -> (Check, Option<Spent>) {
        let mut g = self.lock();
        let Some(p) = g.as_ref() else {
            return (Check::NoCode, None);
        };
        if p.expires <= Instant::now() {
            *g = None;
            return (Check::NoCode, None);
        }
        if constant_time_eq(&p.hash, &digest(&normalize(presented))) {
            let spent = g.take().map(Spent);
            (Check::Taken, spent)
        } else {
            (Check::Wrong, None)
        }
    }

    /// Puts a spent code back (the administrator could not be created after all), unless a
    /// newer one was issued meanwhile.
    pub fn restore(&self, spent: Spent) {
        let mut g = self.lock();
        if g.is_none() {
            *g = Some(spent.0);
        }
    }

    /// Forgets the code (a user exists now, by whatever way).
    pub fn clear(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Pending>> {
        // A panic while holding this lock cannot leave it inconsistent (plain assignments).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Upper case, without the dashes and spaces people type or paste.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_spent_once_and_expires() {
        let s = SetupCode::default();
        assert_eq!(s.take("anything").0, Check::NoCode);
        let code = s.issue(SETUP_CODE_TTL);
        assert_eq!(code.len(), 19, "{code}");
        assert!(s.active().is_some());
        assert_eq!(s.take("0000-0000-0000-0000").0, Check::Wrong);
        // Typed in lower case without dashes, it still matches — once.
        let (check, spent) = s.take(&code.replace('-', " ").to_lowercase());
        assert_eq!(check, Check::Taken);
        assert_eq!(s.take(&code).0, Check::NoCode);
        // A failed setup puts it back.
        s.restore(spent.unwrap());
        assert_eq!(s.take(&code).0, Check::Taken);
        // Expired codes are dead; a new issue replaces the old code.
        let old = s.issue(Duration::ZERO);
        assert!(s.active().is_none());
        assert_eq!(s.take(&old).0, Check::NoCode);
        let a = s.issue(SETUP_CODE_TTL);
        let b = s.issue(SETUP_CODE_TTL);
        assert_ne!(a, b);
        assert_eq!(s.take(&a).0, Check::Wrong);
        assert_eq!(s.take(&b).0, Check::Taken);
    }
}
