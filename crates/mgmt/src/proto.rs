//! The management socket protocol: one JSON object per line in each direction.
//!
//! A client sends [`Request`]s and reads one [`Reply`] per request. Requests larger than
//! [`MAX_FRAME`] bytes are refused and the connection is closed.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use savin_config::complete::Candidate;
use serde::{Deserialize, Serialize};

/// The largest request line: a maximal configuration text plus JSON escaping.
pub const MAX_FRAME: usize = savin_config::parse::MAX_TEXT + (8 << 20);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Run one CLI command line (pipes included). `data` carries a file or terminal text for
    /// `load`, read by the client with the client's own permissions.
    Exec {
        line: String,
        #[serde(default)]
        data: Option<Attachment>,
    },
    /// Completions for the last word of `line` (TAB and `?`).
    Complete { line: String },
    /// Typed requests on the datastore, for programs (an API, NETCONF): no CLI text, no
    /// session mode. The active configuration (or rollback N) in a format.
    GetConfiguration {
        #[serde(default)]
        format: ConfigFormat,
        #[serde(default)]
        rollback: Option<usize>,
    },
    /// Loads text into the shared candidate, as `load MODE terminal`: all of it or nothing.
    Load {
        mode: LoadMode,
        text: String,
        /// The name errors give the text (`file:line:col`); `terminal` if absent.
        #[serde(default)]
        name: Option<String>,
    },
    /// Commits (or checks) the shared candidate; `via` is recorded in the commit history
    /// (`api`, `netconf`; `api` if absent).
    Commit {
        #[serde(default)]
        check: bool,
        #[serde(default)]
        comment: Option<String>,
        /// `commit confirmed N`.
        #[serde(default)]
        confirmed: Option<u32>,
        #[serde(default)]
        via: Option<String>,
    },
    /// Takes the shared candidate for this connection alone (NETCONF `<lock>`): others may
    /// not change it or commit until `unlock` or until this connection closes.
    Lock,
    /// Gives the lock back, discarding uncommitted changes made under it.
    Unlock,
    /// An operational command (`show route 10.0.0.0/8`), as text or JSON; a subsystem's
    /// command runs outside the management lock.
    Show {
        command: String,
        #[serde(default)]
        json: bool,
    },
}

/// How [`Request::GetConfiguration`] prints the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// The curly-brace text `show configuration` prints.
    #[default]
    Text,
    /// `| display set`.
    Set,
    /// `| display json`.
    Json,
}

/// The modes of `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadMode {
    Merge,
    Override,
    Replace,
    Set,
}

impl LoadMode {
    pub fn word(self) -> &'static str {
        match self {
            LoadMode::Merge => "merge",
            LoadMode::Override => "override",
            LoadMode::Replace => "replace",
            LoadMode::Set => "set",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// A file name or `terminal`, used in error messages.
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub output: String,
    /// `root@r1> ` or `root@r1# `.
    pub prompt: String,
    /// `[edit interfaces]` in configuration mode, empty in operational mode.
    #[serde(default)]
    pub banner: String,
    /// The session ended (`exit` in operational mode).
    #[serde(default)]
    pub exit: bool,
    #[serde(default)]
    pub completions: Vec<Candidate>,
}

/// A blocking client, used by `savin cli`, the demo, tests and benchmarks.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    pub fn connect(path: &Path) -> io::Result<Client> {
        let writer = UnixStream::connect(path)?;
        let reader = BufReader::new(writer.try_clone()?);
        Ok(Client { writer, reader })
    }

    pub fn request(&mut self, req: &Request) -> io::Result<Reply> {
        let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        let mut buf = String::new();
        if self.reader.read_line(&mut buf)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            ));
        }
        serde_json::from_str(&buf).map_err(io::Error::other)
    }

    /// Runs one command line.
    pub fn exec(&mut self, line: &str) -> io::Result<Reply> {
        self.request(&Request::Exec {
            line: line.into(),
            data: None,
        })
    }
}
