//! The daemon's management socket: accepts CLI and API clients, runs their commands under one
//! lock (so commits are serialised), and fires the `commit confirmed` timer.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

use crate::datastore::Shared;
use crate::engine::{CommitOutcome, CommitRequest};
use crate::proto::{Reply, Request, MAX_FRAME};
use crate::session::Session;

/// Wall-clock time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub struct Server {
    shared: Arc<Mutex<Shared>>,
    /// Wakes the commit-confirmed timer when the deadline may have changed.
    timer: Arc<Notify>,
    next_id: AtomicU64,
    /// NETCONF sessions by id, and what ends each (`<kill-session>`).
    sessions: Mutex<std::collections::HashMap<u64, Arc<Notify>>>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock must not take every later client down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Server {
    pub fn new(shared: Shared) -> Arc<Server> {
        Arc::new(Server {
            shared: Arc::new(Mutex::new(shared)),
            timer: Arc::new(Notify::new()),
            next_id: AtomicU64::new(1),
            sessions: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// A new session's id: CLI, API and NETCONF sessions share the numbering, so a lock's
    /// holder is named the same way everywhere.
    pub fn next_session_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a session that `kill-session` may end: the returned `Notify` fires then.
    pub fn register(&self, id: u64) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, n.clone());
        n
    }

    pub fn unregister(&self, id: u64) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Ends session `id`: false if there is no such session.
    pub fn kill(&self, id: u64) -> bool {
        match self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        }
    }

    /// Runs `f` on the datastore under the management lock, on a blocking thread, and wakes
    /// the `commit confirmed` timer if `f` moved its deadline. None if `f` panicked.
    pub async fn with_shared<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Shared) -> T + Send + 'static,
    ) -> Option<T> {
        let shared = self.shared.clone();
        let res = tokio::task::spawn_blocking(move || {
            let mut sh = lock(&shared);
            let before = sh.engine.deadline_ms();
            let out = f(&mut sh);
            (out, sh.engine.deadline_ms() != before)
        })
        .await;
        match res {
            Ok((out, changed)) => {
                if changed {
                    self.timer.notify_one();
                }
                Some(out)
            }
            Err(e) => {
                error!(%e, "management request failed");
                None
            }
        }
    }

    /// Binds the socket (mode 0600) and serves until `shutdown` resolves.
    pub async fn run(
        self: Arc<Server>,
        socket: &Path,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
        info!(socket = %socket.display(), "management socket listening");
        let guard = SocketGuard(socket.to_path_buf());
        tokio::spawn(self.clone().confirm_timer());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let me = self.clone();
                        tokio::spawn(async move { me.serve(stream).await });
                    }
                    Err(e) => warn!(%e, "accept failed"),
                },
            }
        }
        drop(guard);
        info!("management socket closed");
        Ok(())
    }

    async fn confirm_timer(self: Arc<Server>) {
        loop {
            let deadline = lock(&self.shared).engine.deadline_ms();
            match deadline {
                None => self.timer.notified().await,
                Some(d) => {
                    let wait = Duration::from_millis((d - now_ms()).max(0) as u64);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            if !self.expire_now() {
                                tokio::time::sleep(Duration::from_secs(10)).await;
                            }
                        }
                        _ = self.timer.notified() => {}
                    }
                }
            }
        }
    }

    /// Rolls back an expired `commit confirmed`. False when the rollback failed.
    fn expire_now(&self) -> bool {
        let mut sh = lock(&self.shared);
        let unconfirmed = sh.engine.active().clone();
        match sh.engine.expire(now_ms()) {
            Ok(Some(seq)) => {
                sh.after_rollback(&unconfirmed);
                info!(seq, "commit confirmed timed out: configuration rolled back");
                true
            }
            Ok(None) => true,
            Err(e) => {
                error!(%e, "automatic rollback failed; retrying in 10 s");
                false
            }
        }
    }

    async fn serve(self: Arc<Server>, stream: UnixStream) {
        let user = peer_user(&stream);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        debug!(id, %user, "client connected");
        let (rd, mut wr) = stream.into_split();
        let mut rd = BufReader::new(rd);
        let mut session = Some(Session::new(id, user));
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = match (&mut rd)
                .take(MAX_FRAME as u64 + 1)
                .read_until(b'\n', &mut buf)
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    debug!(id, %e, "read failed");
                    break;
                }
            };
            if n == 0 {
                break;
            }
            if buf.len() > MAX_FRAME {
                warn!(id, "request over {MAX_FRAME} bytes: closing the connection");
                let r = error_reply(format!(
                    "error: request too large (limit {MAX_FRAME} bytes)"
                ));
                let _ = write_reply(&mut wr, &r).await;
                break;
            }
            let reply = match serde_json::from_slice::<Request>(&buf) {
                Err(e) => error_reply(format!("error: malformed request: {e}")),
                Ok(req) => {
                    let shared = self.shared.clone();
                    let mut s = session.take().expect("session present");
                    let res = tokio::task::spawn_blocking(move || {
                        let mut sh = lock(&shared);
                        // A subsystem's show command runs after the lock is released.
                        let deferred = match &req {
                            Request::Exec { line, .. } => s.deferred_op(&sh, line),
                            Request::Show { command, json } => crate::session::deferred_op(
                                &sh,
                                command,
                                *json,
                                String::new(),
                                String::new(),
                            ),
                            _ => None,
                        };
                        if let Some(op) = deferred {
                            drop(sh);
                            return (s, op.run(), false);
                        }
                        let before = sh.engine.deadline_ms();
                        let reply = match req {
                            Request::Exec { line, data } => s.exec(&mut sh, &line, data, now_ms()),
                            Request::Complete { line } => {
                                let (prompt, banner) = s.prompt(&sh);
                                Reply {
                                    ok: true,
                                    completions: s.complete(&sh, &line),
                                    prompt,
                                    banner,
                                    ..Default::default()
                                }
                            }
                            typed => typed_request(&mut sh, &s, typed),
                        };
                        let changed = sh.engine.deadline_ms() != before;
                        (s, reply, changed)
                    })
                    .await;
                    match res {
                        Ok((s, reply, changed)) => {
                            session = Some(s);
                            if changed {
                                self.timer.notify_one();
                            }
                            reply
                        }
                        Err(e) => {
                            error!(id, %e, "command handler failed; closing the session");
                            let r = error_reply("error: internal error".into());
                            let _ = write_reply(&mut wr, &r).await;
                            return;
                        }
                    }
                }
            };
            let exit = reply.exit;
            if write_reply(&mut wr, &reply).await.is_err() || exit {
                break;
            }
        }
        if let Some(mut s) = session {
            s.close(&mut lock(&self.shared));
        }
        debug!(id, "client disconnected");
    }
}

