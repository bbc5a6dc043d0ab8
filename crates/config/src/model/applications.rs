//! `applications`: what a policy's `match application` names — protocols and ports — with the
//! predefined `junos-*` applications an SRX user expects.

use serde::Deserialize;

use super::{Config, ValidationError};
use crate::schema::{container, leaf, list, Node};
use crate::value::Type;

/// What an application (or one of its terms) matches.
fn match_fields() -> Vec<Node> {
    vec![
        leaf(
            "protocol",
            "Match IP protocol type (tcp, udp, icmp, icmp6 or a number)",
            Type::Name,
        ),
        leaf(
            "source-port",
            "Match TCP/UDP source port (PORT or LOW-HIGH)",
            Type::Name,
        ),
        leaf(
            "destination-port",
            "Match TCP/UDP destination port (PORT or LOW-HIGH)",
            Type::Name,
        ),
        leaf(
            "icmp-type",
            "Match ICMP message type",
            Type::Uint { min: 0, max: 255 },
        ),
        leaf(
            "icmp-code",
            "Match ICMP message code",
            Type::Uint { min: 0, max: 255 },
        ),
        leaf(
            "icmp6-type",
            "Match ICMP6 message type",
            Type::Uint { min: 0, max: 255 },
        ),
        leaf(
            "icmp6-code",
            "Match ICMP6 message code",
            Type::Uint { min: 0, max: 255 },
        ),
        leaf(
            "inactivity-timeout",
            "Application-specific inactivity timeout (seconds, or never)",
            Type::Name,
        ),
    ]
}

pub fn schema() -> Node {
    container(
        "applications",
        "Define applications by protocol characteristics",
        vec![
            list("application", "Define an application", Type::Name, {
                let mut v = vec![leaf(
                    "description",
                    "Text description of application",
                    Type::Text,
                )];
                v.extend(match_fields());
                v.push(
                    list(
                        "term",
                        "Define individual application protocols",
                        Type::Name,
                        match_fields(),
                    )
                    .ordered(),
                );
                v
            }),
            list(
                "application-set",
                "Define an application set",
                Type::Name,
                vec![
                    leaf(
                        "description",
                        "Text description of application set",
                        Type::Text,
                    ),
                    list(
                        "application",
                        "Application to be included in the set",
                        Type::Name,
                        vec![],
                    ),
                    list(
                        "application-set",
                        "Application set to be included in the set",
                        Type::Name,
                        vec![],
                    ),
                ],
            ),
        ],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Applications {
    #[serde(default)]
    pub application: Vec<Application>,
    #[serde(default)]
    pub application_set: Vec<ApplicationSet>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Application {
    pub name: String,
    pub description: Option<String>,
    /// `term T ...`: an application of several protocols or ports.
    #[serde(default)]
    pub term: Vec<AppTerm>,
    pub protocol: Option<String>,
    pub source_port: Option<String>,
    pub destination_port: Option<String>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp6_type: Option<u8>,
    pub icmp6_code: Option<u8>,
    pub inactivity_timeout: Option<String>,
}

/// One `term` of an application.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AppTerm {
    pub name: String,
    pub protocol: Option<String>,
    pub source_port: Option<String>,
    pub destination_port: Option<String>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp6_type: Option<u8>,
    pub icmp6_code: Option<u8>,
    pub inactivity_timeout: Option<String>,
}

/// The matching fields of an application or of one of its terms (named alike in both).
macro_rules! fields_of {
    ($x:expr) => {
        Fields {
            protocol: $x.protocol.as_deref(),
            source_port: $x.source_port.as_deref(),
            destination_port: $x.destination_port.as_deref(),
            icmp_type: $x.icmp_type,
            icmp_code: $x.icmp_code,
            icmp6_type: $x.icmp6_type,
            icmp6_code: $x.icmp6_code,
            inactivity_timeout: $x.inactivity_timeout.as_deref(),
        }
    };
}

impl AppTerm {
    fn term(&self) -> Result<Term, String> {
        fields_of!(self)
            .term()
            .map_err(|e| format!("term {}: {e}", self.name))
    }
}

/// What an application and each of its terms match on, borrowed: one reading for both.
struct Fields<'a> {
    protocol: Option<&'a str>,
    source_port: Option<&'a str>,
    destination_port: Option<&'a str>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp6_type: Option<u8>,
    icmp6_code: Option<u8>,
    inactivity_timeout: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApplicationSet {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub application: Vec<Named>,
    #[serde(default)]
    pub application_set: Vec<Named>,
}

/// A list entry that is only a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub name: String,
}

/// One term of an application, resolved: what the classifier matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    /// None: any protocol.
    pub protocol: Option<u8>,
    pub source_ports: (u16, u16),
    pub destination_ports: (u16, u16),
    /// ICMP type, when the application names one.
    pub icmp_type: Option<u8>,
    /// ICMP code (with a type): only that code of the type.
    pub icmp_code: Option<u8>,
    /// Seconds; None: the protocol's default; Some(0): never.
    pub inactivity_timeout: Option<u32>,
}

