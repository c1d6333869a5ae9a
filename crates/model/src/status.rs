//! A service's status and the grouping of containers into services: SDMD's own (by label or
//! adoption), compose projects, and lone containers; and the addresses (`compose:p`,
//! `container:n`, bare names) that pick one group.

use std::collections::HashMap;

use serde::Serialize;

use crate::container::{ContainerInfo, ContainerState, Health, labels};
use crate::service::StoredService;

/// How a service is managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", schema(as = ServiceKind))]
pub enum Kind {
    /// Defined in SDMD.
    Managed,
    /// Containers of a compose project not managed by SDMD.
    Compose,
    /// A lone container not managed by SDMD.
    Standalone,
}

impl Kind {
    /// What a service of this kind is, for messages ("a compose project").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Managed => "a managed service",
            Kind::Compose => "a compose project",
            Kind::Standalone => "a container",
        }
    }
}

/// Overall status of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", schema(as = ServiceStatus))]
pub enum Status {
    /// Every container runs (and none is unhealthy).
    Running,
    /// No container runs (or none exists).
    Stopped,
    /// Some containers run, some do not.
    Partial,
    /// A running container reports unhealthy.
    Unhealthy,
    /// A managed service without containers: stored, never deployed (or its containers were
    /// removed outside SDMD). Deploy creates them.
    NotDeployed,
}

/// Computes the service status from its containers.
pub fn status_of(containers: &[ContainerInfo]) -> Status {
    let running = containers
        .iter()
        .filter(|c| c.state == ContainerState::Running)
        .count();
    if containers
        .iter()
        .any(|c| c.state == ContainerState::Running && c.health == Health::Unhealthy)
    {
        Status::Unhealthy
    } else if running == 0 {
        Status::Stopped
    } else if running == containers.len() {
        Status::Running
    } else {
        Status::Partial
    }
}

/// Containers grouped into one service.
#[derive(Debug, Clone)]
pub struct Group {
    /// Service name.
    pub name: String,
    /// How it is managed.
    pub kind: Kind,
    /// Its containers, by name.
    pub containers: Vec<ContainerInfo>,
}

/// Prefix of an unmanaged compose project's id (`compose:<project>`).
pub const COMPOSE_PREFIX: &str = "compose:";
/// Prefix of an unmanaged standalone container's id (`container:<name>`).
pub const CONTAINER_PREFIX: &str = "container:";

/// The id that addresses a service of this kind and name: the bare name for a managed service,
/// a prefixed one for unmanaged services. Unmanaged ids are always prefixed (not only when the
/// name collides) so a link stays valid when a managed service of the same name appears later.
/// Neither a service name (a DNS label) nor a container or compose project name can contain
/// `:`, so an id is never ambiguous.
pub fn id_of(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Managed => name.to_owned(),
        Kind::Compose => format!("{COMPOSE_PREFIX}{name}"),
        Kind::Standalone => format!("{CONTAINER_PREFIX}{name}"),
    }
}

impl Group {
    /// Its id (see [`id_of`]).
    pub fn id(&self) -> String {
        id_of(self.kind, &self.name)
    }

    /// Its status: `not_deployed` for a managed service without containers, otherwise the
    /// containers' [`status_of`]. Unmanaged groups exist only through their containers.
    pub fn status(&self) -> Status {
        if self.kind == Kind::Managed && self.containers.is_empty() {
            Status::NotDeployed
        } else {
            status_of(&self.containers)
        }
    }

    /// How many of its containers run.
    pub fn running(&self) -> usize {
        self.containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .count()
    }
}

/// How a request names a service: an id with a kind prefix, or a bare name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address<'a> {
    /// A bare name: the managed service of that name, else the compose project, else the
    /// standalone container (the order in which [`group`] sorts them).
    Name(&'a str),
    /// Exactly this kind of service with this name (`compose:<project>`, `container:<name>`).
    Exact(Kind, &'a str),
}

impl<'a> Address<'a> {
    /// Parses a path segment. An unknown prefix stays a bare name, which then matches nothing
    /// (names cannot contain `:`), so it answers `service_not_found`.
    pub fn parse(s: &'a str) -> Self {
        if let Some(n) = s.strip_prefix(COMPOSE_PREFIX) {
            Address::Exact(Kind::Compose, n)
        } else if let Some(n) = s.strip_prefix(CONTAINER_PREFIX) {
            Address::Exact(Kind::Standalone, n)
        } else {
            Address::Name(s)
        }
    }

    /// The name part.
    pub fn name(&self) -> &'a str {
        match *self {
            Address::Name(n) | Address::Exact(_, n) => n,
        }
    }

    /// Whether the group is the one addressed, ignoring precedence (see [`find`]).
    pub fn matches(&self, g: &Group) -> bool {
        match *self {
            Address::Name(n) => g.name == n,
            Address::Exact(kind, n) => g.kind == kind && g.name == n,
        }
    }
}