/// The typed requests: on the datastore, with no session mode and no CLI text.
fn typed_request(sh: &mut Shared, s: &Session, req: Request) -> Reply {
    let result = match req {
        Request::Exec { .. } | Request::Complete { .. } => Err("error: not a typed request".into()),
        Request::GetConfiguration { format, rollback } => sh.configuration(format, rollback),
        Request::Load { mode, text, name } => sh.check_lock(s.id).and_then(|()| {
            sh.load(mode, name.as_deref().unwrap_or("terminal"), &text)
                .map(|()| "load complete\n".to_string())
        }),
        Request::Lock => sh.lock(s.id, &s.user, now_ms()).map(|()| String::new()),
        Request::Unlock => sh.unlock(s.id).map(|()| String::new()),
        Request::Commit {
            check,
            comment,
            confirmed,
            via,
        } => match confirmed {
            Some(m) if !(1..=65535).contains(&m) => Err(format!(
                "error: commit confirmed {m}: value is not within range (1..65535)"
            )),
            _ if sh.check_lock(s.id).is_err() => sh.check_lock(s.id).map(|()| String::new()),
            _ => {
                let req = CommitRequest {
                    user: s.user.clone(),
                    via: Some(via.unwrap_or_else(|| "api".into())),
                    comment,
                    confirm_minutes: confirmed,
                    check_only: check,
                };
                sh.commit(&req, now_ms())
                    .map(|o| match o {
                        CommitOutcome::Checked => "configuration check succeeds\n".to_string(),
                        CommitOutcome::Committed { warnings, .. } => warnings
                            .iter()
                            .map(|w| format!("warning: {w}\n"))
                            .chain(["commit complete\n".to_string()])
                            .collect(),
                    })
                    .map_err(|e| e.to_string())
            }
        },
        // Commands answered here (`show version`, `show system commit`): as a fresh session
        // in operational mode would answer them.
        // A query, not a way into configuration mode (load, commit and lock are typed).
        Request::Show { command, .. }
            if command
                .split_whitespace()
                .next()
                .is_some_and(|w| w.len() >= 2 && "configure".starts_with(w)) =>
        {
            Err(
                "error: show takes operational commands; use load, commit and lock to configure"
                    .into(),
            )
        }
        Request::Show { command, json } => {
            let line = if json {
                format!("{command} | display json")
            } else {
                command
            };
            return Session::new(s.id, s.user.clone()).exec(sh, &line, None, now_ms());
        }
    };
    match result {
        Ok(output) => Reply {
            ok: true,
            output,
            ..Default::default()
        },
        Err(e) => error_reply(e.trim_end().to_string()),
    }
}

fn error_reply(output: String) -> Reply {
    Reply {
        ok: false,
        output: output + "\n",
        ..Default::default()
    }
}

async fn write_reply(wr: &mut tokio::net::unix::OwnedWriteHalf, r: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
    line.push(b'\n');
    wr.write_all(&line).await
}

/// The Unix user of the connecting process, from the socket's peer credentials.
fn peer_user(stream: &UnixStream) -> String {
    match stream.peer_cred() {
        Ok(c) => match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(c.uid())) {
            Ok(Some(u)) => u.name,
            _ => format!("uid{}", c.uid()),
        },
        Err(_) => "unknown".into(),
    }
}

/// Removes the socket file when the server stops.
struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A listening TCP socket on `port` for a management service (SSH, the metrics endpoint):
/// IPv6 and IPv4 on one socket where the host allows it, else IPv4 alone; non-blocking, to
/// be handed to tokio. Bound at commit time, so a port taken fails the commit.
pub fn bind_service(port: u16) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(("::", port))
        .or_else(|_| std::net::TcpListener::bind(("0.0.0.0", port)))?;
    l.set_nonblocking(true)?;
    Ok(l)
}
