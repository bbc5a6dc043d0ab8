//! The box's SSH server (russh): users and their keys and passwords come from `system login`,
//! the listeners from `system services ssh` (port 22) and `system services netconf ssh`
//! (port 830). A login lands in Savin, never in a Linux shell: the `netconf` subsystem runs a
//! NETCONF session on the datastore, a command (`ssh r1 show route`) runs as the CLI runs it.
//!
//! The listeners are a configuration subsystem: a commit that turns a service on binds its
//! port in `prepare` (a port in use refuses the commit and changes nothing) and serves it
//! from `apply`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use savin_config::model::system::User;
use savin_config::subsystem::{Changes, PrepareError, Staged, Subsystem};
use savin_config::Config;
use savin_mgmt::netconf::Permission;
use savin_mgmt::server::Server;
use sha_crypt::{PasswordVerifier, ShaCrypt};
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub mod editor;
pub mod shell;

pub const SSH_PORT: u16 = 22;
pub const NETCONF_PORT: u16 = 830;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("host key {0}: {1}")]
    HostKey(PathBuf, String),
}

/// The host key in `state_dir` (`ssh_host_ed25519_key`, OpenSSH format, mode 0600), made at
/// first start and kept: clients pin it.
pub fn host_key(state_dir: &Path) -> Result<PrivateKey, SshError> {
    let path = state_dir.join("ssh_host_ed25519_key");
    let err = |e: &dyn std::fmt::Display| SshError::HostKey(path.clone(), e.to_string());
    if path.exists() {
        return PrivateKey::read_openssh_file(&path).map_err(|e| err(&e));
    }
    let mut seed = [0u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| err(&e))?,
        &mut seed,
    )
    .map_err(|e| err(&e))?;
    let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::from(pair);
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .map_err(|e| err(&e))?;
    // Written whole or not at all: temp file, fsync, rename.
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| err(&e))?;
        f.write_all(text.as_bytes()).map_err(|e| err(&e))?;
        f.sync_all().map_err(|e| err(&e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| err(&e))?;
    info!(path = %path.display(), "SSH host key created");
    Ok(key)
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// `system services ssh`: commands and the `netconf` subsystem (NAPALM connects on 22).
    Ssh,
    /// `system services netconf ssh`: the `netconf` subsystem only.
    Netconf,
}

/// Junos's defaults for `connection-limit` and `rate-limit` (connections a minute).
pub const DEFAULT_CONNECTION_LIMIT: u32 = 75;
pub const DEFAULT_RATE_LIMIT: u32 = 150;

/// A listener's `connection-limit` and `rate-limit`: connections beyond either are closed at
/// once (logged, and counted), so a flood of connections cannot take the box's memory.
#[derive(Debug)]
struct Limits {
    max_active: AtomicU32,
    per_minute: AtomicU32,
    active: AtomicU32,
    /// When the connections of the last minute were accepted (at most `per_minute`).
    recent: Mutex<VecDeque<Instant>>,
    refused: AtomicU64,
}

impl Limits {
    fn new((max_active, per_minute): (u32, u32)) -> Limits {
        Limits {
            max_active: AtomicU32::new(max_active),
            per_minute: AtomicU32::new(per_minute),
            active: AtomicU32::new(0),
            recent: Mutex::new(VecDeque::new()),
            refused: AtomicU64::new(0),
        }
    }

    fn set(&self, (max_active, per_minute): (u32, u32)) {
        self.max_active.store(max_active, Ordering::Relaxed);
        self.per_minute.store(per_minute, Ordering::Relaxed);
    }

    /// Takes a place for a new connection, or says which limit it is over.
    fn admit(self: &Arc<Self>, now: Instant) -> Result<Admitted, &'static str> {
        let mut recent = lock(&self.recent);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            recent.pop_front();
        }
        let why = if self.active.load(Ordering::Relaxed) >= self.max_active.load(Ordering::Relaxed)
        {
            Some("connection-limit")
        } else if recent.len() >= self.per_minute.load(Ordering::Relaxed) as usize {
            Some("rate-limit")
        } else {
            None
        };
        if let Some(why) = why {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(why);
        }
        recent.push_back(now);
        self.active.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted(self.clone()))
    }
}

