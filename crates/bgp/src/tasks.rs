//! The thin I/O adapter around the [`Speaker`]: one thread with a single-threaded tokio
//! runtime, one loop that owns the speaker, a task per socket half, and the listener on port
//! 179. Every event (a command, a socket event, a batch of RIB changes, a timer) is handled
//! in the loop, followed by [`Speaker::pump`], then the speaker's outputs are carried out
//! before the next event, so what a session decided is never reordered with what follows.
//!
//! The sockets are the kernel's: the data plane hands the box's own traffic to its host
//! interfaces (TAP), where host-inbound `bgp` has already applied.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use savin_config::model::policy_options::PolicyOptions;
use savin_config::model::protocols::Peer;
use savin_policy::Policies;
use savin_rib::{IpPrefix, SharedRib};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc::{channel, unbounded_channel, Sender, UnboundedReceiver, UnboundedSender};
use tracing::{debug, info, warn};

use crate::session::{Conn, Output};
use crate::speaker::{canonical, ActiveRoute, Global, PeerId, Speaker};

/// Socket events queued for the loop at most.
const EVENTS: usize = 1024;
/// Bytes queued for one neighbour at most: one that does not read (a TCP window shut for
/// good) loses the session (RFC 4271 leaves the limit to the implementation), rather than
/// our memory.
const SEND_QUEUE: usize = 64 << 20;

/// BGP's well-known port.
pub const PORT: u16 = 179;
/// How long an outgoing connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many queued events are handled before the speaker is pumped (a full table
/// arrives as thousands of UPDATEs: batching them keeps the RIB's work per batch, not per
/// message).
const BATCH: usize = 512;
/// ... and at most this many bytes of them: a full table from ten neighbours at once must
/// not become millions of route changes in one batch (memory, and the RIB's latency).
const BATCH_BYTES: usize = 256 * 1024;
/// Prefixes changed in the RIB and not yet drained into the FIB before the loop waits for the
/// forwarding plane: TCP then slows the neighbours down, as it does when BIRD is busy.
const RIB_BACKLOG: usize = 64 * 1024;

/// A batch of active-route changes: the prefix and its active route now (None: none).
pub type ActiveBatch = Vec<(IpPrefix, Option<ActiveRoute>)>;
/// Called with each batch of active-route changes (on any thread; must not block).
pub type ActiveWatcher = Box<dyn Fn(ActiveBatch) + Send + Sync>;
/// Work for the BGP thread, run on its speaker.
pub(crate) type Query = Box<dyn FnOnce(&mut Speaker, Instant) + Send>;

/// Where BGP keeps its routes and where it learns the active routes: the forwarding plane's
/// RIB (the daemon glues it), or a test's.
pub trait RibPort: Send + Sync {
    /// The RIB: BGP's paths are its BGP candidates, written by the speaker under its lock.
    fn rib(&self) -> Arc<SharedRib>;
    /// BGP wrote to the RIB: its owner selects and programs the FIB soon (must not block).
    fn written(&self);
    /// Registers `f` for every batch of active-route changes (the current routes first).
    fn watch(&self, f: ActiveWatcher);
    /// Changes written and not yet drained into the FIB.
    fn backlog(&self) -> usize {
        self.rib().read().pending()
    }
}

/// What the management side asks of the BGP thread.
pub(crate) enum Cmd {
    Configure {
        global: Global,
        peers: Vec<Peer>,
        policies: Arc<Policies>,
        /// What the policies were compiled from.
        policy_options: Box<PolicyOptions>,
    },
    /// Runs on the speaker (show commands, clear).
    Query(Query),
}

enum Ev {
    Accepted(TcpStream, SocketAddr),
    Connected {
        peer: PeerId,
        attempt: u64,
        result: std::io::Result<TcpStream>,
    },
    Data(u64, Vec<u8>),
    Closed(u64),
}

impl Ev {
    /// Bytes of data it carries.
    fn len(&self) -> usize {
        match self {
            Ev::Data(_, b) => b.len(),
            _ => 0,
        }
    }
}

