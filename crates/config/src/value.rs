//! Leaf value types and parsed values.
//!
//! Values are stored parsed, not as text, so the printer always emits the canonical form
//! (`10.0.0.0/8`, not `010.0.0.0/8`) and lists sort the way an operator expects
//! (`eth2` before `eth10`, `10.0.0.0/8` before `9.0.0.0/8` by address, not by text).

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The type of a leaf or of a list key, with its range and syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Free text (descriptions); printed quoted when it needs to be.
    Text,
    /// Long text: a certificate or key in PEM form, up to 64 KiB.
    Blob,
    /// A name without white space (VLAN names, RIB names).
    Name,
    /// An unsigned integer in an inclusive range.
    Uint {
        min: u64,
        max: u64,
    },
    Ipv4,
    Ipv6,
    /// An address of either family (name servers, syslog hosts).
    Ip,
    /// An IPv4 network prefix; host bits are cleared as Junos does.
    Ipv4Prefix,
    Ipv6Prefix,
    /// A network prefix of either family (address books).
    IpPrefix,
    /// An interface address: host bits are kept (`10.0.0.1/24`).
    Ipv4IfAddr,
    Ipv6IfAddr,
    /// A NAT pool address: an IPv4 address with an optional length, host bits kept
    /// (`1.0.0.1` is `1.0.0.1/32`; `203.0.113.10/24 to 203.0.113.20/24` is a range of eleven
    /// addresses, as on an SRX, not the network twice).
    Ipv4PoolAddr,
    /// A TCP/UDP port: a number, or a name Junos knows (`http`, `ssh`, `ntp`), kept as
    /// written.
    Port,
    /// One of a fixed set of keywords.
    Enum(&'static [&'static str]),
    /// A Linux netdev name (1 to 15 bytes, no `/`, no white space).
    IfName,
    /// A logical interface `NAME.UNIT` such as `eth1.0` or `irb.10`.
    IflName,
    /// A host name (letters, digits, `-`, `_` and `.`; Junos takes `_`, as in `fw_01`).
    HostName,
    /// A static-route next hop: an address of the given family or a logical interface.
    NextHop {
        v6: bool,
    },
    /// The name of an entry of the list at this absolute path (completion offers its keys).
    Ref(&'static [&'static str]),
}

impl Type {
    /// The placeholder shown by `?` help, Junos style.
    pub fn placeholder(&self) -> String {
        match self {
            Type::Text => "<text>".into(),
            Type::Blob => "<PEM text>".into(),
            Type::Name => "<name>".into(),
            Type::Uint { min, max } => format!("<{min}..{max}>"),
            Type::Ipv4 => "<IPv4 address>".into(),
            Type::Ipv6 => "<IPv6 address>".into(),
            Type::Ip => "<address>".into(),
            Type::Port => "<port>".into(),
            Type::Ipv4Prefix => "<IPv4 prefix>".into(),
            Type::Ipv6Prefix => "<IPv6 prefix>".into(),
            Type::IpPrefix => "<IP prefix>".into(),
            Type::Ipv4IfAddr => "<IPv4 address/length>".into(),
            Type::Ipv4PoolAddr => "<IPv4 address[/length]>".into(),
            Type::Ipv6IfAddr => "<IPv6 address/length>".into(),
            Type::Enum(v) => v.join("|"),
            Type::IfName => "<interface-name>".into(),
            Type::IflName => "<interface.unit>".into(),
            Type::HostName => "<host-name>".into(),
            Type::NextHop { v6: false } => "<IPv4 address or interface.unit>".into(),
            Type::NextHop { v6: true } => "<IPv6 address or interface.unit>".into(),
            Type::Ref(_) => "<name>".into(),
        }
    }

