//! An SDMD notifier: POSTs events as generic JSON or as ntfy, Slack or Discord messages.

use sdmd_plugin::{Event, EventKind, Notifier, config, event_kind_name, http, log};
use serde_json::{Value, json};

/// A payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole event as a JSON object.
    Json,
    /// ntfy's JSON publish API (`topic`, `title`, `message`, `tags`, `priority`).
    Ntfy,
    /// A Slack incoming webhook (`text`).
    Slack,
    /// A Discord webhook (`content` plus an embed).
    Discord,
}

impl Format {
    /// Parse a format name.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "json" => Self::Json,
            "ntfy" => Self::Ntfy,
            "slack" => Self::Slack,
            "discord" => Self::Discord,
            other => {
                return Err(format!(
                    "unknown format {other:?} (json, ntfy, slack, discord)"
                ));
            }
        })
    }
}

fn severity(kind: EventKind) -> (&'static str, u8, u32) {
    // (ntfy tag, ntfy priority 1-5, Discord embed colour)
    match kind {
        EventKind::UpdateAvailable => ("package", 3, 0x3b82f6),
        EventKind::Updated => ("white_check_mark", 3, 0x22c55e),
        EventKind::RolledBack => ("leftwards_arrow_with_hook", 4, 0xf59e0b),
        EventKind::Failed => ("x", 5, 0xef4444),
        EventKind::ContainerDied => ("skull", 5, 0xef4444),
    }
}

/// The body to POST for an event in a format; `topic` is required for ntfy.
pub fn payload(
    format: Format,
    event: &Event,
    text: &str,
    topic: Option<&str>,
) -> Result<Value, String> {
    let kind = event_kind_name(event.kind);
    let (tag, priority, colour) = severity(event.kind);
    Ok(match format {
        Format::Json => json!({
            "kind": kind,
            "service": event.service.name,
            "revision": event.service.revision,
            "summary": event.summary,
            "from_image": event.from_image,
            "to_image": event.to_image,
            "detail": event.detail,
            "timestamp": event.timestamp,
        }),
        Format::Ntfy => json!({
            "topic": topic.ok_or("setting topic is required for ntfy")?,
            "title": format!("SDMD: {} {kind}", event.service.name),
            "message": text,
            "tags": [tag],
            "priority": priority,
        }),
        Format::Slack => json!({ "text": text }),
        Format::Discord => json!({
            "username": "SDMD",
            "content": text,
            "embeds": [{
                "title": format!("{} {kind}", event.service.name),
                "description": event.detail.clone().unwrap_or_else(|| event.summary.clone()),
                "color": colour,
                "timestamp": event.timestamp,
            }],
        }),
    })
}

struct Webhook;

impl Notifier for Webhook {
    fn deliver(event: Event) -> Result<(), String> {
        let url: String = config::require("url")?;
        let format = Format::parse(&config::get_or("format", "json".to_string())?)?;
        let topic: Option<String> = config::get("topic")?;
        let token: Option<String> = config::get("token")?;
        let timeout_ms: u32 = config::get_or("timeout_ms", 800)?;
        let body = payload(format, &event, &Self::text(&event), topic.as_deref())?;
        let mut req = http::Request::new("POST", &url)
            .timeout_ms(timeout_ms)
            .json(&body)?;
        if let Some(token) = token {
            req = req.header("authorization", &format!("Bearer {token}"));
        }
        let resp = req.send().map_err(|e| format!("POST {url}: {e}"))?;
        if !(200..300).contains(&resp.status) {
            return Err(format!("POST {url}: status {}", resp.status));
        }
        log::debug(format!(
            "delivered {} to {url}",
            event_kind_name(event.kind)
        ));
        Ok(())
    }
}

sdmd_plugin::export_notifier!(Webhook, manifest = "../plugin.json");

#[cfg(test)]
mod tests {
    use super::*;
    use sdmd_plugin::Service;

    fn event(kind: EventKind) -> Event {
        Event {
            kind,
            service: Service {
                name: "whoami".into(),
                revision: 3,
                labels: vec![],
            },
            summary: "whoami updated to 1.2.4".into(),
            from_image: Some("app:1.2.3".into()),
            to_image: Some("app:1.2.4".into()),
            detail: None,
            timestamp: "2026-11-26T12:00:00Z".into(),
        }
    }

    fn check(format: Format, kind: EventKind, topic: Option<&str>, expected: Value) {
        let e = event(kind);
        let got = payload(format, &e, "TEXT", topic).expect("payload");
        assert_eq!(got, expected, "{format:?}");
    }

    #[test]
    fn payloads() {
        check(
            Format::Json,
            EventKind::Updated,
            None,
            json!({"kind": "updated", "service": "whoami", "revision": 3, "summary": "whoami updated to 1.2.4",
                   "from_image": "app:1.2.3", "to_image": "app:1.2.4", "detail": null,
                   "timestamp": "2026-11-26T12:00:00Z"}),
        );
        check(
            Format::Ntfy,
            EventKind::Failed,
            Some("ops"),
            json!({"topic": "ops", "title": "SDMD: whoami failed", "message": "TEXT", "tags": ["x"], "priority": 5}),
        );
        check(
            Format::Slack,
            EventKind::Updated,
            None,
            json!({"text": "TEXT"}),
        );
        check(
            Format::Discord,
            EventKind::RolledBack,
            None,
            json!({"username": "SDMD", "content": "TEXT", "embeds": [{"title": "whoami rolled-back",
                   "description": "whoami updated to 1.2.4", "color": 0xf59e0b, "timestamp": "2026-11-26T12:00:00Z"}]}),
        );
    }

    #[test]
    fn ntfy_needs_a_topic_and_formats_parse() {
        assert!(payload(Format::Ntfy, &event(EventKind::Updated), "t", None).is_err());
        assert_eq!(Format::parse("slack"), Ok(Format::Slack));
        assert!(Format::parse("teams").is_err());
    }
}
