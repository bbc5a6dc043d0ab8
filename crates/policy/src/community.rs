//! BGP communities (RFC 1997) and large communities (RFC 8092), and `community NAME members
//! [...]` as Junos matches them: a route matches when each member is matched by one of its
//! communities; a member is a value (`65000:100`, `large:65000:1:2`, `no-export`) or a regular
//! expression over `AS:VALUE` (`65000:.*`, `^65001:(1|2)$`).

use regex::Regex;

/// A standard community: AS in the high 16 bits, value in the low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

/// A large community: global administrator, local data 1 and 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Large(pub u32, pub u32, pub u32);

impl std::fmt::Display for Community {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match WELL_KNOWN.iter().find(|(_, v)| *v == self.0) {
            Some((n, _)) => f.write_str(n),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff),
        }
    }
}

impl std::fmt::Display for Large {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "large:{}:{}:{}", self.0, self.1, self.2)
    }
}

/// Communities with names (RFC 1997, RFC 7999, RFC 8326, RFC 9494).
const WELL_KNOWN: &[(&str, u32)] = &[
    ("no-export", 0xFFFF_FF01),
    ("no-advertise", 0xFFFF_FF02),
    ("no-export-subconfed", 0xFFFF_FF03),
    ("no-peer", 0xFFFF_FF04),
    ("graceful-shutdown", 0xFFFF_0000),
    ("accept-own", 0xFFFF_0001),
    ("llgr-stale", 0xFFFF_0006),
    ("no-llgr", 0xFFFF_0007),
    ("blackhole", 0xFFFF_029A),
];

#[derive(Debug, Clone)]
enum Member {
    Std(Community),
    Large(Large),
    /// Over `AS:VALUE`.
    StdRegex(Regex),
    /// Over `A:B:C` (written `large:...`).
    LargeRegex(Regex),
}

/// A named community as a matcher.
#[derive(Debug, Clone)]
pub struct CommunityMatch {
    members: Vec<Member>,
    invert: bool,
}

fn number(s: &str) -> Option<u32> {
    s.parse::<u32>().ok()
}

fn is_regex(s: &str) -> bool {
    s.chars().any(|c| ".*+?[]()|^$\\".contains(c))
}

/// A regular expression of Savin's size, whatever the text (hostile configuration).
fn regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 16)
        .build()
}

fn member(text: &str) -> Result<Member, String> {
    // `*` alone on a side is any value (`*:*`, `65000:*`), as Junos writes it.
    let starred = text.split(':').any(|s| s == "*");
    let text = &if starred {
        text.split(':')
            .map(|s| if s == "*" { "[0-9]+" } else { s })
            .collect::<Vec<_>>()
            .join(":")
    } else {
        text.to_string()
    };
    if let Some((_, v)) = WELL_KNOWN.iter().find(|(n, _)| *n == text) {
        return Ok(Member::Std(Community(*v)));
    }
    if let Some(rest) = text.strip_prefix("large:") {
        if is_regex(rest) {
            return regex(&format!("^(?:{rest})$"))
                .map(Member::LargeRegex)
                .map_err(|e| format!("member '{text}': {e}"));
        }
        let parts: Vec<Option<u32>> = rest.split(':').map(number).collect();
        return match parts[..] {
            [Some(a), Some(b), Some(c)] => Ok(Member::Large(Large(a, b, c))),
            _ => Err(format!("member '{text}': expected large:A:B:C")),
        };
    }
    if text.starts_with("target:") || text.starts_with("origin:") {
        return Err(format!(
            "member '{text}': extended communities are not supported yet"
        ));
    }
    if is_regex(text) {
        return regex(&format!("^(?:{text})$"))
            .map(Member::StdRegex)
            .map_err(|e| format!("member '{text}': {e}"));
    }
    match text.split_once(':') {
        Some((a, v)) => match (number(a).filter(|a| *a <= 0xffff), number(v).filter(|v| *v <= 0xffff)) {
            (Some(a), Some(v)) => Ok(Member::Std(Community(a << 16 | v))),
            _ => Err(format!("member '{text}': expected AS:VALUE with both at most 65535")),
        },
        None => Err(format!(
            "member '{text}': expected AS:VALUE, large:A:B:C, a well-known name or a regular expression"
        )),
    }
}

impl Member {
    fn std(&self, c: Community) -> bool {
        match self {
            Member::Std(x) => *x == c,
            Member::StdRegex(re) => re.is_match(&format!("{}:{}", c.0 >> 16, c.0 & 0xffff)),
            _ => false,
        }
    }

    fn large(&self, l: Large) -> bool {
        match self {
            Member::Large(x) => *x == l,
            Member::LargeRegex(re) => re.is_match(&format!("{}:{}:{}", l.0, l.1, l.2)),
            _ => false,
        }
    }
}

impl CommunityMatch {
    pub fn compile(members: &[String], invert: bool) -> Result<CommunityMatch, String> {
        if members.is_empty() {
            return Err("a community needs members".into());
        }
        Ok(CommunityMatch {
            members: members
                .iter()
                .map(|m| member(m))
                .collect::<Result<_, _>>()?,
            invert,
        })
    }

    /// Whether a route with these communities matches: every member is matched (with
    /// `invert-match`: not every member).
    pub fn matches(&self, std: &[Community], large: &[Large]) -> bool {
        let all = self
            .members
            .iter()
            .all(|m| std.iter().any(|c| m.std(*c)) || large.iter().any(|l| m.large(*l)));
        all != self.invert
    }

    /// Whether it matches the inverse of its members (`invert-match`).
    pub fn inverted(&self) -> bool {
        self.invert
    }

    /// Its members as values, for `community add|set`. Err: a member is an expression.
    pub fn literals(&self) -> Result<(Vec<Community>, Vec<Large>), String> {
        if self.invert {
            return Err("a community with invert-match cannot be added or set".into());
        }
        let mut std = Vec::new();
        let mut large = Vec::new();
        for m in &self.members {
            match m {
                Member::Std(c) => std.push(*c),
                Member::Large(l) => large.push(*l),
                _ => return Err("a regular expression cannot be added to a route".into()),
            }
        }
        Ok((std, large))
    }

    /// `community delete`: removes the communities any member matches.
    pub fn delete_from(&self, std: &mut Vec<Community>, large: &mut Vec<Large>) {
        std.retain(|c| !self.members.iter().any(|m| m.std(*c)));
        large.retain(|l| !self.members.iter().any(|m| m.large(*l)));
    }
}