    /// Parses `text` as a value of this type, or says what was expected.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        match self {
            Type::Text => check_text(text).map(|()| Value::Text(text.into())),
            Type::Blob => check_blob(text).map(|()| Value::Text(text.into())),
            Type::Name | Type::Ref(_) => check_name(text).map(|()| Value::Text(text.into())),
            Type::Uint { min, max } => {
                let n: u64 = text
                    .parse()
                    .map_err(|_| format!("'{text}' is not a number ({min}..{max})"))?;
                if n < *min || n > *max {
                    return Err(format!("value {n} is not within range ({min}..{max})"));
                }
                Ok(Value::Num(n))
            }
            Type::Ipv4 => text
                .parse::<Ipv4Addr>()
                .map(|a| Value::Addr(a.into()))
                .map_err(|_| format!("invalid IPv4 address '{text}'")),
            Type::Ipv6 => text
                .parse::<Ipv6Addr>()
                .map(|a| Value::Addr(a.into()))
                .map_err(|_| format!("invalid IPv6 address '{text}'")),
            Type::Port => match text.parse::<u64>() {
                Ok(n) if n <= 65535 => Ok(Value::Num(n)),
                Ok(n) => Err(format!("value {n} is not within range (0..65535)")),
                Err(_) if port_number(text).is_some() => Ok(Value::Text(text.into())),
                Err(_) => Err(format!(
                    "invalid port '{text}': expected 0..65535 or a port name (http, ssh, ntp, ...)"
                )),
            },
            Type::Ip => text
                .parse::<IpAddr>()
                .map(Value::Addr)
                .map_err(|_| format!("invalid IP address '{text}'")),
            Type::Ipv4Prefix => parse_prefix(text, false, true),
            Type::Ipv6Prefix => parse_prefix(text, true, true),
            Type::IpPrefix => parse_prefix(text, text.contains(':'), true),
            Type::Ipv4IfAddr => parse_prefix(text, false, false),
            Type::Ipv4PoolAddr => parse_prefix(text, false, false),
            Type::Ipv6IfAddr => parse_prefix(text, true, false),
            Type::Enum(choices) => {
                if choices.contains(&text) {
                    Ok(Value::Text(text.into()))
                } else {
                    Err(format!(
                        "invalid value '{text}': expected one of {}",
                        choices.join(", ")
                    ))
                }
            }
            Type::IfName => check_ifname(text).map(|()| Value::Text(text.into())),
            Type::IflName => check_iflname(text).map(|()| Value::Text(text.into())),
            Type::HostName => check_hostname(text).map(|()| Value::Text(text.into())),
            Type::NextHop { v6 } => {
                if let Ok(a) = text.parse::<IpAddr>() {
                    if a.is_ipv6() == *v6 {
                        return Ok(Value::Addr(a));
                    }
                    let fam = if *v6 { "IPv6" } else { "IPv4" };
                    return Err(format!("next-hop '{text}' is not an {fam} address"));
                }
                check_iflname(text)
                    .map(|()| Value::Text(text.into()))
                    .map_err(|_| {
                        format!("invalid next-hop '{text}': expected {}", self.placeholder())
                    })
            }
        }
    }
}

fn check_blob(text: &str) -> Result<(), String> {
    if text.len() > 65536 {
        return Err("text is longer than 65536 characters".into());
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("text contains control characters".into());
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), String> {
    if text.len() > 1024 {
        return Err("text is longer than 1024 characters".into());
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err("text contains control characters".into());
    }
    Ok(())
}

fn check_name(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 255 {
        return Err("name must be 1 to 255 characters".into());
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "{}[];\"".contains(c))
    {
        return Err(format!(
            "invalid name '{}': no white space, quotes or braces",
            text.escape_default()
        ));
    }
    Ok(())
}

/// Whether `text` is a Junos port name: `ge-0/0/0`, `xe-1/2/3:1` (a channel), `et-0/0/48`.
/// The media prefixes are those an SRX, EX, QFX or MX uses for Ethernet and services ports.
pub fn is_junos_port(text: &str) -> bool {
    const MEDIA: &[&str] = &[
        "ge", "xe", "et", "fe", "mge", "gr", "ip", "lt", "lsq", "sp", "ms", "vt", "pp", "pd", "pe",
        "ut", "fte",
    ];
    let Some((media, rest)) = text.split_once('-') else {
        return false;
    };
    let (slots, channel) = match rest.split_once(':') {
        Some((s, c)) => (s, Some(c)),
        None => (rest, None),
    };
    let num = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = slots.split('/').collect();
    MEDIA.contains(&media)
        && parts.len() == 3
        && parts.iter().all(|p| num(p))
        && channel.is_none_or(num)
}

/// The management ports of a QFX or PTX with routing engines named in them (`re0:mgmt-0`).
pub fn is_re_management(text: &str) -> bool {
    matches!(
        text,
        "re0:mgmt-0" | "re0:mgmt-1" | "re1:mgmt-0" | "re1:mgmt-1"
    )
}

fn check_ifname(text: &str) -> Result<(), String> {
    if is_junos_port(text) || is_re_management(text) {
        return Ok(());
    }
    let ok = !text.is_empty()
        && text.len() <= 15
        && text != "."
        && text != ".."
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid interface name '{}': a Junos name (ge-0/0/0, xe-0/0/1:2) or a Linux netdev name of 1 to 15 characters [A-Za-z0-9-_.@]",
            text.escape_default()
        ))
    }
}

