//! Where facts come from: files, git, the hook's input. The only modules
//! (with `commands`) that touch the file system and the environment.

pub mod event;
pub mod git;
pub mod github;
pub mod history;
pub mod hook;
pub mod pack;
pub mod policy_files;
pub mod pull_request;
pub mod release;

use std::fmt;

/// A problem that stops a command from judging: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub message: String,
    pub help: Option<String>,
}

impl Fatal {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fatal {}