struct Sock {
    peer: PeerId,
    conn: Conn,
    writer: UnboundedSender<Vec<u8>>,
    /// Bytes handed to the writer and not yet written.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    reader: tokio::task::AbortHandle,
}

#[derive(Default)]
struct IoState {
    next_id: u64,
    socks: HashMap<u64, Sock>,
    by_conn: HashMap<(PeerId, Conn), u64>,
    /// The connect under way per neighbour (its attempt number and the address).
    connecting: HashMap<PeerId, (u64, IpAddr)>,
}

/// Starts the BGP thread; it runs until `cmds`' sender is dropped.
pub(crate) fn spawn(rib: Arc<dyn RibPort>, port: u16) -> UnboundedSender<Cmd> {
    let (tx, rx) = unbounded_channel();
    let started = std::thread::Builder::new()
        .name("savin-bgp".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    warn!(%e, "bgp: no runtime");
                    return;
                }
            };
            rt.block_on(run(rx, rib, port));
        });
    if let Err(e) = started {
        warn!(%e, "bgp: could not start its thread");
    }
    tx
}

async fn run(mut cmds: UnboundedReceiver<Cmd>, rib: Arc<dyn RibPort>, port: u16) {
    // Bounded: when the loop falls behind, the readers wait, and TCP slows the peers down
    // (rather than their UPDATEs piling up in memory).
    let (ev_tx, mut ev_rx) = channel::<Ev>(EVENTS);
    let (act_tx, mut act_rx) = unbounded_channel();
    rib.watch(Box::new(move |c| {
        let _ = act_tx.send(c);
    }));
    let listener = listen(port, ev_tx.clone()).await;
    // The MD5 keys set on the listening socket, by neighbour.
    let mut keys: HashMap<IpAddr, String> = HashMap::new();
    let now = Instant::now();
    let mut speaker = Speaker::new(
        Global {
            router_id: std::net::Ipv4Addr::UNSPECIFIED,
            local_as: 0,
        },
        rib.rib(),
        now,
    );
    let mut io = IoState::default();
    let shared = rib.rib();
    loop {
        let wake = speaker
            .next_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else { break };
                if let (Cmd::Configure { peers, .. }, Some(fd)) = (&cmd, listener) {
                    listener_keys(fd, &mut keys, peers);
                }
                handle_cmd(&mut speaker, cmd);
            }
            ev = ev_rx.recv() => {
                let Some(ev) = ev else { break };
                let mut bytes = ev.len();
                handle_ev(&mut speaker, &mut io, &ev_tx, ev);
                for _ in 0..BATCH {
                    if bytes >= BATCH_BYTES {
                        break;
                    }
                    match ev_rx.try_recv() {
                        Ok(ev) => {
                            bytes += ev.len();
                            handle_ev(&mut speaker, &mut io, &ev_tx, ev);
                        }
                        Err(_) => break,
                    }
                }
            }
            ch = act_rx.recv() => {
                let Some(ch) = ch else { break };
                speaker.rib_changed(ch);
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                speaker.poll(Instant::now());
            }
        }
        let now = Instant::now();
        // The RIB's clock (when a route arrived), for what the speaker writes now.
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        shared.write().set_time(unix);
        speaker.pump(now);
        if speaker.take_rib_written() {
            rib.written();
        }
        while let Some(o) = speaker.poll_io() {
            execute(&mut speaker, &mut io, &ev_tx, o.peer, o.address, o.output);
        }
        // The RIB is behind: wait for it rather than read more (after what the speaker had
        // to send went out; bounded: a RIB that never catches up holds timers back a second
        // at most, the wait is checked every millisecond).
        let mut waited = 0;
        while rib.backlog() > RIB_BACKLOG && waited < 1000 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += 1;
        }
    }
    // Stopped: every session closes.
    for (_, s) in io.socks.drain() {
        s.reader.abort();
    }
}

fn handle_cmd(speaker: &mut Speaker, cmd: Cmd) {
    let now = Instant::now();
    match cmd {
        Cmd::Configure {
            global,
            peers,
            policies,
            policy_options,
        } => speaker.configure(global, peers, policies, &policy_options, now),
        Cmd::Query(f) => f(speaker, now),
    }
}