/// A connection's place under its listener's limit, given back when it ends.
struct Admitted(Arc<Limits>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A listener the configuration asks for: what it serves and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    service: Service,
    limits: (u32, u32),
}

/// The listeners a configuration asks for.
fn wanted(c: &Config) -> BTreeMap<u16, Wanted> {
    let limits = |conn: Option<u32>, rate: Option<u32>| {
        (
            conn.unwrap_or(DEFAULT_CONNECTION_LIMIT),
            rate.unwrap_or(DEFAULT_RATE_LIMIT),
        )
    };
    let mut m = BTreeMap::new();
    if let Some(s) = &c.system.services.ssh {
        m.insert(
            s.port.unwrap_or(SSH_PORT),
            Wanted {
                service: Service::Ssh,
                limits: limits(s.connection_limit, s.rate_limit),
            },
        );
    }
    if let Some(n) = c
        .system
        .services
        .netconf
        .as_ref()
        .and_then(|n| n.ssh.as_ref())
    {
        m.entry(n.port.unwrap_or(NETCONF_PORT)).or_insert(Wanted {
            service: Service::Netconf,
            limits: limits(n.connection_limit, n.rate_limit),
        });
    }
    m
}

struct Listener {
    service: Service,
    limits: Arc<Limits>,
    /// Bound, not yet served (before the runtime starts).
    pending: Option<std::net::TcpListener>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

struct Inner {
    listeners: BTreeMap<u16, Listener>,
    /// Set by [`SshService::start`]: where sessions run and what they manage.
    runtime: Option<(tokio::runtime::Handle, Arc<Server>)>,
    users: Arc<Mutex<Users>>,
    config: Arc<russh::server::Config>,
}

/// The users and root's policy, as the last commit left them.
#[derive(Default, Clone)]
struct Users {
    users: Vec<User>,
    root: savin_config::model::system::Authentication,
    root_login: Option<String>,
}

/// The SSH service as a configuration subsystem.
#[derive(Clone)]
pub struct SshService(Arc<Mutex<Inner>>);

impl SshService {
    pub fn new(key: PrivateKey) -> SshService {
        let config = russh::server::Config {
            server_id: russh::SshId::Standard(
                format!("SSH-2.0-savin_{}", env!("CARGO_PKG_VERSION")).into(),
            ),
            methods: MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..]),
            // A failed login waits before its answer: guessing is slow.
            auth_rejection_time: std::time::Duration::from_secs(1),
            auth_rejection_time_initial: Some(std::time::Duration::ZERO),
            keys: vec![key],
            max_auth_attempts: 6,
            inactivity_timeout: Some(std::time::Duration::from_secs(3600)),
            ..Default::default()
        };
        SshService(Arc::new(Mutex::new(Inner {
            listeners: BTreeMap::new(),
            runtime: None,
            users: Arc::new(Mutex::new(Users::default())),
            config: Arc::new(config),
        })))
    }

    /// Starts serving (the listeners bound so far, and those later commits bind).
    pub fn start(&self, rt: tokio::runtime::Handle, server: Arc<Server>) {
        let mut inner = lock(&self.0);
        inner.runtime = Some((rt, server));
        let ports: Vec<u16> = inner.listeners.keys().copied().collect();
        for port in ports {
            spawn_pending(&mut inner, port);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawn_pending(inner: &mut Inner, port: u16) {
    let Some((rt, server)) = inner.runtime.clone() else {
        return;
    };
    let users = inner.users.clone();
    let config = inner.config.clone();
    let Some(l) = inner.listeners.get_mut(&port) else {
        return;
    };
    let Some(std_listener) = l.pending.take() else {
        return;
    };
    let service = l.service;
    let limits = l.limits.clone();
    l.task = Some(rt.spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                warn!(port, %e, "SSH listener failed");
                return;
            }
        };
        info!(port, ?service, "SSH listening");
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(a) => a,
                Err(e) => {
                    warn!(port, %e, "SSH accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let place = match limits.admit(Instant::now()) {
                Ok(p) => p,
                Err(limit) => {
                    // Closed before any SSH is spoken; one log line a refusal would let a
                    // flood fill the log, so every hundredth is logged with the count.
                    let n = limits.refused.load(Ordering::Relaxed);
                    if n % 100 == 1 {
                        warn!(port, %peer, limit, refused = n, "SSH connection refused");
                    }
                    drop(stream);
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let handler = Connection {
                server: server.clone(),
                users: users.clone(),
                service,
                peer,
                user: None,
                channels: HashMap::new(),
            };
            let config = config.clone();
            tokio::spawn(async move {
                let _place = place;
                match russh::server::run_stream(config, stream, handler).await {
                    Ok(session) => {
                        if let Err(e) = session.await {
                            tracing::debug!(%peer, %e, "SSH session ended");
                        }
                    }
                    Err(e) => tracing::debug!(%peer, %e, "SSH handshake failed"),
                }
            });
        }
    }));
}