const ANY_PORT: (u16, u16) = (0, u16::MAX);

/// The predefined applications: (name, protocol, destination ports). All ports from any
/// source port; ICMP by type.
const PREDEFINED: &[(&str, u8, u16, u16)] = &[
    ("junos-http", 6, 80, 80),
    ("junos-https", 6, 443, 443),
    ("junos-ssh", 6, 22, 22),
    ("junos-telnet", 6, 23, 23),
    ("junos-ftp", 6, 21, 21),
    ("junos-smtp", 6, 25, 25),
    ("junos-dns-udp", 17, 53, 53),
    ("junos-dns-tcp", 6, 53, 53),
    ("junos-ntp", 17, 123, 123),
    ("junos-bgp", 6, 179, 179),
    ("junos-snmp-agentx", 6, 705, 705),
    ("junos-syslog", 17, 514, 514),
    ("junos-tftp", 17, 69, 69),
    ("junos-radius", 17, 1812, 1812),
    ("junos-ldap", 6, 389, 389),
    ("junos-imap", 6, 143, 143),
    ("junos-pop3", 6, 110, 110),
    ("junos-mysql", 6, 3306, 3306),
    ("junos-ike", 17, 500, 500),
    ("junos-ike-nat", 17, 4500, 4500),
    ("junos-http-ext", 6, 7001, 7001),
    ("junos-snmp-get", 17, 161, 161),
    ("junos-snmp-get-next", 17, 161, 161),
    ("junos-snmp-response", 17, 161, 161),
    ("junos-snmp-trap", 17, 162, 162),
    ("junos-imaps", 6, 993, 993),
    ("junos-radacct", 17, 1813, 1813),
    ("junos-ms-sql", 6, 1433, 1433),
    ("junos-sqlnet-v2", 6, 1521, 1521),
    ("junos-rsh", 6, 514, 514),
    ("junos-sip", 17, 5060, 5060),
    ("junos-dhcp-client", 17, 68, 68),
    ("junos-dhcp-server", 17, 67, 67),
    ("junos-bootpc", 17, 68, 68),
    ("junos-bootps", 17, 67, 67),
    ("junos-tacacs", 6, 49, 49),
    ("junos-tacacs-ds", 6, 65, 65),
    ("junos-netbios-session", 6, 139, 139),
    ("junos-smb", 6, 445, 445),
    ("junos-nntp", 6, 119, 119),
    ("junos-finger", 6, 79, 79),
    ("junos-ident", 6, 113, 113),
    ("junos-pptp", 6, 1723, 1723),
    ("junos-ldp-tcp", 6, 646, 646),
    ("junos-ldp-udp", 17, 646, 646),
    ("junos-rip", 17, 520, 520),
    ("junos-bfd", 17, 3784, 3784),
    ("junos-gre", 47, 0, 65535),
    ("junos-ospf", 89, 0, 65535),
    ("junos-vrrp", 112, 0, 65535),
    ("junos-ah", 51, 0, 65535),
    ("junos-esp", 50, 0, 65535),
];

/// The predefined application sets of an SRX: their member applications.
const PREDEFINED_SETS: &[(&str, &[&str])] = &[
    ("junos-cifs", &["junos-netbios-session", "junos-smb"]),
    (
        "junos-routing-inbound",
        &[
            "junos-bgp",
            "junos-ospf",
            "junos-rip",
            "junos-ldp-tcp",
            "junos-ldp-udp",
        ],
    ),
];