/// The listening socket's MD5 keys follow the configuration: a neighbour with an
/// `authentication-key` gets its key, one without (or gone) loses it.
fn listener_keys(fd: RawFd, keys: &mut HashMap<IpAddr, String>, peers: &[Peer]) {
    let want: HashMap<IpAddr, String> = peers
        .iter()
        .filter_map(|p| Some((p.address, p.authentication_key.clone()?)))
        .collect();
    for (a, _) in keys.iter().filter(|(a, _)| !want.contains_key(a)) {
        if let Err(e) = set_md5(fd, *a, None) {
            warn!(neighbor = %a, %e, "bgp: removing the MD5 key");
        }
    }
    for (a, k) in &want {
        if keys.get(a) != Some(k) {
            if let Err(e) = set_md5(fd, *a, Some(k)) {
                warn!(neighbor = %a, %e, "bgp: setting the MD5 key");
            }
        }
    }
    *keys = want;
}

/// Sets an MD5 key for `peer` on the (IPv6, dual-stack) listener: Linux takes an IPv4
/// neighbour's key there as its IPv4-mapped address.
fn set_md5(fd: RawFd, peer: IpAddr, key: Option<&str>) -> std::io::Result<()> {
    let mapped = match peer {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 => v6,
    };
    savin_io::tcp_md5::set_key(fd, mapped, key.map(str::as_bytes))
}

/// Listens on port 179 for both families (one IPv6 socket that takes IPv4 too). Returns the
/// socket's descriptor (for MD5 keys); None if it cannot listen.
async fn listen(port: u16, ev: Sender<Ev>) -> Option<RawFd> {
    let addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            warn!(%e, port, "bgp: cannot listen; neighbors must be connected to");
            return None;
        }
    };
    let fd = listener.as_raw_fd();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, from)) => {
                    if ev.send(Ev::Accepted(s, from)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    debug!(%e, "bgp: accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Some(fd)
}

fn handle_ev(speaker: &mut Speaker, io: &mut IoState, ev_tx: &Sender<Ev>, ev: Ev) {
    let now = Instant::now();
    match ev {
        Ev::Accepted(stream, from) => {
            let Some(peer) = speaker.accept(from.ip(), now) else {
                debug!(from = %from.ip(), "bgp: connection refused (not a neighbor, or collision)");
                return;
            };
            take(speaker, io, ev_tx, peer, Conn::Incoming, stream, now);
        }
        Ev::Connected {
            peer,
            attempt,
            result,
        } => {
            // A connect for a neighbour since removed (its slot perhaps reused) is stale.
            let to = speaker.neighbor(peer).map(|n| n.cfg.address);
            if io.connecting.get(&peer)
                != Some(&(attempt, to.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))))
            {
                return;
            }
            io.connecting.remove(&peer);
            match result {
                Ok(stream) => take(speaker, io, ev_tx, peer, Conn::Outgoing, stream, now),
                Err(e) => {
                    debug!(%e, "bgp: connect failed");
                    speaker.connect_failed(peer, now);
                }
            }
        }
        Ev::Data(id, bytes) => {
            if let Some(s) = io.socks.get(&id) {
                speaker.received(s.peer, s.conn, &bytes, now);
            }
        }
        Ev::Closed(id) => {
            if let Some(s) = io.socks.remove(&id) {
                io.by_conn.remove(&(s.peer, s.conn));
                speaker.closed(s.peer, s.conn, now);
            }
        }
    }
}

/// A TCP connection up for `peer` (accepted or connected): the session gets it.
fn take(
    speaker: &mut Speaker,
    io: &mut IoState,
    ev_tx: &Sender<Ev>,
    peer: PeerId,
    conn: Conn,
    stream: TcpStream,
    now: Instant,
) {
    let local = stream
        .local_addr()
        .map(|a| canonical(a.ip()))
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    set_ttl(&stream, speaker, peer);
    // What came before (accepting closed an old connection, the session went down) is
    // carried out first: a Close for the old socket must not reach the new one.
    flush(speaker, io, ev_tx, now);
    register(io, ev_tx, peer, conn, stream);
    speaker.connected(peer, conn, local, now);
}

