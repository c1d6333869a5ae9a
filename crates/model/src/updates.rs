//! What an update check finds: per image the registry's answer, per service the pending update,
//! and how two semver-like tags differ.

use std::time::Duration;

use serde::Serialize;

crate::text_enum! {
    /// What kind of update is available.
    pub enum UpdateKind ("update kind") {
        /// The tag now points at another image.
        Digest = "digest",
        /// The service's strategy plugin would move to another tag.
        Tag = "tag",
    }
}

crate::text_enum! {
    /// Which part of a semver-like tag changes first.
    pub enum SemverDiff ("semver difference") {
        /// `1.x` → `2.x`.
        Major = "major",
        /// `1.2` → `1.3`.
        Minor = "minor",
        /// `1.2.3` → `1.2.4`.
        Patch = "patch",
        /// `1.2.3-rc.1` → `1.2.3`.
        Prerelease = "prerelease",
    }
}

crate::text_enum! {
    /// What started a check or an update.
    pub enum Trigger ("update trigger") {
        /// Someone asked for it (API, dashboard, CLI).
        Manual = "manual",
        /// The service's schedule was due.
        Schedule = "schedule",
    }
}

crate::text_enum! {
    /// What an update run does.
    pub enum RunKind ("update run kind") {
        /// Asks the registries, changes nothing.
        Check = "check",
        /// Pulls and swaps containers when something changed.
        Update = "update",
    }
}

crate::text_enum! {
    /// How an update ended (when it did not fail).
    pub enum UpdateResult ("update result") {
        /// Nothing changed: the running images are the newest.
        UpToDate = "up_to_date",
        /// The new containers passed their health gate.
        Updated = "updated",
        /// A new container failed its health gate; the old ones run again.
        RolledBack = "rolled_back",
    }
}

crate::text_enum! {
    /// How a recorded check or update run ended.
    pub enum RunResult ("update run result") {
        /// Nothing newer (check or update).
        UpToDate = "up_to_date",
        /// A check found something newer.
        UpdateAvailable = "update_available",
        /// An update swapped the containers.
        Updated = "updated",
        /// An update rolled back.
        RolledBack = "rolled_back",
        /// The run failed (see its reason).
        Failed = "failed",
    }
}

impl From<UpdateResult> for RunResult {
    fn from(r: UpdateResult) -> Self {
        match r {
            UpdateResult::UpToDate => RunResult::UpToDate,
            UpdateResult::Updated => RunResult::Updated,
            UpdateResult::RolledBack => RunResult::RolledBack,
        }
    }
}

/// The update a service's latest check found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingUpdate {
    /// The image reference of the definition it concerns.
    pub image: String,
    /// `digest` (the tag points at a newer image) or `tag` (the strategy moves to `target`).
    pub kind: UpdateKind,
    /// For `tag`: the image it moves to.
    pub target: Option<String>,
    /// For `tag`: `major`, `minor`, `patch` or `prerelease`.
    pub semver_diff: Option<SemverDiff>,
}

/// The registry's view of one image of a service.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageCheck {
    /// The image reference.
    pub image: String,
    /// Digest of the local image for this repository, if any.
    pub local_digest: Option<String>,
    /// The tag's digest in the registry.
    pub remote_digest: Option<String>,
    /// For a multi-arch tag whose index differs from the one the local image came from: this
    /// platform's manifest digest in the new index (what decides whether anything changed here).
    pub platform_digest: Option<String>,
    /// Whether the registry has something newer than what runs.
    pub update_available: bool,
    /// `digest` (the tag now points at another image) or `tag` (the service's strategy plugin
    /// would move to another tag: see `target`).
    pub kind: Option<UpdateKind>,
    /// For `tag`: the image reference the strategy would move to.
    pub target: Option<String>,
    /// For `tag`: which semver part changes (`major`, `minor`, `patch`, `prerelease`), when both
    /// tags parse as (loose) semver.
    pub semver_diff: Option<SemverDiff>,
    /// Whether the answer came from the shared cache.
    pub cached: bool,
    /// Why the image could not be checked (local-only image, registry down, …).
    pub error: Option<String>,
}

