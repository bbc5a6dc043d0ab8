//! One neighbour's session: the RFC 4271 finite state machine, run per TCP connection, with
//! the collision between an outgoing and an incoming connection resolved as §6.8 says, and
//! the timers (hold, keepalive, connect retry).
//!
//! Sans-IO, as quinn-proto is: the adapter reports what happened ([`Session::connected`],
//! [`Session::received`], [`Session::closed`], ...) with the time, drains [`Output`]s with
//! [`Session::poll_output`], and calls [`Session::poll`] at [`Session::next_timeout`]. No
//! socket, no clock, no thread here, so tests drive two sessions against each other with a
//! virtual clock.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::packet::{
    self, Capability, DecodeCtx, EncodeCtx, Family, Message, Notification, Open, Update,
};

/// What the configuration says about a neighbour, as the session needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The AS this box presents (`local-as`, else `autonomous-system`).
    pub local_as: u32,
    pub peer_as: u32,
    pub router_id: Ipv4Addr,
    /// Proposed hold time in seconds (0: no keepalives, no hold timer).
    pub hold_time: u16,
    pub families: Vec<Family>,
    /// Wait for the peer to connect; never connect out.
    pub passive: bool,
    pub internal: bool,
    /// The restart time announced in the graceful restart capability (None: not announced).
    pub graceful_restart: Option<u16>,
    /// How long to wait before connecting again after a failed attempt.
    pub connect_retry: Duration,
}

/// The FSM states, named as `show bgp summary` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// Which of the (at most two) TCP connections to the neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conn {
    /// The one this box opened.
    Outgoing,
    /// The one the neighbour opened.
    Incoming,
}

impl Conn {
    fn index(self) -> usize {
        match self {
            Conn::Outgoing => 0,
            Conn::Incoming => 1,
        }
    }

    fn other(self) -> Conn {
        match self {
            Conn::Outgoing => Conn::Incoming,
            Conn::Incoming => Conn::Outgoing,
        }
    }
}

/// What the two OPENs agreed.
#[derive(Debug, Clone)]
pub struct Negotiated {
    pub peer_open: Open,
    pub peer_id: Ipv4Addr,
    pub peer_as: u32,
    /// Seconds (0: none).
    pub hold_time: u16,
    pub keepalive: u16,
    /// Families both sides offered.
    pub families: Vec<Family>,
    pub route_refresh: bool,
    /// The neighbour's graceful restart capability: its restart time and the families whose
    /// forwarding state it says it kept.
    pub peer_restart: Option<(u16, Vec<Family>)>,
    pub decode: DecodeCtx,
    pub encode: EncodeCtx,
}

impl PartialEq for Negotiated {
    /// The codec contexts follow from the rest.
    fn eq(&self, o: &Self) -> bool {
        self.peer_open == o.peer_open
            && self.hold_time == o.hold_time
            && self.families == o.families
            && self.route_refresh == o.route_refresh
            && self.peer_restart == o.peer_restart
    }
}
impl Eq for Negotiated {}

/// Why an established session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    HoldTimerExpired,
    NotificationReceived(Notification),
    NotificationSent(Notification),
    /// The TCP connection closed or failed.
    ConnectionClosed,
    /// Stopped by configuration or `clear bgp neighbor`.
    Stopped,
    /// The neighbour connected again while established and had announced graceful restart:
    /// it restarted (RFC 4724 §4.2).
    PeerRestarted,
    /// This connection lost a collision with the other one (RFC 4271 §6.8): not an error.
    Collision,
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::HoldTimerExpired => f.write_str("Hold Timer Expired Error"),
            DownReason::NotificationReceived(n) => write!(f, "{n} (received)"),
            DownReason::NotificationSent(n) => write!(f, "{n} (sent)"),
            DownReason::ConnectionClosed => f.write_str("Connection closed"),
            DownReason::Stopped => f.write_str("Stopped"),
            DownReason::PeerRestarted => f.write_str("Peer restarted (graceful restart)"),
            DownReason::Collision => f.write_str("Connection collision resolved"),
        }
    }
}

/// What the adapter must do, and what the speaker must hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the neighbour; answer with [`Session::connected`] or
    /// [`Session::connect_failed`].
    Connect,
    /// Close this connection (after writing what was sent on it).
    Close(Conn),
    /// Write these bytes on this connection.
    Send(Conn, Vec<u8>),
    /// The session is established.
    Up(Box<Negotiated>),
    /// The established session went down: the neighbour's routes go (or go stale under
    /// graceful restart).
    Down(DownReason),
    /// An UPDATE from the established session.
    Update(Box<Update>),
    /// The neighbour asks for our routes again (ROUTE-REFRESH).
    Refresh(Family),
}

