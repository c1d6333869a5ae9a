//! An SDMD update strategy with What's Up Docker semantics. The decision logic lives in [`logic`] (pure,
//! tested on the host target); this file only adapts it to the plugin interface.

pub mod logic;

use logic::{Settings, Threshold};
use sdmd_plugin::{Candidate, Decision, StrategyInput, UpdateStrategy, config, log, registry};

struct Semver;

// Each call runs in a fresh instance: a bump allocator beats malloc for the few KiB a decision allocates.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: sdmd_plugin::CallArena = sdmd_plugin::CallArena;

/// Service labels that override the plugin settings, named as in What's Up Docker.
const LABEL_INCLUDE: &str = "wud.tag.include";
const LABEL_EXCLUDE: &str = "wud.tag.exclude";
const LABEL_TRANSFORM: &str = "wud.tag.transform";

impl UpdateStrategy for Semver {
    fn decide(input: StrategyInput) -> Result<Decision, String> {
        let label = |k: &str| {
            input
                .service
                .labels
                .iter()
                .find(|p| p.key == k)
                .map(|p| p.value.clone())
        };
        let threshold: String = config::get_or("threshold", "all".to_string())?;
        let settings = Settings::new(
            label(LABEL_INCLUDE).or(config::get("include")?).as_deref(),
            label(LABEL_EXCLUDE).or(config::get("exclude")?).as_deref(),
            label(LABEL_TRANSFORM)
                .or(config::get("transform")?)
                .as_deref(),
            Threshold::parse(&threshold)?,
            config::get_or("include_prereleases", false)?,
        )?;
        let Some(current) = input.current.tag.as_deref() else {
            return Ok(Decision::Skip("the image has no tag to compare".into()));
        };
        let mut candidates = input.candidates;
        if candidates.is_empty() && config::get_or("list_tags", true)? {
            let tags = registry::list_tags(&input.current.repository)?;
            log::debug(format!("registry listed {} tags", tags.len()));
            candidates = tags
                .into_iter()
                .map(|tag| Candidate { tag, digest: None })
                .collect();
        }
        let tags: Vec<&str> = candidates.iter().map(|c| c.tag.as_str()).collect();
        Ok(match logic::choose(&settings, current, &tags) {
            logic::Choice::Update(i) => Decision::UpdateTo(candidates[i].clone()),
            logic::Choice::Skip(why) => Decision::Skip(why),
        })
    }
}

sdmd_plugin::export_update_strategy!(Semver, manifest = "../plugin.json");