fn check_iflname(text: &str) -> Result<(), String> {
    let (ifd, unit) = split_ifl(text).ok_or_else(|| {
        format!(
            "invalid logical interface '{}': expected NAME.UNIT",
            text.escape_default()
        )
    })?;
    check_ifname(ifd)?;
    if unit > UNIT_MAX {
        return Err(format!("unit {unit} is not within range (0..{UNIT_MAX})"));
    }
    Ok(())
}

/// The ports Junos knows by name (in applications, NAT and filter match conditions).
const PORT_NAMES: &[(&str, u16)] = &[
    ("afs", 1483),
    ("bgp", 179),
    ("biff", 512),
    ("bootpc", 68),
    ("bootps", 67),
    ("cmd", 514),
    ("cvspserver", 2401),
    ("dhcp", 67),
    ("domain", 53),
    ("eklogin", 2105),
    ("ekshell", 2106),
    ("exec", 512),
    ("finger", 79),
    ("ftp", 21),
    ("ftp-data", 20),
    ("http", 80),
    ("https", 443),
    ("ident", 113),
    ("imap", 143),
    ("kerberos-sec", 88),
    ("klogin", 543),
    ("kpasswd", 761),
    ("krb-prop", 754),
    ("krbupdate", 760),
    ("kshell", 544),
    ("ldap", 389),
    ("ldp", 646),
    ("login", 513),
    ("mobileip-agent", 434),
    ("mobilip-mn", 435),
    ("msdp", 639),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ssn", 139),
    ("nfsd", 2049),
    ("nntp", 119),
    ("ntalk", 518),
    ("ntp", 123),
    ("pop3", 110),
    ("pptp", 1723),
    ("printer", 515),
    ("radacct", 1813),
    ("radius", 1812),
    ("rip", 520),
    ("rkinit", 2108),
    ("smtp", 25),
    ("snmp", 161),
    ("snmptrap", 162),
    ("snpp", 444),
    ("socks", 1080),
    ("ssh", 22),
    ("sunrpc", 111),
    ("syslog", 514),
    ("tacacs", 49),
    ("tacacs-ds", 65),
    ("talk", 517),
    ("telnet", 23),
    ("tftp", 69),
    ("timed", 525),
    ("who", 513),
    ("xdmcp", 177),
    ("zephyr-clt", 2103),
    ("zephyr-hm", 2104),
    ("zephyr-srv", 2102),
];

/// The number of a port given by number or by its Junos name.
pub fn port_number(text: &str) -> Option<u16> {
    text.parse::<u16>()
        .ok()
        .or_else(|| PORT_NAMES.iter().find(|(n, _)| *n == text).map(|(_, p)| *p))
}

/// The largest logical unit number, as on Junos.
pub const UNIT_MAX: u64 = 16385;

/// Splits `eth1.100` into (`eth1`, 100).
pub fn split_ifl(text: &str) -> Option<(&str, u64)> {
    let (ifd, unit) = text.rsplit_once('.')?;
    if ifd.is_empty() || unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((ifd, unit.parse().ok()?))
}

fn check_hostname(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 255
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        && !text.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid host-name '{}': letters, digits, '-', '_' and '.'",
            text.escape_default()
        ))
    }
}

