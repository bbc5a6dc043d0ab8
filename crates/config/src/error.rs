//! Errors that point at the text they came from.

use std::fmt;

/// A position in configuration text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// An error in configuration text or in a configuration command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or `terminal`) the text came from, when it came from one.
    pub file: Option<String>,
    pub pos: Option<Pos>,
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            pos: None,
            message: message.into(),
        }
    }

    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            pos: Some(pos),
            message: message.into(),
        }
    }

    pub fn in_file(mut self, file: Option<&str>) -> Self {
        if self.file.is_none() {
            self.file = file.map(str::to_string);
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.pos) {
            (Some(file), Some(p)) => write!(f, "{file}:{}:{}: {}", p.line, p.col, self.message),
            (None, Some(p)) => write!(f, "{}:{}: {}", p.line, p.col, self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}