/// Counters and history for `show bgp neighbor`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub messages_in: u64,
    pub messages_out: u64,
    pub updates_in: u64,
    pub updates_out: u64,
    pub octets_in: u64,
    pub octets_out: u64,
    /// Times the session left Established.
    pub flaps: u32,
    pub last_error: Option<DownReason>,
    pub last_state: Option<State>,
    /// When the session came up, or went down last.
    pub since: Option<Instant>,
}

/// RFC 4271 §10: the hold time used while waiting for the neighbour's OPEN.
const LARGE_HOLD: Duration = Duration::from_secs(240);
/// After an established session drops, wait this long before connecting again, so a flapping
/// neighbour is not hammered (the IdleHoldTimer of RFC 4271 §8.1.1, fixed).
const IDLE_HOLD: Duration = Duration::from_secs(2);

/// The FSM of one TCP connection.
#[derive(Debug)]
struct Connection {
    state: State,
    rx: Vec<u8>,
    hold: Option<Duration>,
    hold_deadline: Option<Instant>,
    keepalive: Option<Duration>,
    keepalive_at: Option<Instant>,
    neg: Option<Negotiated>,
}

/// A neighbour's session.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    conns: [Option<Connection>; 2],
    started: bool,
    /// An outgoing connect is under way.
    connecting: bool,
    retry_at: Option<Instant>,
    out: VecDeque<Output>,
    pub stats: Stats,
}