/// Runs the speaker and carries out what it has to do now.
fn flush(speaker: &mut Speaker, io: &mut IoState, ev_tx: &Sender<Ev>, now: Instant) {
    speaker.pump(now);
    while let Some(o) = speaker.poll_io() {
        execute(speaker, io, ev_tx, o.peer, o.address, o.output);
    }
}

/// Junos' TTL: 1 to a directly connected external neighbour, 64 otherwise (`multihop ttl`).
fn set_ttl(stream: &TcpStream, speaker: &Speaker, peer: PeerId) {
    if let Some(n) = speaker.neighbor(peer) {
        if let Err(e) = stream.set_ttl(u32::from(n.cfg.ttl)) {
            debug!(%e, "bgp: setting the TTL");
        }
    }
}

fn register(io: &mut IoState, ev_tx: &Sender<Ev>, peer: PeerId, conn: Conn, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    io.next_id += 1;
    let id = io.next_id;
    let (mut rd, mut wr) = stream.into_split();
    let tx = ev_tx.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Ev::Closed(id)).await;
                    return;
                }
                Ok(n) => {
                    if tx.send(Ev::Data(id, buf[..n].to_vec())).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .abort_handle();
    let (wtx, mut wrx) = unbounded_channel::<Vec<u8>>();
    let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let q = queued.clone();
    tokio::spawn(async move {
        while let Some(b) = wrx.recv().await {
            let n = b.len();
            if wr.write_all(&b).await.is_err() {
                return;
            }
            q.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
        }
        // The speaker closed the connection: what was queued is written, then FIN.
        let _ = wr.shutdown().await;
    });
    if let Some(old) = io.by_conn.insert((peer, conn), id) {
        if let Some(s) = io.socks.remove(&old) {
            s.reader.abort();
        }
    }
    io.socks.insert(
        id,
        Sock {
            peer,
            conn,
            writer: wtx,
            queued,
            reader,
        },
    );
}

fn execute(
    speaker: &mut Speaker,
    io: &mut IoState,
    ev_tx: &Sender<Ev>,
    peer: PeerId,
    address: IpAddr,
    out: Output,
) {
    match out {
        Output::Connect => {
            let Some(n) = speaker.neighbor(peer) else {
                return;
            };
            io.next_id += 1;
            let attempt = io.next_id;
            io.connecting.insert(peer, (attempt, address));
            let local = n.cfg.local_address;
            let key = n.cfg.authentication_key.clone();
            let tx = ev_tx.clone();
            tokio::spawn(async move {
                let result = connect(address, local, key).await;
                let _ = tx
                    .send(Ev::Connected {
                        peer,
                        attempt,
                        result,
                    })
                    .await;
            });
        }
        Output::Send(c, bytes) => {
            let Some(&id) = io.by_conn.get(&(peer, c)) else {
                return;
            };
            let Some(s) = io.socks.get(&id) else { return };
            let n = bytes.len();
            let before = s.queued.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            if before + n > SEND_QUEUE {
                warn!(neighbor = %address, queued = before, "bgp: the neighbor does not read what it is sent; closing the session");
                if let Some(s) = io.socks.remove(&id) {
                    s.reader.abort();
                }
                io.by_conn.remove(&(peer, c));
                speaker.closed(peer, c, Instant::now());
                return;
            }
            let _ = s.writer.send(bytes);
        }
        Output::Close(c) => {
            if let Some(id) = io.by_conn.remove(&(peer, c)) {
                if let Some(s) = io.socks.remove(&id) {
                    // Dropping the writer's sender flushes and closes; the reader stops.
                    s.reader.abort();
                }
            }
        }
        other => info!(?other, "bgp: unexpected session output"),
    }
}

async fn connect(
    to: IpAddr,
    local: Option<IpAddr>,
    key: Option<String>,
) -> std::io::Result<TcpStream> {
    let socket = match to {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(k) = &key {
        savin_io::tcp_md5::set_key(socket.as_raw_fd(), to, Some(k.as_bytes()))?;
    }
    if let Some(l) = local {
        socket.bind(SocketAddr::new(l, 0))?;
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(SocketAddr::new(to, PORT))).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}
