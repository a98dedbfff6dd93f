//! What a command concluded ([`Verdict`]), or why it could not conclude ([`Error`]): the two
//! values every library entry point (`run`, `test`, `grade`, `show`, `serve`) returns, and the
//! only ones `main` turns into an exit code.
//!
//! Contract: an entry point prints its own output (report, grade, table) and nothing about
//! exit codes; it returns `Ok(Verdict)` whenever the command did its work, whatever the work
//! showed, and `Err(Error)` only when the input was bad or the work could not happen. An
//! [`Error`] is printed once, by `main`, with its whole chain of causes ([`Error::chain`]).
//!
//! Invariant: this module imports nothing from the crate, so every layer may use it.

use std::fmt;

/// How a command that did its work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed; every scenario matched; full marks; the server or the view did its
    /// job.
    Passed,
    /// A check failed, a scenario failed, or a submission lost points.
    Failed,
    /// A grading batch in which a submission could not be graded: its gradebook row has
    /// score 0 and the reason, and the others are graded.
    Ungraded,
    /// A test batch in which a scenario could not run: its line says why, and the others ran.
    NotRun,
}

/// Why a command could not conclude: bad input (an unknown scenario, a malformed file, a bad
/// argument), or a run that could not happen (no sandbox, a missing program, an unwritable
/// output). `main` exits 2 for every one of them, except [`Error::exited`].
pub struct Error {
    repr: Repr,
}

enum Repr {
    /// An error with its chain of causes, not printed yet.
    Cause(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The process inside the sandbox has printed everything and ended with this code; the
    /// outer process passes it on and prints nothing.
    Exited(u8),
}

/// A bare message, as an error with no cause.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl Error {
    /// An error that is only a message (lowercase, no trailing period).
    pub fn msg(message: impl fmt::Display) -> Error {
        Error {
            repr: Repr::Cause(Box::new(Message(message.to_string()))),
        }
    }

    /// The sandboxed process ended with `code` having reported everything itself.
    pub fn exited(code: u8) -> Error {
        Error {
            repr: Repr::Exited(code),
        }
    }

    /// The exit code the sandboxed process asked for, when this error only passes it on.
    pub fn exit_code(&self) -> Option<u8> {
        match self.repr {
            Repr::Exited(code) => Some(code),
            Repr::Cause(_) => None,
        }
    }

    /// The message and every cause behind it, `message: cause: cause`, each cause once: a
    /// message that already quotes its cause (`{path}: {source}`) is not followed by it again.
    /// `None` when there is nothing left to print.
    pub fn chain(&self) -> Option<String> {
        let Repr::Cause(error) = &self.repr else {
            return None;
        };
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            let said = c.to_string();
            if !text.contains(&said) {
                text.push_str(": ");
                text.push_str(&said);
            }
            cause = c.source();
        }
        Some(text)
    }
}

/// Any error converts with `?`; its causes stay reachable for [`Error::chain`].
impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Error {
        Error {
            repr: Repr::Cause(Box::new(error)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cause(e) => fmt::Debug::fmt(e, f),
            Repr::Exited(code) => write!(f, "Exited({code})"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.chain() {
            Some(text) => f.write_str(&text),
            None => f.write_str("the sandboxed run has reported why it ended"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("dns zone file {path}")]
    struct Terse {
        path: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Quoting {
        path: String,
        source: std::io::Error,
    }

    fn missing() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
    }

    #[test]
    fn the_chain_names_each_cause_once() {
        let terse = Error::from(Terse {
            path: "/x".into(),
            source: missing(),
        });
        assert_eq!(terse.chain().unwrap(), "dns zone file /x: no such file");
        let quoting = Error::from(Quoting {
            path: "/x".into(),
            source: missing(),
        });
        assert_eq!(quoting.chain().unwrap(), "/x: no such file");
        assert_eq!(Error::msg("bad").chain().unwrap(), "bad");
    }

    #[test]
    fn an_exited_run_prints_nothing_and_passes_its_code_on() {
        let e = Error::exited(101);
        assert_eq!(e.chain(), None);
        assert_eq!(e.exit_code(), Some(101));
        assert_eq!(Error::msg("bad").exit_code(), None);
    }
}
