//! Waiting with a deadline, and cleanup that runs before a failure is reported.

use std::time::{Duration, Instant};

/// Polls `f` every 50 ms until it returns `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `catch_unwind` for a future, so cleanup runs before the failure is reported.
pub trait CatchUnwind: std::future::Future + Sized {
    fn catch_unwind_safe(self) -> futures_util::future::CatchUnwind<Self>
    where
        Self: std::panic::UnwindSafe,
    {
        futures_util::FutureExt::catch_unwind(self)
    }
}
impl<F: std::future::Future> CatchUnwind for F {}