struct StagedSsh {
    svc: SshService,
    wanted: BTreeMap<u16, Wanted>,
    bound: BTreeMap<u16, std::net::TcpListener>,
    users: Users,
}

impl Staged for StagedSsh {
    fn apply(self: Box<Self>) -> Result<(), String> {
        let me = *self;
        let mut inner = lock(&me.svc.0);
        *lock(&inner.users) = me.users;
        inner
            .listeners
            .retain(|port, l| me.wanted.get(port).map(|w| w.service) == Some(l.service));
        for (port, l) in &inner.listeners {
            l.limits.set(me.wanted[port].limits);
        }
        let mut bound = me.bound;
        for (&port, _) in me.wanted.iter() {
            if inner.listeners.contains_key(&port) || bound.contains_key(&port) {
                continue;
            }
            // Its port served the other service until the line above closed it.
            match savin_mgmt::server::bind_service(port) {
                Ok(l) => {
                    bound.insert(port, l);
                }
                Err(e) => tracing::error!(port, %e, "SSH listener not started"),
            }
        }
        for (port, l) in bound {
            inner.listeners.insert(
                port,
                Listener {
                    service: me.wanted[&port].service,
                    limits: Arc::new(Limits::new(me.wanted[&port].limits)),
                    pending: Some(l),
                    task: None,
                },
            );
            spawn_pending(&mut inner, port);
        }
        Ok(())
    }
}

impl Subsystem for SshService {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn hierarchies(&self) -> &'static [&'static str] {
        &["system"]
    }

    fn prepare(
        &mut self,
        _old: &Config,
        new: &Config,
        _changed: &Changes,
    ) -> Result<Box<dyn Staged>, PrepareError> {
        let wanted = wanted(new);
        let inner = lock(&self.0);
        let mut bound = BTreeMap::new();
        for (&port, w) in &wanted {
            let service = w.service;
            let same = inner
                .listeners
                .get(&port)
                .is_some_and(|l| l.service == service);
            if same {
                continue;
            }
            // A port we serve already for the other service is freed at apply: rebind then.
            let l = match inner.listeners.get(&port) {
                Some(_) => None,
                None => match savin_mgmt::server::bind_service(port) {
                    Ok(l) => Some(l),
                    // At start-up the last commit is applied whole but for this listener:
                    // a port taken since must not keep the rest of the box down.
                    Err(e) if inner.runtime.is_none() => {
                        tracing::error!(port, %e, "SSH listener not started");
                        None
                    }
                    Err(e) => {
                        let at = match service {
                            Service::Ssh => "system services ssh",
                            Service::Netconf => "system services netconf ssh",
                        };
                        return Err(PrepareError::at(at, format!("port {port}: {e}")));
                    }
                },
            };
            if let Some(l) = l {
                bound.insert(port, l);
            }
        }
        let s = &new.system;
        Ok(Box::new(StagedSsh {
            svc: self.clone(),
            wanted,
            bound,
            users: Users {
                users: s.login.user.clone(),
                root: s.root_authentication.clone(),
                root_login: s.services.ssh.as_ref().and_then(|s| s.root_login.clone()),
            },
        }))
    }
}

