//! Tag selection with What's Up Docker semantics, free of any plugin API so it is tested with plain
//! `cargo test` on the host.
//!
//! - Loose parsing: an optional `v`, one to three numeric parts (missing parts are 0), then an optional
//!   suffix after `-`. A suffix starting with a prerelease word (`alpha`, `beta`, `rc`, `pre`, `dev`, ...)
//!   makes a prerelease; any other suffix is a *variant* (`alpine`, `slim`) and candidates must carry the
//!   same variant as the current tag, so `1.2-alpine` never moves to a Debian-based `1.3`.
//! - `include`/`exclude` regexes are matched against the raw tag; `transform` (`regex => replacement`)
//!   rewrites tags before parsing.
//! - Threshold: `all`/`major` allow any newer version, `minor` forbids major bumps, `patch` allows only
//!   patch bumps; `major-only`, `minor-only`, `patch-only` allow exactly that kind of bump. Unlike WUD,
//!   which gives up when the newest tag exceeds the threshold, we pick the newest tag *within* it.
//! - Prereleases are never chosen unless asked; when asked, they still must be newer than the current tag.

use regex_lite::Regex;
use std::cmp::Ordering;

/// Which version bumps are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Any newer version.
    All,
    /// Minor and patch bumps only.
    Minor,
    /// Patch bumps only.
    Patch,
    /// Exactly a major bump.
    MajorOnly,
    /// Exactly a minor bump.
    MinorOnly,
    /// Exactly a patch bump.
    PatchOnly,
}

impl Threshold {
    /// Parse a threshold name (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "all" | "major" | "" => Self::All,
            "minor" => Self::Minor,
            "patch" => Self::Patch,
            "major-only" => Self::MajorOnly,
            "minor-only" => Self::MinorOnly,
            "patch-only" => Self::PatchOnly,
            other => return Err(format!("unknown threshold {other:?}")),
        })
    }

    fn allows(self, bump: Bump) -> bool {
        match self {
            Self::All => true,
            Self::Minor => bump != Bump::Major,
            Self::Patch => bump == Bump::Patch || bump == Bump::Prerelease,
            Self::MajorOnly => bump == Bump::Major,
            Self::MinorOnly => bump == Bump::Minor,
            Self::PatchOnly => bump == Bump::Patch,
        }
    }
}

/// Compiled settings.
#[derive(Debug)]
pub struct Settings {
    include: Option<Regex>,
    exclude: Option<Regex>,
    transform: Option<(Regex, String)>,
    threshold: Threshold,
    prereleases: bool,
}

impl Settings {
    /// Compile the settings; errors name the bad setting.
    pub fn new(
        include: Option<&str>,
        exclude: Option<&str>,
        transform: Option<&str>,
        threshold: Threshold,
        prereleases: bool,
    ) -> Result<Self, String> {
        let re = |name: &str, s: &str| Regex::new(s).map_err(|e| format!("{name} regex: {e}"));
        let transform = match transform.filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(t) => {
                let (from, to) = t.split_once("=>").ok_or_else(|| {
                    format!("transform {t:?} must look like `regex => replacement`")
                })?;
                Some((re("transform", from.trim())?, to.trim().to_string()))
            }
        };
        Ok(Settings {
            include: include
                .filter(|s| !s.is_empty())
                .map(|s| re("include", s))
                .transpose()?,
            exclude: exclude
                .filter(|s| !s.is_empty())
                .map(|s| re("exclude", s))
                .transpose()?,
            transform,
            threshold,
            prereleases,
        })
    }

    fn transformed<'a>(&self, tag: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.transform {
            Some((re, to)) => re.replace(tag, to.as_str()),
            None => tag.into(),
        }
    }
}

/// A loosely parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// major, minor, patch (missing parts are 0).
    pub nums: [u64; 3],
    /// Prerelease identifiers, if the suffix is a prerelease.
    pub pre: Option<String>,
    /// A non-prerelease suffix such as `alpine`.
    pub variant: Option<String>,
}

const PRERELEASE_WORDS: &[&str] = &[
    "alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly", "canary", "next", "a",
    "b",
];