/// The members of the predefined application set `name`, if it is one.
pub fn predefined_set(name: &str) -> Option<&'static [&'static str]> {
    PREDEFINED_SETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
}

/// The predefined application `name` as terms, if there is one. `any` matches everything;
/// `junos-ping` is ICMP echo request, `junos-icmp-all` any ICMP.
pub fn predefined(name: &str) -> Option<Vec<Term>> {
    let term = |protocol, dst: (u16, u16), icmp_type| Term {
        protocol,
        source_ports: ANY_PORT,
        destination_ports: dst,
        icmp_type,
        icmp_code: None,
        inactivity_timeout: None,
    };
    match name {
        "any" => Some(vec![term(None, ANY_PORT, None)]),
        "junos-ping" | "junos-icmp-ping" => Some(vec![term(Some(1), ANY_PORT, Some(8))]),
        "junos-pingv6" => Some(vec![term(Some(58), ANY_PORT, Some(128))]),
        "junos-icmp-all" => Some(vec![term(Some(1), ANY_PORT, None)]),
        "junos-icmp6-all" => Some(vec![term(Some(58), ANY_PORT, None)]),
        _ => PREDEFINED
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, p, lo, hi)| vec![term(Some(*p), (*lo, *hi), None)]),
    }
}

/// Names of the predefined applications (for completion and `show`).
pub fn predefined_names() -> Vec<&'static str> {
    let mut v = vec![
        "any",
        "junos-ping",
        "junos-icmp-ping",
        "junos-pingv6",
        "junos-icmp-all",
        "junos-icmp6-all",
    ];
    v.extend(PREDEFINED.iter().map(|(n, ..)| *n));
    v.extend(PREDEFINED_SETS.iter().map(|(n, _)| *n));
    v
}

pub fn protocol_number(p: &str) -> Result<u8, String> {
    match p {
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "icmp" => Ok(1),
        "icmp6" => Ok(58),
        "gre" => Ok(47),
        "esp" => Ok(50),
        "ah" => Ok(51),
        "sctp" => Ok(132),
        n => n
            .parse::<u8>()
            .map_err(|_| format!("invalid protocol '{n}': expected tcp, udp, icmp, icmp6, gre, esp, ah, sctp or 0..255")),
    }
}

/// A port or range as Junos writes them: `80`, `http`, `1024-65535`.
pub fn port_range(p: &str) -> Result<(u16, u16), String> {
    let one = |s: &str| {
        crate::value::port_number(s).ok_or_else(|| {
            format!("invalid port '{s}': expected 0..65535 or a port name (http, ssh, ntp, ...)")
        })
    };
    // A name may hold a '-' itself (`ftp-data`, `tacacs-ds`): it is a port, not a range.
    match p
        .split_once('-')
        .filter(|_| crate::value::port_number(p).is_none())
    {
        Some((lo, hi)) => {
            let (lo, hi) = (one(lo)?, one(hi)?);
            if lo > hi {
                return Err(format!("port range {p} is empty"));
            }
            Ok((lo, hi))
        }
        None => one(p).map(|x| (x, x)),
    }
}

fn timeout(t: &str) -> Result<u32, String> {
    if t == "never" {
        return Ok(0);
    }
    match t.parse::<u32>() {
        Ok(n) if (4..=86_400).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid inactivity-timeout '{t}': expected 4..86400 seconds or never"
        )),
    }
}

impl Application {
    /// The terms the application matches (its own, or one per `term`), or what is wrong.
    pub fn terms(&self) -> Result<Vec<Term>, String> {
        if self.term.is_empty() {
            return Ok(vec![self.term()?]);
        }
        let own = self.protocol.is_some()
            || self.source_port.is_some()
            || self.destination_port.is_some()
            || self.icmp_type.is_some()
            || self.icmp_code.is_some()
            || self.icmp6_type.is_some()
            || self.icmp6_code.is_some();
        if own {
            return Err("protocol, ports and ICMP types go in its terms, or without terms".into());
        }
        // The application's own inactivity-timeout holds for terms without one.
        let timeout = self
            .inactivity_timeout
            .as_deref()
            .map(timeout)
            .transpose()?;
        self.term
            .iter()
            .map(|t| {
                let mut term = t.term()?;
                term.inactivity_timeout = term.inactivity_timeout.or(timeout);
                Ok(term)
            })
            .collect()
    }

