//! Who may do what: peer credentials, priority limits and per-user caps,
//! from the daemon's configuration file.
//!
//! ```yaml
//! # ptc daemon --config /etc/ptc/daemon.yaml
//! limits:                  # every user, all their connections together
//!   memory: 2GiB           # device memory of their open graphs
//!   graphs: 16             # open graphs
//!   frames_in_flight: 4    # jobs submitted to the GPU and not finished
//! users:
//!   - uid: 1000
//!     max_priority: 80     # may ask for priorities up to 80
//!     limits: { graphs: 32 }
//! groups:
//!   - gid: 44              # members of group 44 (e.g. video)
//!     max_priority: 90
//! ```
//!
//! Priorities up to [`DEFAULT_PRIORITY`] (50) are anyone's. Above it a
//! client needs to be root, to hold `CAP_SYS_NICE`, or a rule above (as
//! Linux GPU drivers require for raising a context's priority). A request
//! beyond what the client may use is refused with the limit and how to get
//! it — never silently clamped.

use serde::{Deserialize, Deserializer};
use std::path::Path;

/// The priority anyone may use (and the language's default).
pub const DEFAULT_PRIORITY: u32 = 50;

/// Who is on the other end of a connection (`SO_PEERCRED`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Process id.
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

impl Peer {
    /// The credentials of `sock`'s peer.
    pub fn of(sock: &std::os::unix::net::UnixStream) -> std::io::Result<Peer> {
        let c = rustix::net::sockopt::socket_peercred(sock)?;
        Ok(Peer {
            pid: c.pid.as_raw_nonzero().get() as u32,
            uid: c.uid.as_raw(),
            gid: c.gid.as_raw(),
        })
    }

    /// True for root.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Caps for one user (`None`: unlimited).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Device memory of the user's open graphs, bytes (`2GiB` style accepted).
    #[serde(default, deserialize_with = "de_bytes")]
    pub memory: Option<u64>,
    /// Open graphs.
    #[serde(default)]
    pub graphs: Option<u32>,
    /// Jobs in flight on the GPU.
    #[serde(default)]
    pub frames_in_flight: Option<u32>,
}

impl Limits {
    /// `self`, with each cap `other` sets replacing it.
    fn overlay(self, other: &Limits) -> Limits {
        Limits {
            memory: other.memory.or(self.memory),
            graphs: other.graphs.or(self.graphs),
            frames_in_flight: other.frames_in_flight.or(self.frames_in_flight),
        }
    }
}

/// A rule for one user.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserRule {
    /// The user id.
    pub uid: u32,
    /// Highest priority the user may ask for.
    #[serde(default)]
    pub max_priority: Option<u32>,
    /// Caps replacing the defaults.
    #[serde(default)]
    pub limits: Limits,
}

/// A rule for the members of a group.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The group id.
    pub gid: u32,
    /// Highest priority members may ask for.
    #[serde(default)]
    pub max_priority: Option<u32>,
}

/// The daemon's configuration file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Caps for every user.
    #[serde(default)]
    pub limits: Limits,
    /// Per-user rules.
    #[serde(default)]
    pub users: Vec<UserRule>,
    /// Per-group rules.
    #[serde(default)]
    pub groups: Vec<GroupRule>,
}