impl Session {
    pub fn new(cfg: SessionConfig) -> Session {
        Session {
            cfg,
            conns: [None, None],
            started: false,
            connecting: false,
            retry_at: None,
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The state `show bgp summary` prints: the most advanced connection's, else Active
    /// (waiting to connect or be connected to) or Idle (stopped).
    pub fn state(&self) -> State {
        let best = self
            .conns
            .iter()
            .flatten()
            .map(|c| c.state)
            .max_by_key(|s| *s as u8);
        match best {
            Some(s) => s,
            None if !self.started => State::Idle,
            None if self.connecting => State::Connect,
            None => State::Active,
        }
    }

    /// What the established session negotiated.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.established().and_then(|c| self.conn(c)?.neg.as_ref())
    }

    /// The established connection, if any.
    pub fn established(&self) -> Option<Conn> {
        [Conn::Outgoing, Conn::Incoming]
            .into_iter()
            .find(|c| self.conn(*c).is_some_and(|c| c.state == State::Established))
    }

    fn conn(&self, c: Conn) -> Option<&Connection> {
        self.conns[c.index()].as_ref()
    }

    fn conn_mut(&mut self, c: Conn) -> Option<&mut Connection> {
        self.conns[c.index()].as_mut()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Starts the session (ManualStart; passive: ManualStart_with_PassiveTcpEstablishment).
    pub fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        if !self.cfg.passive {
            self.retry_at = Some(now);
            self.poll(now);
        }
    }

    /// Stops the session (ManualStop): a Cease NOTIFICATION on every connection, then close.
    pub fn stop(&mut self, now: Instant, why: Notification) {
        self.started = false;
        self.retry_at = None;
        for c in [Conn::Outgoing, Conn::Incoming] {
            if self.conn(c).is_some() {
                self.drop_conn(c, Some(why.clone()), DownReason::Stopped, now);
            }
        }
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The outgoing connect failed.
    pub fn connect_failed(&mut self, now: Instant) {
        self.connecting = false;
        if self.started && self.conns.iter().all(Option::is_none) {
            self.retry_at = Some(now + self.cfg.connect_retry);
        }
    }

    /// Whether to take a connection the neighbour opened (then call [`Session::connected`]
    /// with [`Conn::Incoming`]); false: close it.
    pub fn accept(&mut self, now: Instant) -> bool {
        if !self.started {
            return false;
        }
        // An incoming connection that never got the peer's OPEN (a peer that rebooted
        // mid-handshake) gives way to the new one.
        match self.conn(Conn::Incoming).map(|c| c.state) {
            Some(State::OpenSent) => self.drop_conn(
                Conn::Incoming,
                Some(Notification::new(6, 7, Vec::new())),
                DownReason::Collision,
                now,
            ),
            Some(_) => return false,
            None => {}
        }
        if let Some(c) = self.established() {
            // RFC 4724 §4.2: a neighbour that announced graceful restart and connects again
            // has restarted; the old session is gone. Otherwise the new connection loses
            // the collision with the established one (RFC 4271 §6.8).
            let restarts = self.negotiated().is_some_and(|n| n.peer_restart.is_some());
            if !restarts {
                return false;
            }
            self.drop_conn(c, None, DownReason::PeerRestarted, now);
        }
        true
    }

    /// A TCP connection is up: send our OPEN on it.
    pub fn connected(&mut self, c: Conn, now: Instant) {
        if c == Conn::Outgoing {
            self.connecting = false;
        }
        if !self.started || self.conn(c).is_some() {
            self.out.push_back(Output::Close(c));
            return;
        }
        self.retry_at = None;
        self.conns[c.index()] = Some(Connection {
            state: State::OpenSent,
            rx: Vec::new(),
            hold: Some(LARGE_HOLD),
            hold_deadline: Some(now + LARGE_HOLD),
            keepalive: None,
            keepalive_at: None,
            neg: None,
        });
        let open = self.our_open();
        self.send_msg(c, &Message::Open(open), &EncodeCtx::default());
    }

    /// The connection closed (the neighbour closed it, or it failed).
    pub fn closed(&mut self, c: Conn, now: Instant) {
        if self.conn(c).is_some() {
            self.drop_conn_silently(c, DownReason::ConnectionClosed, now);
        }
    }

    /// Bytes read from a connection.
    pub fn received(&mut self, c: Conn, data: &[u8], now: Instant) {
        let Some(conn) = self.conn_mut(c) else {
            return;
        };
        conn.rx.extend_from_slice(data);
        self.stats.octets_in += data.len() as u64;
        let mut at = 0;
        loop {
            let Some(conn) = self.conn(c) else {
                return;
            };
            let buf = &conn.rx[at..];
            match packet::frame(buf) {
                Ok(Some(len)) => {
                    let msg = buf[..len].to_vec();
                    at += len;
                    self.message(c, &msg, now);
                }
                Ok(None) => break,
                Err(n) => {
                    self.fail(c, n, now);
                    return;
                }
            }
        }
        if let Some(conn) = self.conn_mut(c) {
            conn.rx.drain(..at);
        }
    }

    /// Sends bytes the speaker encoded (UPDATEs) on the established connection. False if
    /// there is none.
    pub fn send_updates(&mut self, bytes: Vec<u8>, count: u64, now: Instant) -> bool {
        let Some(c) = self.established() else {
            return false;
        };
        self.stats.updates_out += count;
        self.stats.messages_out += count;
        self.stats.octets_out += bytes.len() as u64;
        if let Some(conn) = self.conn_mut(c) {
            conn.keepalive_at = conn.keepalive.map(|k| now + k);
        }
        self.out.push_back(Output::Send(c, bytes));
        true
    }

    /// Asks the neighbour to send its routes again (`clear bgp neighbor A soft-inbound`).
    pub fn request_refresh(&mut self, family: Family) -> bool {
        let Some(c) = self.established() else {
            return false;
        };
        if !self.negotiated().is_some_and(|n| n.route_refresh) {
            return false;
        }
        let (afi, safi) = family.afi_safi();
        let msg = Message::RouteRefresh(packet::RouteRefresh {
            afi,
            safi,
            subtype: 0,
        });
        self.send_msg(c, &msg, &EncodeCtx::default());
        true
    }

    /// Runs the timers due at `now`.
    pub fn poll(&mut self, now: Instant) {
        for c in [Conn::Outgoing, Conn::Incoming] {
            let Some(conn) = self.conn(c) else { continue };
            if conn.hold_deadline.is_some_and(|d| d <= now) {
                self.stats.last_error = Some(DownReason::HoldTimerExpired);
                self.drop_conn(
                    c,
                    Some(Notification::new(4, 0, Vec::new())),
                    DownReason::HoldTimerExpired,
                    now,
                );
                continue;
            }
            if conn.keepalive_at.is_some_and(|k| k <= now) {
                let ka = conn.keepalive;
                if let Some(conn) = self.conn_mut(c) {
                    conn.keepalive_at = ka.map(|k| now + k);
                }
                self.send_msg(c, &Message::Keepalive, &EncodeCtx::default());
            }
        }
        if self.retry_at.is_some_and(|r| r <= now) {
            self.retry_at = None;
            if self.started
                && !self.cfg.passive
                && !self.connecting
                && self.conn(Conn::Outgoing).is_none()
                && self.established().is_none()
            {
                self.connecting = true;
                self.out.push_back(Output::Connect);
            }
        }
    }

    /// When [`Session::poll`] must run next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.conns
            .iter()
            .flatten()
            .flat_map(|c| [c.hold_deadline, c.keepalive_at])
            .chain([self.retry_at])
            .flatten()
            .min()
    }

    fn our_open(&self) -> Open {
        let mut caps: Vec<Capability> = self
            .cfg
            .families
            .iter()
            .map(|f| {
                let (afi, safi) = f.afi_safi();
                Capability::Multiprotocol { afi, safi }
            })
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::FourOctetAs(self.cfg.local_as));
        if let Some(time) = self.cfg.graceful_restart {
            caps.push(Capability::GracefulRestart {
                restarting: false,
                time,
                families: self
                    .cfg
                    .families
                    .iter()
                    .map(|f| {
                        let (afi, safi) = f.afi_safi();
                        (afi, safi, false)
                    })
                    .collect(),
            });
        }
        Open {
            version: 4,
            my_as: u16::try_from(self.cfg.local_as).unwrap_or(packet::AS_TRANS as u16),
            hold_time: self.cfg.hold_time,
            bgp_id: self.cfg.router_id,
            capabilities: caps,
        }
    }