/// Parse a tag loosely; `None` when it is not a version.
pub fn parse(tag: &str) -> Option<Version> {
    parse_ref(tag).map(|v| Version {
        nums: v.nums,
        pre: v.pre.map(str::to_string),
        variant: v.variant.map(str::to_string),
    })
}

/// A parsed version borrowing its suffix from the tag: what [`choose`] works with, so that parsing every
/// tag of a repository on every check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VersionRef<'a> {
    nums: [u64; 3],
    pre: Option<&'a str>,
    variant: Option<&'a str>,
}

/// The byte scanner behind [`parse`].
fn parse_ref(tag: &str) -> Option<VersionRef<'_>> {
    let b = tag.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    let mut nums = [0u64; 3];
    let mut n = 0;
    loop {
        let start = i;
        let mut value: u64 = 0;
        while let Some(&d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            let d = u64::from(d - b'0');
            // Overflow is "not a version". Compared with constants rather than `checked_mul` or a division:
            // on wasm32 those become a call to the 128-bit `__multi3` per digit, which made parsing the
            // tags most of the cost of a call.
            if value > u64::MAX / 10 || (value == u64::MAX / 10 && d > u64::MAX % 10) {
                return None;
            }
            value = value * 10 + d;
            i += 1;
        }
        if i == start || n == 3 {
            return None;
        }
        nums[n] = value;
        n += 1;
        if b.get(i) == Some(&b'.') {
            i += 1;
        } else {
            break;
        }
    }
    let mut version = VersionRef {
        nums,
        pre: None,
        variant: None,
    };
    if i == b.len() {
        return Some(version);
    }
    // Build metadata (`+...`) never orders versions. Both `i` and a `+` are char boundaries (ASCII).
    let end = b[i..]
        .iter()
        .position(|&c| c == b'+')
        .map_or(b.len(), |p| i + p);
    let rest = &tag[i..end];
    let suffix = match rest.strip_prefix('-') {
        Some(s) => s,
        None if rest.is_empty() => return Some(version),
        None => return None,
    };
    if !suffix.is_empty() {
        let word_len = suffix.bytes().take_while(u8::is_ascii_alphabetic).count();
        let word = &suffix[..word_len];
        if PRERELEASE_WORDS
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
        {
            version.pre = Some(suffix);
        } else {
            version.variant = Some(suffix);
        }
    }
    Some(version)
}

/// Semver precedence (prerelease < release; prerelease identifiers compared field by field).
pub fn compare(a: &Version, b: &Version) -> Ordering {
    compare_parts(a.nums, a.pre.as_deref(), b.nums, b.pre.as_deref())
}

fn compare_ref(a: &VersionRef<'_>, b: &VersionRef<'_>) -> Ordering {
    compare_parts(a.nums, a.pre, b.nums, b.pre)
}