fn parse_prefix(text: &str, v6: bool, network: bool) -> Result<Value, String> {
    let fam = if v6 { "IPv6" } else { "IPv4" };
    let max = if v6 { 128 } else { 32 };
    // No length: a host, as Junos reads `route 192.0.2.1 next-hop ...` (and prints it /32).
    let host = format!("{text}/{max}");
    let text = if text.contains('/') { text } else { &host };
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("invalid {fam} prefix '{text}': expected ADDRESS/LENGTH"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("invalid prefix length in '{text}' (0..{max})"))?;
    if len > max {
        return Err(format!(
            "invalid prefix length {len} in '{text}' (0..{max})"
        ));
    }
    let addr: IpAddr = if v6 {
        addr.parse::<Ipv6Addr>().map(IpAddr::from)
    } else {
        addr.parse::<Ipv4Addr>().map(IpAddr::from)
    }
    .map_err(|_| format!("invalid {fam} address in '{text}'"))?;
    let addr = if network { mask(addr, len) } else { addr };
    Ok(Value::Prefix(addr, len))
}

/// Clears the host bits of `addr` beyond `len`.
pub fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// A parsed value. The derived order is the display order of list keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Num(u64),
    Addr(IpAddr),
    Prefix(IpAddr, u8),
    Text(NatStr),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(&t.0),
            _ => None,
        }
    }

    /// The JSON form: numbers as numbers, everything else as strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Num(n) => serde_json::Value::from(*n),
            other => serde_json::Value::String(other.to_plain()),
        }
    }

    /// The text without quotes.
    pub fn to_plain(&self) -> String {
        match self {
            Value::Num(n) => n.to_string(),
            Value::Addr(a) => a.to_string(),
            Value::Prefix(a, l) => format!("{a}/{l}"),
            Value::Text(t) => t.0.clone(),
        }
    }
}

/// Printed as configuration text: quoted when the text needs it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(t) => f.write_str(&quote(&t.0)),
            other => f.write_str(&other.to_plain()),
        }
    }
}

/// Quotes `s` when it would not survive as a bare word.
pub fn quote(s: &str) -> String {
    // A bare word ending in ':' would read back as a tag (`inactive:`, `protect:`).
    let bare = !s.is_empty()
        && !s.starts_with('#')
        && !s.starts_with("/*")
        && !s.ends_with(':')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "{}[];\"\\'".contains(c));
    if bare {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // A backslash is doubled only where the parser would otherwise read it as an
        // escape of the next character (see `parse::lex`), so `\n` prints as written.
        let escape =
            c == '"' || (c == '\\' && matches!(chars.peek(), None | Some('"') | Some('\\')));
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A string that sorts naturally: digit runs compare as numbers (`eth2` < `eth10`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NatStr(pub String);

impl From<&str> for NatStr {
    fn from(s: &str) -> Self {
        NatStr(s.to_string())
    }
}

impl Ord for NatStr {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for NatStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta = trim_zeros(na);
                let tb = trim_zeros(nb);
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_eth2_before_eth10() {
        let mut v = [
            NatStr::from("eth10"),
            NatStr::from("eth2"),
            NatStr::from("eth1"),
            NatStr::from("a"),
        ];
        v.sort();
        let names: Vec<_> = v.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["a", "eth1", "eth2", "eth10"]);
        // Different spellings of the same number still order totally.
        assert_ne!(natural_cmp("eth01", "eth1"), Ordering::Equal);
    }

    #[test]
    fn prefixes_are_masked_and_interface_addresses_are_not() {
        assert_eq!(
            Type::Ipv4Prefix.parse("10.1.2.3/8").unwrap().to_plain(),
            "10.0.0.0/8"
        );
        assert_eq!(
            Type::Ipv4IfAddr.parse("10.1.2.3/8").unwrap().to_plain(),
            "10.1.2.3/8"
        );
        assert!(Type::Ipv4IfAddr
            .parse("10.0.0.1/33")
            .unwrap_err()
            .contains("0..32"));
        assert!(Type::Ipv6Prefix.parse("2001:db8::/129").is_err());
    }

    #[test]
    fn ranges_are_reported() {
        let t = Type::Uint { min: 1, max: 4094 };
        assert_eq!(
            t.parse("4095").unwrap_err(),
            "value 4095 is not within range (1..4094)"
        );
        assert!(t.parse("x").unwrap_err().contains("(1..4094)"));
    }

    #[test]
    fn quoting_round_trips_special_text() {
        assert_eq!(quote("uplink"), "uplink");
        assert_eq!(quote("to core"), "\"to core\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote(""), "\"\"");
    }
}