    fn send_msg(&mut self, c: Conn, msg: &Message, ctx: &EncodeCtx) {
        let mut buf = Vec::new();
        packet::encode(msg, ctx, &mut buf);
        self.stats.messages_out += 1;
        self.stats.octets_out += buf.len() as u64;
        self.out.push_back(Output::Send(c, buf));
    }

    /// An error on a connection: send the NOTIFICATION and close it.
    fn fail(&mut self, c: Conn, n: Notification, now: Instant) {
        self.drop_conn(c, Some(n.clone()), DownReason::NotificationSent(n), now);
    }

    /// Closes a connection, with a NOTIFICATION first if given.
    fn drop_conn(&mut self, c: Conn, n: Option<Notification>, why: DownReason, now: Instant) {
        if let Some(n) = n {
            self.send_msg(c, &Message::Notification(n), &EncodeCtx::default());
        }
        self.out.push_back(Output::Close(c));
        self.drop_conn_silently(c, why, now);
    }

    fn drop_conn_silently(&mut self, c: Conn, why: DownReason, now: Instant) {
        let Some(conn) = self.conns[c.index()].take() else {
            return;
        };
        if conn.state == State::Established {
            self.stats.flaps += 1;
            self.stats.last_state = Some(State::Established);
            self.stats.since = Some(now);
            self.stats.last_error = Some(why.clone());
            self.out.push_back(Output::Down(why));
        } else if !matches!(why, DownReason::Stopped | DownReason::Collision) {
            self.stats.last_error = Some(why);
        }
        if self.started && !self.cfg.passive && self.conns.iter().all(Option::is_none) {
            let wait = if conn.state == State::Established {
                IDLE_HOLD
            } else {
                self.cfg.connect_retry
            };
            self.retry_at = Some(now + wait);
        }
    }

    /// One whole message from connection `c`.
    fn message(&mut self, c: Conn, bytes: &[u8], now: Instant) {
        let Some(conn) = self.conn(c) else { return };
        let state = conn.state;
        let ctx = conn
            .neg
            .as_ref()
            .map(|n| n.decode.clone())
            .unwrap_or_default();
        self.stats.messages_in += 1;
        let msg = match packet::decode(bytes, &ctx) {
            Ok(m) => m,
            Err(n) => return self.fail(c, n, now),
        };
        // Any message from the neighbour shows it is alive.
        if let Some(conn) = self.conn_mut(c) {
            conn.hold_deadline = conn.hold.map(|h| now + h);
        }
        match (state, msg) {
            (_, Message::Notification(n)) => {
                let why = DownReason::NotificationReceived(n);
                self.stats.last_error = Some(why.clone());
                self.out.push_back(Output::Close(c));
                self.drop_conn_silently(c, why, now);
            }
            (State::OpenSent, Message::Open(open)) => self.open_received(c, open, now),
            (State::OpenConfirm, Message::Keepalive) => {
                if let Some(conn) = self.conn_mut(c) {
                    conn.state = State::Established;
                }
                // The other connection lost.
                if self.conn(c.other()).is_some() {
                    self.drop_conn(
                        c.other(),
                        Some(Notification::new(6, 7, Vec::new())),
                        DownReason::Collision,
                        now,
                    );
                }
                self.stats.since = Some(now);
                let neg = self.conn(c).and_then(|c| c.neg.clone());
                if let Some(neg) = neg {
                    self.out.push_back(Output::Up(Box::new(neg)));
                }
            }
            (State::Established, Message::Keepalive) => {}
            (State::Established, Message::Update(u)) => {
                self.stats.updates_in += 1;
                self.out.push_back(Output::Update(Box::new(u)));
            }
            (State::Established, Message::RouteRefresh(r)) => {
                let ours = self.negotiated().is_some_and(|n| n.route_refresh);
                // Subtypes 1 and 2 (RFC 7313 markers) and families not negotiated are ignored.
                match r.family() {
                    Some(f)
                        if ours
                            && r.subtype == 0
                            && self.negotiated().is_some_and(|n| n.families.contains(&f)) =>
                    {
                        self.out.push_back(Output::Refresh(f))
                    }
                    _ => {}
                }
            }
            (s, _) => {
                // RFC 6608: the FSM error subcode names the state.
                let sub = match s {
                    State::OpenSent => 1,
                    State::OpenConfirm => 2,
                    _ => 3,
                };
                self.fail(c, Notification::new(5, sub, Vec::new()), now);
            }
        }
    }