fn compare_parts(a: [u64; 3], a_pre: Option<&str>, b: [u64; 3], b_pre: Option<&str>) -> Ordering {
    a.cmp(&b).then_with(|| match (a_pre, b_pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare_pre(x, y),
    })
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut xs = a.split(['.', '-']);
    let mut ys = b.split(['.', '-']);
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bump {
    Major,
    Minor,
    Patch,
    Prerelease,
}

fn bump(from: [u64; 3], to: [u64; 3]) -> Bump {
    if to[0] != from[0] {
        Bump::Major
    } else if to[1] != from[1] {
        Bump::Minor
    } else if to[2] != from[2] {
        Bump::Patch
    } else {
        Bump::Prerelease
    }
}

/// The outcome of [`choose`].
#[derive(Debug, PartialEq, Eq)]
pub enum Choice {
    /// Update to the candidate at this index.
    Update(usize),
    /// Stay, for this reason.
    Skip(String),
}

/// Pick the newest allowed candidate newer than `current`.
pub fn choose(settings: &Settings, current: &str, candidates: &[&str]) -> Choice {
    let current_tag = settings.transformed(current);
    let Some(cur) = parse_ref(&current_tag) else {
        return Choice::Skip(format!("current tag {current:?} is not a version"));
    };
    let allowed = |tag: &str| {
        !(settings
            .include
            .as_ref()
            .is_some_and(|re| !re.is_match(tag))
            || settings.exclude.as_ref().is_some_and(|re| re.is_match(tag)))
    };
    let tags = candidates.iter().copied().enumerate();
    let best = match &settings.transform {
        // The common case: parse the tags where they are.
        None => newest(settings, &cur, tags.filter(|(_, t)| allowed(t))),
        Some(_) => {
            let transformed: Vec<(usize, std::borrow::Cow<'_, str>)> = tags
                .filter(|(_, t)| allowed(t))
                .map(|(i, t)| (i, settings.transformed(t)))
                .collect();
            newest(
                settings,
                &cur,
                transformed.iter().map(|(i, t)| (*i, t.as_ref())),
            )
        }
    };
    match best {
        Some(i) => Choice::Update(i),
        None => Choice::Skip(format!("{current} is the newest allowed version")),
    }
}

/// The index of the newest of `tags` (index, tag as parsed) that `settings` allow as an update from `cur`.
fn newest<'t>(
    settings: &Settings,
    cur: &VersionRef<'_>,
    tags: impl Iterator<Item = (usize, &'t str)>,
) -> Option<usize> {
    let mut best: Option<(usize, VersionRef<'t>)> = None;
    for (i, tag) in tags {
        let Some(v) = parse_ref(tag) else {
            continue;
        };
        if v.variant != cur.variant
            || (v.pre.is_some() && !settings.prereleases)
            || compare_ref(&v, cur) != Ordering::Greater
            || !settings.threshold.allows(bump(cur.nums, v.nums))
        {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| compare_ref(&v, b) == Ordering::Greater)
        {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Case<'a> {
        include: Option<&'a str>,
        exclude: Option<&'a str>,
        transform: Option<&'a str>,
        threshold: &'a str,
        pre: bool,
    }

    /// One table row: `expected` is the chosen tag, or `None` for skip.
    fn check(case: Case, current: &str, tags: &[&str], expected: Option<&str>) {
        let threshold = Threshold::parse(case.threshold).expect("threshold");
        let s = Settings::new(
            case.include,
            case.exclude,
            case.transform,
            threshold,
            case.pre,
        )
        .expect("settings");
        let got = match choose(&s, current, tags) {
            Choice::Update(i) => Some(tags[i]),
            Choice::Skip(_) => None,
        };
        assert_eq!(got, expected, "current {current}, tags {tags:?}");
    }

    fn plain() -> Case<'static> {
        Case::default()
    }

    #[test]
    fn picks_newest_semver() {
        check(
            plain(),
            "1.2.3",
            &["1.2.3", "1.2.4", "1.10.0", "1.9.9", "latest"],
            Some("1.10.0"),
        );
        check(plain(), "1.2.3", &["1.2.3", "1.2.2", "latest"], None);
        check(plain(), "1.2.3", &[], None);
        check(plain(), "latest", &["1.0.0"], None);
    }

    #[test]
    fn loose_parsing() {
        check(plain(), "v1.2", &["v1.3", "v1.2.1", "v2"], Some("v2"));
        check(plain(), "1", &["2", "1.5", "nope"], Some("2"));
        check(
            plain(),
            "1.2.3+build1",
            &["1.2.4+build7"],
            Some("1.2.4+build7"),
        );
        assert_eq!(parse("1.2.3.4"), None);
        assert_eq!(parse("1..2"), None);
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1.2.3_x"), None);
        assert_eq!(parse("1.2."), None);
        assert_eq!(
            parse("99999999999999999999999"),
            None,
            "overflow is not a version"
        );
        assert_eq!(
            parse("V2"),
            Some(Version {
                nums: [2, 0, 0],
                pre: None,
                variant: None
            })
        );
        assert_eq!(
            parse("1.2.3-"),
            Some(Version {
                nums: [1, 2, 3],
                pre: None,
                variant: None
            })
        );
        let v = parse("1.2.3-RC.1+git.abc").expect("version");
        assert_eq!((v.pre.as_deref(), v.variant), (Some("RC.1"), None));
        let v = parse("1.2-alpine3.20").expect("version");
        assert_eq!((v.pre, v.variant.as_deref()), (None, Some("alpine3.20")));
    }

    #[test]
    fn variants_stay_variants() {
        check(
            plain(),
            "1.2-alpine",
            &["1.3", "1.3-alpine", "1.4-slim"],
            Some("1.3-alpine"),
        );
        check(plain(), "1.2", &["1.3-alpine", "1.2.1"], Some("1.2.1"));
    }

    #[test]
    fn prereleases_only_when_asked() {
        check(
            plain(),
            "1.2.3",
            &["1.3.0-rc.1", "1.2.4-beta", "2.0.0-alpha"],
            None,
        );
        check(plain(), "1.2.3", &["1.3.0-rc.1", "1.2.4"], Some("1.2.4"));
        let pre = Case {
            pre: true,
            ..plain()
        };
        check(
            pre,
            "1.2.3",
            &["1.3.0-rc.1", "1.3.0-rc.2", "1.2.4"],
            Some("1.3.0-rc.2"),
        );
        let pre = Case {
            pre: true,
            ..plain()
        };
        check(pre, "1.3.0-rc.1", &["1.3.0-rc.2", "1.3.0"], Some("1.3.0"));
        let pre = Case {
            pre: true,
            ..plain()
        };
        check(pre, "1.3.0-rc.10", &["1.3.0-rc.9"], None);
    }

    #[test]
    fn thresholds() {
        let tags = ["1.2.4", "1.3.0", "2.0.0"];
        let t = |threshold| Case {
            threshold,
            ..plain()
        };
        check(t("all"), "1.2.3", &tags, Some("2.0.0"));
        check(t("major"), "1.2.3", &tags, Some("2.0.0"));
        check(t("minor"), "1.2.3", &tags, Some("1.3.0"));
        check(t("patch"), "1.2.3", &tags, Some("1.2.4"));
        check(t("major-only"), "1.2.3", &tags, Some("2.0.0"));
        check(t("minor-only"), "1.2.3", &tags, Some("1.3.0"));
        check(t("patch-only"), "1.2.3", &tags, Some("1.2.4"));
        check(t("patch-only"), "1.2.3", &["1.3.0"], None);
        assert!(Threshold::parse("sideways").is_err());
    }

    #[test]
    fn include_exclude_transform() {
        let inc = Case {
            include: Some(r"^\d+\.\d+\.\d+$"),
            ..plain()
        };
        check(inc, "1.0.0", &["1.1", "1.0.1", "2.0.0-rc1"], Some("1.0.1"));
        let exc = Case {
            exclude: Some(r"^2\."),
            ..plain()
        };
        check(exc, "1.0.0", &["2.0.0", "1.5.0"], Some("1.5.0"));
        // Tags like `1.2.3-ls45` (linuxserver.io): the transform drops the build suffix.
        let tr = Case {
            transform: Some(r"^(\d+\.\d+\.\d+)-ls\d+$ => $1"),
            ..plain()
        };
        check(
            tr,
            "1.2.3-ls45",
            &["1.2.3-ls46", "1.2.4-ls1", "latest"],
            Some("1.2.4-ls1"),
        );
        assert!(Settings::new(Some("("), None, None, Threshold::All, false).is_err());
        assert!(Settings::new(None, None, Some("no arrow"), Threshold::All, false).is_err());
    }

    #[test]
    fn precedence() {
        let v = |s| parse(s).expect("version");
        assert_eq!(
            compare(&v("1.0.0-alpha"), &v("1.0.0-alpha.1")),
            Ordering::Less
        );
        assert_eq!(
            compare(&v("1.0.0-alpha.1"), &v("1.0.0-beta")),
            Ordering::Less
        );
        assert_eq!(compare(&v("1.0.0-rc.1"), &v("1.0.0")), Ordering::Less);
        assert_eq!(compare(&v("1.0.0-rc.2"), &v("1.0.0-rc.10")), Ordering::Less);
    }
}