/// Health-gate settings.
#[derive(Debug, Clone, Copy)]
pub struct GateSettings {
    /// How long a container with a health check may take to become healthy.
    pub health_timeout: Duration,
    /// How long a container without one must run without restarting.
    pub stable_for: Duration,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            health_timeout: Duration::from_secs(300),
            stable_for: Duration::from_secs(10),
        }
    }
}

/// Which part of a loose semver tag (`v1.2`, `1.2.3-rc.1`, build metadata ignored) differs first
/// between two tags; `None` when either is not semver-like or they are equal.
pub fn semver_diff(from: &str, to: &str) -> Option<SemverDiff> {
    fn parse(tag: &str) -> Option<([u64; 3], &str)> {
        let tag = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
        let tag = tag.split_once('+').map_or(tag, |(t, _)| t);
        let (core, pre) = tag.split_once('-').unwrap_or((tag, ""));
        let mut n = [0; 3];
        let mut parts = core.split('.');
        for slot in &mut n {
            match parts.next() {
                Some(p) => *slot = p.parse().ok()?,
                None => break,
            }
        }
        (parts.next().is_none() && !core.is_empty()).then_some((n, pre))
    }
    let (a, a_pre) = parse(from)?;
    let (b, b_pre) = parse(to)?;
    if a[0] != b[0] {
        Some(SemverDiff::Major)
    } else if a[1] != b[1] {
        Some(SemverDiff::Minor)
    } else if a[2] != b[2] {
        Some(SemverDiff::Patch)
    } else if a_pre != b_pre {
        Some(SemverDiff::Prerelease)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_enum::assert_round_trips;

    #[test]
    fn spellings_are_the_stored_and_sent_ones() {
        assert_round_trips(UpdateKind::ALL);
        assert_round_trips(SemverDiff::ALL);
        assert_round_trips(Trigger::ALL);
        assert_round_trips(RunKind::ALL);
        assert_round_trips(UpdateResult::ALL);
        assert_round_trips(RunResult::ALL);
        let runs: Vec<&str> = RunResult::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            runs,
            [
                "up_to_date",
                "update_available",
                "updated",
                "rolled_back",
                "failed"
            ]
        );
        assert_eq!(
            (Trigger::Manual.as_str(), Trigger::Schedule.as_str()),
            ("manual", "schedule")
        );
        for r in UpdateResult::ALL {
            assert_eq!(RunResult::from(*r).as_str(), r.as_str());
        }
    }

    #[test]
    fn unknown_spellings_are_errors() {
        assert_eq!(
            "cron".parse::<Trigger>().unwrap_err().to_string(),
            "unknown update trigger \"cron\""
        );
        assert!("failed".parse::<UpdateResult>().is_err());
        assert!("skipped".parse::<RunResult>().is_err());
        assert!("deploy".parse::<RunKind>().is_err());
    }

    #[test]
    fn semver_differences() {
        assert_eq!(semver_diff("1.2.3", "1.3.0"), Some(SemverDiff::Minor));
        assert_eq!(semver_diff("v1.2.3", "2.0.0"), Some(SemverDiff::Major));
        assert_eq!(semver_diff("1.2", "1.2.1"), Some(SemverDiff::Patch));
        assert_eq!(
            semver_diff("1.2.3-rc.1", "1.2.3"),
            Some(SemverDiff::Prerelease)
        );
        assert_eq!(semver_diff("1.2.3+b1", "1.2.3+b2"), None);
        assert_eq!(semver_diff("1.2.3", "1.2.3"), None);
        assert_eq!(semver_diff("latest", "1.2.3"), None);
        assert_eq!(semver_diff("1.2.3.4", "1.2.3"), None);
    }
}