/// One SSH connection.
struct Connection {
    server: Arc<Server>,
    users: Arc<Mutex<Users>>,
    service: Service,
    peer: SocketAddr,
    /// Who logged in, and what they may do.
    user: Option<(String, Permission)>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

/// What a login class may do: `super-user` (and root) configure; `operator` and `read-only`
/// look. An unknown class or none gives no access at all, as on Junos (`unauthorized`).
fn permission(class: Option<&str>) -> Option<Permission> {
    match class? {
        "super-user" => Some(Permission::Configure),
        "operator" | "read-only" => Some(Permission::View),
        _ => None,
    }
}

impl Connection {
    /// The user's record, if they may log in at all.
    fn account(
        &self,
        name: &str,
    ) -> Option<(
        savin_config::model::system::Authentication,
        Permission,
        bool,
    )> {
        let u = lock(&self.users);
        if name == "root" {
            let deny_password = !matches!(u.root_login.as_deref(), Some("allow"));
            if u.root_login.as_deref() == Some("deny") {
                return None;
            }
            return Some((u.root.clone(), Permission::Configure, deny_password));
        }
        let user = u.users.iter().find(|x| x.name == name)?;
        Some((
            user.authentication.clone(),
            permission(user.class.as_deref())?,
            false,
        ))
    }