/// The group an id or bare name addresses, in groups as [`group`] returns them (sorted by name,
/// then managed before compose before standalone, which is the bare name's precedence).
pub fn find<'g>(groups: &'g [Group], address: &str) -> Option<&'g Group> {
    let a = Address::parse(address);
    groups.iter().find(|g| a.matches(g))
}

/// The unmanaged group that already holds `name` as a service name, if any: a compose project
/// or a standalone container SDMD did not create. SDMD's own leftovers (containers labelled
/// `io.sdmd.service=<name>` whose definition was deleted) do not count: a new definition of
/// that name takes them over by their label.
pub fn holder_of<'g>(groups: &'g [Group], name: &str) -> Option<&'g Group> {
    groups.iter().find(|g| {
        g.kind != Kind::Managed
            && g.name == name
            && g.containers
                .iter()
                .any(|c| c.label(labels::SERVICE) != Some(name))
    })
}

/// Groups containers into services: SDMD's own by label (or adoption), then compose projects,
/// then lone containers. Every stored service appears, with or without containers.
pub fn group(containers: Vec<ContainerInfo>, stored: &[StoredService]) -> Vec<Group> {
    let mut groups: Vec<Group> = stored
        .iter()
        .map(|s| Group {
            name: s.name.clone(),
            kind: Kind::Managed,
            containers: Vec::new(),
        })
        .collect();
    let managed_index: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let adopted: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.adopted_from.iter().map(move |id| (id.as_str(), i)))
        .collect();
    let mut unmanaged: HashMap<(Kind, String), Vec<ContainerInfo>> = HashMap::new();
    for c in containers {
        let managed = c
            .label(labels::SERVICE)
            .and_then(|s| managed_index.get(s))
            .or_else(|| adopted.get(c.id.as_str()))
            .copied();
        match managed {
            Some(i) => groups[i].containers.push(c),
            None => {
                let key = match c
                    .label(labels::COMPOSE_PROJECT)
                    .or(c.label(labels::SERVICE))
                {
                    Some(p) => (Kind::Compose, p.to_owned()),
                    None => (Kind::Standalone, c.name.clone()),
                };
                unmanaged.entry(key).or_default().push(c);
            }
        }
    }
    groups.extend(
        unmanaged
            .into_iter()
            .map(|((kind, name), containers)| Group {
                name,
                kind,
                containers,
            }),
    );
    for g in &mut groups {
        g.containers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    groups.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then((a.kind as u8).cmp(&(b.kind as u8)))
    });
    groups
}
#[cfg(test)]
mod tests {
    use super::*;