    fn open_received(&mut self, c: Conn, open: Open, now: Instant) {
        let asn = open.asn();
        if asn != self.cfg.peer_as {
            let data = if open.four_octet_as() {
                asn.to_be_bytes().to_vec()
            } else {
                open.my_as.to_be_bytes().to_vec()
            };
            return self.fail(c, Notification::new(2, 2, data), now);
        }
        // RFC 6286 §2.2: within one AS the identifiers must differ.
        if self.cfg.internal && open.bgp_id == self.cfg.router_id {
            return self.fail(
                c,
                Notification::new(2, 3, open.bgp_id.octets().to_vec()),
                now,
            );
        }
        let hold_time = self.cfg.hold_time.min(open.hold_time);
        let keepalive = hold_time / 3;
        let theirs = open.families();
        let families: Vec<Family> = self
            .cfg
            .families
            .iter()
            .copied()
            .filter(|f| theirs.contains(f))
            .collect();
        let four = open.four_octet_as();
        let peer_restart = match open.graceful_restart() {
            Some(Capability::GracefulRestart { time, families, .. }) => Some((
                *time,
                families
                    .iter()
                    .filter(|(_, _, kept)| *kept)
                    .filter_map(|(a, s, _)| Family::from_afi_safi(*a, *s))
                    .collect(),
            )),
            _ => None,
        };
        let neg = Negotiated {
            peer_id: open.bgp_id,
            peer_as: asn,
            hold_time,
            keepalive,
            families: families.clone(),
            route_refresh: open.route_refresh(),
            peer_restart,
            decode: DecodeCtx {
                four_octet_as: four,
                ebgp: !self.cfg.internal,
                families,
            },
            encode: EncodeCtx {
                four_octet_as: four,
            },
            peer_open: open,
        };
        let peer_id = neg.peer_id;
        if let Some(conn) = self.conn_mut(c) {
            conn.state = State::OpenConfirm;
            conn.neg = Some(neg);
            let hold = (hold_time > 0).then(|| Duration::from_secs(hold_time.into()));
            conn.hold = hold;
            conn.hold_deadline = hold.map(|h| now + h);
            conn.keepalive = (keepalive > 0).then(|| Duration::from_secs(keepalive.into()));
            conn.keepalive_at = conn.keepalive.map(|k| now + k);
        }
        // RFC 4271 §6.8: two connections that both got an OPEN: the one opened by the
        // speaker with the higher BGP identifier stays (on a tie, the higher AS: RFC 6286
        // §2.3). Resolved before the KEEPALIVE, so the losing connection never gets one.
        let other = c.other();
        let other_state = self.conn(other).map(|o| o.state);
        match other_state {
            Some(State::Established) => {
                self.drop_conn(
                    c,
                    Some(Notification::new(6, 7, Vec::new())),
                    DownReason::Collision,
                    now,
                );
            }
            Some(State::OpenConfirm) => {
                let (ours, theirs) = (u32::from(self.cfg.router_id), u32::from(peer_id));
                let ours_wins =
                    ours > theirs || (ours == theirs && self.cfg.local_as > self.cfg.peer_as);
                let loser = if ours_wins {
                    Conn::Incoming
                } else {
                    Conn::Outgoing
                };
                self.drop_conn(
                    loser,
                    Some(Notification::new(6, 7, Vec::new())),
                    DownReason::Collision,
                    now,
                );
            }
            _ => {}
        }
        if self.conn(c).is_some() {
            self.send_msg(c, &Message::Keepalive, &EncodeCtx::default());
        }
    }
}
