//! An SDMD health check: GET a URL, expect a status, optionally a body substring. While the service is
//! still starting (connection refused, wrong status) it answers `retry-after` until `attempts` is used up.

use sdmd_plugin::{Health, HealthCheck, HealthInput, config, http, log};

/// What one probe found, separated from the plugin API so the verdict logic is testable on the host.
#[derive(Debug, PartialEq)]
pub enum Probe {
    /// The response matched.
    Ok,
    /// The response or connection was wrong, for this reason.
    Bad(String),
}

/// Turn a probe into a verdict: keep retrying until the attempts are used up.
pub fn verdict(probe: Probe, attempt: u32, attempts: u32, retry_ms: u32) -> Health {
    match probe {
        Probe::Ok => Health::Healthy,
        Probe::Bad(why) if attempt + 1 >= attempts => Health::Unhealthy(why),
        Probe::Bad(_) => Health::RetryAfter(retry_ms),
    }
}

/// Judge a response against the expectations.
pub fn judge(status: u16, body: &str, expect_status: u16, body_contains: Option<&str>) -> Probe {
    if status != expect_status {
        return Probe::Bad(format!("status {status}, expected {expect_status}"));
    }
    match body_contains {
        Some(needle) if !body.contains(needle) => {
            Probe::Bad(format!("body does not contain {needle:?}"))
        }
        _ => Probe::Ok,
    }
}

struct HttpHealth;

impl HealthCheck for HttpHealth {
    fn check(input: HealthInput) -> Result<Health, String> {
        let url: String = config::require("url")?;
        let expect: u16 = config::get_or("expect_status", 200)?;
        let needle: Option<String> = config::get("body_contains")?;
        let attempts: u32 = config::get_or("attempts", 5)?;
        let retry_ms: u32 = config::get_or("retry_ms", 2000)?;
        let timeout_ms: u32 = config::get_or("timeout_ms", 800)?;
        let probe = match http::Request::new("GET", &url)
            .timeout_ms(timeout_ms)
            .send()
        {
            Ok(resp) => judge(resp.status, &resp.text(), expect, needle.as_deref()),
            // A denied request will never succeed: report it at once instead of retrying.
            Err(e @ http::Error::Denied(_)) => return Err(format!("GET {url}: {e}")),
            Err(e) => Probe::Bad(format!("GET {url}: {e}")),
        };
        if let Probe::Bad(why) = &probe {
            log::info(format!("attempt {}: {why}", input.attempt + 1));
        }
        Ok(verdict(probe, input.attempt, attempts, retry_ms))
    }
}

sdmd_plugin::export_health_check!(HttpHealth, manifest = "../plugin.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_status_and_body() {
        assert_eq!(judge(200, "ok", 200, None), Probe::Ok);
        assert_eq!(judge(200, "all good", 200, Some("good")), Probe::Ok);
        assert!(matches!(judge(503, "", 200, None), Probe::Bad(_)));
        assert!(matches!(
            judge(200, "bad", 200, Some("good")),
            Probe::Bad(_)
        ));
        assert_eq!(judge(204, "", 204, None), Probe::Ok);
    }

    #[test]
    fn retries_until_attempts_are_used() {
        assert!(matches!(verdict(Probe::Ok, 0, 3, 10), Health::Healthy));
        assert!(matches!(
            verdict(Probe::Bad("x".into()), 0, 3, 10),
            Health::RetryAfter(10)
        ));
        assert!(matches!(
            verdict(Probe::Bad("x".into()), 1, 3, 10),
            Health::RetryAfter(10)
        ));
        assert!(matches!(
            verdict(Probe::Bad("x".into()), 2, 3, 10),
            Health::Unhealthy(_)
        ));
        assert!(matches!(
            verdict(Probe::Bad("x".into()), 0, 1, 10),
            Health::Unhealthy(_)
        ));
    }
}