    fn c(
        name: &str,
        state: ContainerState,
        health: Health,
        labels: &[(&str, &str)],
    ) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{name}"),
            name: name.into(),
            image: "img".into(),
            image_id: "sha256:1".into(),
            state,
            health,
            status_text: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ports: Vec::new(),
            created: 0,
        }
    }

    #[test]
    fn status_rules() {
        use ContainerState::*;
        let check = |cs: Vec<ContainerInfo>, expected: Status| assert_eq!(status_of(&cs), expected);
        check(vec![], Status::Stopped);
        check(vec![c("a", Running, Health::None, &[])], Status::Running);
        check(
            vec![
                c("a", Running, Health::Healthy, &[]),
                c("b", Exited, Health::None, &[]),
            ],
            Status::Partial,
        );
        check(vec![c("a", Exited, Health::None, &[])], Status::Stopped);
        check(
            vec![c("a", Running, Health::Unhealthy, &[])],
            Status::Unhealthy,
        );
        check(vec![c("a", Restarting, Health::None, &[])], Status::Stopped);
    }

    #[test]
    fn groups_by_label_project_and_name() {
        use ContainerState::*;
        let cs = vec![
            c(
                "p-web-1",
                Running,
                Health::None,
                &[(labels::COMPOSE_PROJECT, "p")],
            ),
            c(
                "p-db-1",
                Exited,
                Health::None,
                &[(labels::COMPOSE_PROJECT, "p")],
            ),
            c("lonely", Running, Health::None, &[]),
        ];
        let g = group(cs, &[]);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[0].name.as_str(), g[0].kind, g[0].containers.len()),
            ("lonely", Kind::Standalone, 1)
        );
        assert_eq!(
            (g[1].name.as_str(), g[1].kind, g[1].containers.len()),
            ("p", Kind::Compose, 2)
        );
    }

    fn stored(name: &str) -> StoredService {
        StoredService {
            name: name.into(),
            revision: 1,
            definition: crate::spec::Definition {
                name: name.into(),
                services: indexmap::IndexMap::new(),
                volumes: indexmap::IndexMap::new(),
                extensions: indexmap::IndexMap::new(),
                networks: indexmap::IndexMap::new(),
                secrets: indexmap::IndexMap::new(),
                configs: indexmap::IndexMap::new(),
            },
            adopted_from: Vec::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            files: Vec::new(),
            source: None,
            project_dir: None,
            foreign_volumes: Vec::new(),
        }
    }

    /// A managed service, a compose project and a lone container all called `depbench`.
    fn colliding() -> Vec<Group> {
        use ContainerState::*;
        let cs = vec![
            c(
                "depbench-web",
                Running,
                Health::None,
                &[(labels::SERVICE, "depbench")],
            ),
            c(
                "depbench_app_1",
                Running,
                Health::None,
                &[(labels::COMPOSE_PROJECT, "depbench")],
            ),
            c(
                "depbench_db_1",
                Exited,
                Health::None,
                &[(labels::COMPOSE_PROJECT, "depbench")],
            ),
            c("depbench", Running, Health::None, &[]),
        ];
        group(cs, &[stored("depbench")])
    }

    #[test]
    fn every_group_has_its_own_id() {
        let g = colliding();
        let ids: Vec<String> = g.iter().map(Group::id).collect();
        assert_eq!(
            ids,
            ["depbench", "compose:depbench", "container:depbench"],
            "one row per service, managed first"
        );
        let check = |address: &str, expected: Option<(Kind, &[&str])>| {
            let got = find(&g, address).map(|g| {
                (
                    g.kind,
                    g.containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>(),
                )
            });
            assert_eq!(
                got,
                expected.map(|(k, cs)| (k, cs.to_vec())),
                "address {address}"
            );
        };
        check("depbench", Some((Kind::Managed, &["depbench-web"])));
        check(
            "compose:depbench",
            Some((Kind::Compose, &["depbench_app_1", "depbench_db_1"])),
        );
        check(
            "container:depbench",
            Some((Kind::Standalone, &["depbench"])),
        );
        check("compose:other", None);
        check("managed:depbench", None);
        check("bogus:depbench", None);
        check("", None);
    }

    #[test]
    fn a_bare_name_prefers_managed_then_compose_then_container() {
        let mut g = colliding();
        g.remove(0);
        assert_eq!(find(&g, "depbench").map(|g| g.kind), Some(Kind::Compose));
        g.remove(0);
        assert_eq!(find(&g, "depbench").map(|g| g.kind), Some(Kind::Standalone));
    }

    #[test]
    fn addresses_parse_by_prefix() {
        assert_eq!(Address::parse("web"), Address::Name("web"));
        assert_eq!(
            Address::parse("compose:web"),
            Address::Exact(Kind::Compose, "web")
        );
        assert_eq!(
            Address::parse("container:my_web.1"),
            Address::Exact(Kind::Standalone, "my_web.1")
        );
        assert_eq!(Address::parse("container:x").name(), "x");
        for (kind, name) in [
            (Kind::Managed, "a"),
            (Kind::Compose, "b"),
            (Kind::Standalone, "c"),
        ] {
            let id = id_of(kind, name);
            let parsed = Address::parse(&id);
            assert_eq!(parsed.name(), name, "{id} round-trips");
        }
    }

    #[test]
    fn status_and_counts_per_group() {
        use ContainerState::*;
        let g = group(
            vec![
                c("s-a", Running, Health::None, &[(labels::SERVICE, "s")]),
                c("s-b", Exited, Health::None, &[(labels::SERVICE, "s")]),
            ],
            &[stored("s"), stored("empty")],
        );
        let check = |name: &str, expected: (Status, usize, usize)| {
            let g = find(&g, name).unwrap();
            assert_eq!(
                (g.status(), g.containers.len(), g.running()),
                expected,
                "{name}"
            );
        };
        check("empty", (Status::NotDeployed, 0, 0));
        check("s", (Status::Partial, 2, 1));
        assert_eq!(
            serde_json::to_value(Status::NotDeployed).unwrap(),
            "not_deployed"
        );
    }

    #[test]
    fn only_foreign_containers_hold_a_name() {
        use ContainerState::*;
        let cs = vec![
            c(
                "p_web_1",
                Running,
                Health::None,
                &[(labels::COMPOSE_PROJECT, "p")],
            ),
            c("lone", Exited, Health::None, &[]),
            // SDMD's own leftover of a deleted definition: a new `old` takes it over.
            c(
                "old-web",
                Running,
                Health::None,
                &[(labels::SERVICE, "old")],
            ),
        ];
        let g = group(cs, &[]);
        let check = |name: &str, expected: Option<Kind>| {
            assert_eq!(holder_of(&g, name).map(|g| g.kind), expected, "{name}");
        };
        check("p", Some(Kind::Compose));
        check("lone", Some(Kind::Standalone));
        check("old", None);
        check("free", None);
    }
}