fn de_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        N(u64),
        S(String),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(None),
        Some(B::N(n)) => Ok(Some(n)),
        Some(B::S(s)) => parse_bytes(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// `1024`, `64KiB`, `512MiB`, `2GiB` (also `KB`/`MB`/`GB` as powers of 1000).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 512MiB"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        u => {
            return Err(format!(
                "unknown size unit `{u}` in `{s}` (use KiB, MiB, GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("`{}`: {e}", path.display()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let c: Config = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        for p in c
            .users
            .iter()
            .filter_map(|u| u.max_priority)
            .chain(c.groups.iter().filter_map(|g| g.max_priority))
        {
            if !(1..=100).contains(&p) {
                return Err(format!("max_priority {p} is outside 1..=100"));
            }
        }
        Ok(c)
    }

    /// The caps that apply to `peer`.
    pub fn limits_for(&self, peer: &Peer) -> Limits {
        match self.users.iter().find(|u| u.uid == peer.uid) {
            Some(u) => self.limits.overlay(&u.limits),
            None => self.limits,
        }
    }

    /// The highest priority `peer` may use, and why (for messages).
    pub fn max_priority(&self, peer: &Peer) -> (u32, String) {
        if peer.is_root() {
            return (100, "root".into());
        }
        if has_cap_sys_nice(peer.pid) {
            return (100, "CAP_SYS_NICE".into());
        }
        let groups = peer_groups(peer);
        let mut best = (DEFAULT_PRIORITY, "the default for every user".to_string());
        for u in self.users.iter().filter(|u| u.uid == peer.uid) {
            if let Some(m) = u.max_priority.filter(|m| *m > best.0) {
                best = (m, format!("the daemon's rule for uid {}", u.uid));
            }
        }
        for g in self.groups.iter().filter(|g| groups.contains(&g.gid)) {
            if let Some(m) = g.max_priority.filter(|m| *m > best.0) {
                best = (m, format!("the daemon's rule for group {}", g.gid));
            }
        }
        best
    }

    /// Refuses a priority `peer` may not use, with the limit and how to get more.
    pub fn check_priority(&self, peer: &Peer, priority: u32) -> Result<(), String> {
        let (max, why) = self.max_priority(peer);
        if priority <= max {
            return Ok(());
        }
        Err(format!(
            "priority {priority} is above {max}, the highest uid {} may use ({why}); \
             priorities above {DEFAULT_PRIORITY} need root, CAP_SYS_NICE, or a \
             `users`/`groups` rule with `max_priority` in the daemon's --config file \
             (or run in-process with --local)",
            peer.uid
        ))
    }
}

/// True if process `pid` holds `CAP_SYS_NICE` in its effective set
/// (`/proc/PID/status`, `CapEff`).
fn has_cap_sys_nice(pid: u32) -> bool {
    const CAP_SYS_NICE: u32 = 23;
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE) != 0)
}

/// The peer's primary and supplementary groups (`/proc/PID/status`).
fn peer_groups(peer: &Peer) -> Vec<u32> {
    let mut g = vec![peer.gid];
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", peer.pid)) {
        if let Some(line) = status.lines().find_map(|l| l.strip_prefix("Groups:")) {
            g.extend(
                line.split_whitespace()
                    .filter_map(|x| x.parse::<u32>().ok()),
            );
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> Peer {
        // A pid that does not exist: no capabilities, no extra groups.
        Peer {
            pid: 0x7fff_fffe,
            uid: 65534,
            gid: 65534,
        }
    }

    #[test]
    fn config_parses_sizes_rules_and_refuses_unknown_fields() {
        let c = Config::parse(
            "limits: { memory: 2GiB, graphs: 4 }\nusers:\n  - uid: 65534\n    max_priority: 70\n    limits: { graphs: 8 }\ngroups:\n  - gid: 44\n    max_priority: 90\n",
        )
        .unwrap();
        assert_eq!(c.limits.memory, Some(2 << 30));
        let l = c.limits_for(&nobody());
        assert_eq!((l.memory, l.graphs), (Some(2 << 30), Some(8)));
        assert!(Config::parse("limits: { memroy: 1 }").is_err());
        assert!(Config::parse("users: [{uid: 1, max_priority: 101}]").is_err());
        assert!(Config::parse("limits: { memory: 5 parsecs }").is_err());
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/daemon.yaml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.limits.memory, Some(4 << 30));
        assert_eq!(c.limits.frames_in_flight, Some(8));
        assert_eq!(c.users[0].max_priority, Some(90));
    }

    #[test]
    fn priorities_above_50_need_privilege_or_a_rule() {
        let none = Config::default();
        let p = nobody();
        assert!(none.check_priority(&p, 50).is_ok());
        let e = none.check_priority(&p, 51).unwrap_err();
        assert!(
            e.contains("priority 51 is above 50") && e.contains("CAP_SYS_NICE"),
            "{e}"
        );
        let root = Peer { uid: 0, ..p };
        assert!(none.check_priority(&root, 100).is_ok());
        let rules = Config::parse("users: [{uid: 65534, max_priority: 70}]").unwrap();
        assert!(rules.check_priority(&p, 70).is_ok());
        let e = rules.check_priority(&p, 71).unwrap_err();
        assert!(e.contains("rule for uid 65534"), "{e}");
        let groups = Config::parse("groups: [{gid: 65534, max_priority: 60}]").unwrap();
        assert!(groups.check_priority(&p, 60).is_ok());
    }
}