    /// The application as a term, or what is wrong with it.
    pub fn term(&self) -> Result<Term, String> {
        fields_of!(self).term()
    }
}

impl Fields<'_> {
    fn term(&self) -> Result<Term, String> {
        let protocol = self.protocol.map(protocol_number).transpose()?;
        let ports = |p: Option<&str>| p.map(port_range).transpose();
        let (src, dst) = (ports(self.source_port)?, ports(self.destination_port)?);
        if (src.is_some() || dst.is_some()) && !matches!(protocol, Some(6 | 17 | 132)) {
            return Err("ports need protocol tcp, udp or sctp".into());
        }
        if self.icmp_type.is_some() && !matches!(protocol, Some(1 | 58)) {
            return Err("icmp-type needs protocol icmp or icmp6".into());
        }
        if self.icmp6_type.is_some() && protocol != Some(58) {
            return Err("icmp6-type needs protocol icmp6".into());
        }
        if self.icmp_type.is_some() && self.icmp6_type.is_some() {
            return Err("icmp-type and icmp6-type cannot both be set".into());
        }
        let icmp_code = self.icmp_code.or(self.icmp6_code);
        if icmp_code.is_some() && self.icmp_type.or(self.icmp6_type).is_none() {
            // A code alone would match that code of every type: say so rather than widen.
            return Err("icmp-code needs an icmp-type (the code is of that type)".into());
        }
        if self.icmp6_code.is_some() && self.icmp6_type.is_none() {
            return Err("icmp6-code needs an icmp6-type".into());
        }
        Ok(Term {
            protocol,
            source_ports: src.unwrap_or(ANY_PORT),
            destination_ports: dst.unwrap_or(ANY_PORT),
            icmp_type: self.icmp_type.or(self.icmp6_type),
            icmp_code,
            inactivity_timeout: self.inactivity_timeout.map(timeout).transpose()?,
        })
    }
}

/// The terms `name` stands for: a configured application or set (sets expanded), or a
/// predefined one. Err names what is missing.
pub fn resolve(cfg: &Config, name: &str) -> Result<Vec<Term>, String> {
    fn go(cfg: &Config, name: &str, depth: usize, out: &mut Vec<Term>) -> Result<(), String> {
        if depth > 8 {
            return Err(format!("application-set {name} nests too deep (a loop?)"));
        }
        let apps = &cfg.applications;
        if let Some(a) = apps.application.iter().find(|a| a.name == name) {
            out.extend(a.terms().map_err(|e| format!("application {name}: {e}"))?);
        } else if let Some(s) = apps.application_set.iter().find(|s| s.name == name) {
            for m in s.application.iter().chain(&s.application_set) {
                go(cfg, &m.name, depth + 1, out)?;
            }
        } else if let Some(t) = predefined(name) {
            out.extend(t);
        } else if let Some(members) = predefined_set(name) {
            for m in members {
                go(cfg, m, depth + 1, out)?;
            }
        } else {
            return Err(format!("application '{name}' is not defined"));
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(cfg, name, 0, &mut out)?;
    Ok(out)
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    for a in &cfg.applications.application {
        if predefined(&a.name).is_some() || predefined_set(&a.name).is_some() {
            errors.push(ValidationError::new(
                &["applications"],
                format!("application {}", a.name),
                "the name of a predefined application cannot be redefined",
            ));
        } else if let Err(e) = a.terms() {
            errors.push(ValidationError::new(
                &["applications", "application", &a.name],
                format!("application {}", a.name),
                e,
            ));
        }
    }
    for s in &cfg.applications.application_set {
        if let Err(e) = resolve(cfg, &s.name) {
            errors.push(ValidationError::new(
                &["applications", "application-set", &s.name],
                format!("application-set {}", s.name),
                e,
            ));
        }
    }
}