    fn refused(&self, user: &str, how: &str) -> Auth {
        warn!(peer = %self.peer, %user, method = how, "SSH login refused");
        Auth::reject()
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let Some((auth, perm, no_password)) = self.account(user) else {
            return Ok(self.refused(user, "password"));
        };
        let ok = !password.is_empty()
            && !no_password
            && auth.encrypted_password.as_deref().is_some_and(|h| {
                ShaCrypt::default()
                    .verify_password(password.as_bytes(), h)
                    .is_ok()
            });
        if !ok {
            return Ok(self.refused(user, "password"));
        }
        info!(peer = %self.peer, %user, "SSH login (password)");
        self.user = Some((user.to_string(), perm));
        Ok(Auth::Accept)
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        key: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let known = self
            .account(user)
            .is_some_and(|(auth, _, _)| has_key(&auth, key.public_key));
        Ok(if known { Auth::Accept } else { Auth::reject() })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match self.account(user) {
            Some((auth, perm, _)) if has_key(&auth, key.public_key) => {
                info!(peer = %self.peer, %user, "SSH login (public key)");
                self.user = Some((user.to_string(), perm));
                Ok(Auth::Accept)
            }
            _ => Ok(self.refused(user, "publickey")),
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name != "netconf" {
            session.channel_failure(id)?;
            return Ok(());
        }
        self.start_netconf(id, session)
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        id: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_w: u32,
        _pix_h: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The line editor does its own echo; a terminal is welcome.
        session.channel_success(id)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        id: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some((channel, user, perm)) = self.cli_channel(id, session)? else {
            return Ok(());
        };
        let server = self.server.clone();
        tokio::spawn(async move {
            let stream = channel.into_stream();
            let (rd, wr) = tokio::io::split(stream);
            shell::serve(server, rd, wr, user, perm).await;
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let line = String::from_utf8_lossy(data).trim().to_string();
        // ncclient's fallback when the subsystem is refused: Junos's NETCONF over exec.
        if line.starts_with("xml-mode netconf") {
            return self.start_netconf(id, session);
        }
        let Some((channel, user, perm)) = self.cli_channel(id, session)? else {
            return Ok(());
        };
        let server = self.server.clone();
        tokio::spawn(async move {
            if !shell::allowed(perm, &line) {
                let _ = channel.data(&b"error: permission denied\n"[..]).await;
                let _ = channel.exit_status(1).await;
                let _ = channel.eof().await;
                let _ = channel.close().await;
                return;
            }
            let reply = server
                .with_shared(move |sh| {
                    let id = 0;
                    savin_mgmt::session::Session::new(id, user).exec(
                        sh,
                        &line,
                        None,
                        savin_mgmt::server::now_ms(),
                    )
                })
                .await;
            let (ok, out) = reply.map_or((false, "error: internal error\n".into()), |r| {
                (r.ok, r.output)
            });
            let _ = channel.data(out.as_bytes()).await;
            let _ = channel.exit_status(if ok { 0 } else { 1 }).await;
            let _ = channel.eof().await;
            let _ = channel.close().await;
        });
        Ok(())
    }
}

impl Connection {
    /// The channel `id` for the CLI (a shell or a command), accepted; None (refused) when
    /// nobody is logged in or the port serves NETCONF only.
    fn cli_channel(
        &mut self,
        id: ChannelId,
        session: &mut Session,
    ) -> Result<Option<(Channel<Msg>, String, Permission)>, russh::Error> {
        let (Some(channel), Some((user, perm)), Service::Ssh) =
            (self.channels.remove(&id), self.user.clone(), self.service)
        else {
            session.channel_failure(id)?;
            return Ok(None);
        };
        session.channel_success(id)?;
        Ok(Some((channel, user, perm)))
    }

    fn start_netconf(&mut self, id: ChannelId, session: &mut Session) -> Result<(), russh::Error> {
        let (Some(channel), Some((user, perm))) = (self.channels.remove(&id), self.user.clone())
        else {
            session.channel_failure(id)?;
            return Ok(());
        };
        session.channel_success(id)?;
        let server = self.server.clone();
        tokio::spawn(async move {
            let stream = channel.into_stream();
            let (rd, wr) = tokio::io::split(stream);
            savin_mgmt::netconf::serve(server, rd, wr, user, perm).await;
        });
        Ok(())
    }
}

fn has_key(auth: &savin_config::model::system::Authentication, offered: &PublicKey) -> bool {
    auth.keys().any(|k| {
        PublicKey::from_openssh(k.trim()).is_ok_and(|p| p.key_data() == offered.key_data())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_classes_map_to_what_their_users_may_do() {
        assert_eq!(permission(Some("super-user")), Some(Permission::Configure));
        assert_eq!(permission(Some("operator")), Some(Permission::View));
        assert_eq!(permission(Some("read-only")), Some(Permission::View));
        assert_eq!(permission(Some("unauthorized")), None);
        assert_eq!(permission(None), None);
    }

    #[test]
    fn the_host_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = host_key(dir.path()).unwrap();
        let b = host_key(dir.path()).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        let mode = std::fs::metadata(dir.path().join("ssh_host_ed25519_key"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn passwords_check_against_crypt_hashes() {
        // `openssl passwd -6 -salt saltsalt secret`
        let h = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        assert!(ShaCrypt::default().verify_password(b"secret", h).is_ok());
        assert!(ShaCrypt::default().verify_password(b"Secret", h).is_err());
    }

    #[test]
    fn connections_beyond_the_limits_are_refused_until_places_free() {
        let l = Arc::new(Limits::new((2, 3)));
        let t0 = Instant::now();
        let a = l.admit(t0).unwrap();
        let b = l.admit(t0).unwrap();
        assert_eq!(l.admit(t0).err(), Some("connection-limit"));
        drop(a);
        // A place is free again, but three in the last minute is the rate.
        let c = l.admit(t0).unwrap();
        drop((b, c));
        assert_eq!(
            l.admit(t0 + Duration::from_secs(59)).err(),
            Some("rate-limit")
        );
        let d = l.admit(t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(l.refused.load(Ordering::Relaxed), 2);
        // A commit raises the limit: the next one is let in.
        l.set((2, 10));
        let _e = l.admit(t0 + Duration::from_secs(60)).unwrap();
        drop(d);
        assert_eq!(l.active.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn junos_defaults_apply_unless_set() {
        let mut c = Config::default();
        c.system.services.ssh = Some(Default::default());
        c.system.services.netconf = Some(savin_config::model::system::NetconfService {
            ssh: Some(savin_config::model::system::NetconfSsh {
                port: Some(8300),
                connection_limit: Some(5),
                rate_limit: None,
            }),
            ..Default::default()
        });
        let w = wanted(&c);
        assert_eq!(
            w[&22].limits,
            (DEFAULT_CONNECTION_LIMIT, DEFAULT_RATE_LIMIT)
        );
        assert_eq!(w[&8300].limits, (5, DEFAULT_RATE_LIMIT));
        assert_eq!(w[&8300].service, Service::Netconf);
    }
}
