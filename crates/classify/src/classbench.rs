//! The ClassBench filter-set format, for tests and benchmarks:
//! `@SRC/LEN <TAB> DST/LEN <TAB> SLO : SHI <TAB> DLO : DHI <TAB> PROTO/MASK <TAB> FLAGS/MASK`.

use crate::rule::{PortRange, Prefix, Rule};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

/// Parses a ClassBench rule file (one rule a line, in priority order; blank lines skipped).
/// TCP flags are ignored, as the classifier does not match on them.
pub fn parse_classbench(text: &str) -> Result<Vec<Rule>, ParseError> {
    let mut rules = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rules.push(parse_line(line).map_err(|(col, msg)| ParseError {
            line: n + 1,
            col: col + 1,
            msg,
        })?);
    }
    Ok(rules)
}

type Fail = (usize, String);

fn parse_line(line: &str) -> Result<Rule, Fail> {
    let Some(body) = line.strip_prefix('@') else {
        return Err((0, "a rule starts with '@'".into()));
    };
    let mut fields = Vec::new();
    let mut at = 1;
    for f in body.split('\t') {
        fields.push((at, f.trim()));
        at += f.len() + 1;
    }
    let field = |i: usize, what: &str| -> Result<(usize, &str), Fail> {
        fields
            .get(i)
            .copied()
            .filter(|(_, f)| !f.is_empty())
            .ok_or_else(|| (line.len(), format!("missing {what}")))
    };
    let (c, s) = field(0, "source prefix")?;
    let src = prefix(s).map_err(|m| (c, m))?;
    let (c, s) = field(1, "destination prefix")?;
    let dst = prefix(s).map_err(|m| (c, m))?;
    let (c, s) = field(2, "source port range")?;
    let sport = range(s).map_err(|m| (c, m))?;
    let (c, s) = field(3, "destination port range")?;
    let dport = range(s).map_err(|m| (c, m))?;
    let (c, s) = field(4, "protocol")?;
    let (value, mask) = s
        .split_once('/')
        .ok_or_else(|| (c, format!("protocol {s:?}: want VALUE/MASK")))?;
    let value = hex_u8(value).map_err(|m| (c, m))?;
    let proto = match hex_u8(mask).map_err(|m| (c, m))? {
        0 => None,
        0xff => Some(value),
        m => return Err((c, format!("protocol mask {m:#04x}: want 0x00 or 0xFF"))),
    };
    Ok(Rule {
        src,
        dst,
        sport,
        dport,
        proto,
    })
}

fn prefix(s: &str) -> Result<Prefix, String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: want ADDRESS/LENGTH"))?;
    let addr: std::net::Ipv4Addr = a
        .parse()
        .map_err(|_| format!("{a:?}: not an IPv4 address"))?;
    let len: u8 = l
        .parse()
        .map_err(|_| format!("{l:?}: not a prefix length"))?;
    if len > 32 {
        return Err(format!("prefix length {len} is over 32"));
    }
    Ok(Prefix::new(u32::from(addr), len))
}

fn range(s: &str) -> Result<PortRange, String> {
    let (lo, hi) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: want LOW : HIGH"))?;
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("{:?}: not a port", p.trim()))
    };
    let (lo, hi) = (port(lo)?, port(hi)?);
    if lo > hi {
        return Err(format!("port range {lo} : {hi} is empty"));
    }
    Ok(PortRange { lo, hi })
}

fn hex_u8(s: &str) -> Result<u8, String> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| format!("{s:?}: want a hex number (0x..)"))?;
    u8::from_str_radix(h, 16).map_err(|_| format!("{s:?}: not a hex byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example_and_points_at_errors() {
        let r = parse_classbench(
            "@171.231.33.240/32\t53.177.43.67/32\t0 : 65535\t1526 : 1526\t0x06/0xFF\t0x0000/0x0200\t\n",
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].src, Prefix::new(0xabe7_21f0, 32));
        assert_eq!(r[0].dport, PortRange::exact(1526));
        assert_eq!(r[0].sport, PortRange::ANY);
        assert_eq!(r[0].proto, Some(6));
        let e = parse_classbench("\n@1.2.3.4/32\t5.6.7.8/40\t0 : 1\t0 : 1\t0x06/0xFF\t0/0\n")
            .unwrap_err();
        assert_eq!((e.line, e.col), (2, 13), "{e}");
        assert!(e.msg.contains("over 32"), "{e}");
        let e = parse_classbench("@1.2.3.4/32\t5.6.7.8/8\t9 : 1\t0 : 1\t0x06/0xFF").unwrap_err();
        assert!(e.msg.contains("empty"), "{e}");
        assert!(parse_classbench("1.2.3.4/32").is_err());
    }
}
