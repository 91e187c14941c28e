//! Exit codes of the `cochlea` command (they are part of its interface) and [`Failure`], an error
//! message paired with its exit code.

/// Everything asked for was done.
pub const OK: i32 = 0;
/// An unexpected internal failure.
pub const INTERNAL: i32 = 1;
/// Bad usage: an unknown option, a missing argument, or an impossible setting.
pub const USAGE: i32 = 2;
/// An input could not be read: missing, unreadable, empty, corrupt or unsupported (for `live`:
/// the capture device is missing, busy or refuses the format).
pub const INPUT: i32 = 3;
/// An output could not be written: the folder cannot be created, a file exists (without
/// `--force`) or writing failed (for `live`: the monitoring device is missing, busy or refuses
/// the format).
pub const OUTPUT: i32 = 4;
/// `cochlea analyze` was stopped by Ctrl-C (the shell convention, 128 + SIGINT). Files finished
/// before the interruption keep their outputs; the others leave nothing behind.
pub const INTERRUPTED: i32 = 130;

/// A short name for an exit code, used in closing summaries.
pub fn describe(code: i32) -> &'static str {
    match code {
        OK => "ok",
        USAGE => "bad usage or impossible setting",
        INPUT => "unreadable or unsupported input",
        OUTPUT => "output not writable",
        INTERRUPTED => "interrupted",
        _ => "internal error",
    }
}

/// The exit code for a run in which inputs failed with `codes`: the most serious one, in the
/// order internal (1) > output (4) > input (3). Usage errors stop a run before it starts, so they
/// do not appear here. An empty list gives [`OK`].
pub fn most_serious(codes: impl IntoIterator<Item = i32>) -> i32 {
    let rank = |c: i32| match c {
        OK => 0,
        INPUT => 1,
        OUTPUT => 2,
        USAGE => 3,
        INTERRUPTED => 4,
        _ => 5,
    };
    codes.into_iter().max_by_key(|&c| rank(c)).unwrap_or(OK)
}

/// A failure: what to print (once, on stderr, prefixed with `cochlea: `) and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One of the exit codes above.
    pub code: i32,
    /// A complete sentence naming what was asked and what is wrong.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad usage or an impossible setting ([`USAGE`]).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// An input problem ([`INPUT`]).
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(INPUT, message)
    }

    /// An output problem ([`OUTPUT`]).
    pub fn output(message: impl Into<String>) -> Self {
        Self::new(OUTPUT, message)
    }

    /// An internal failure ([`INTERNAL`]).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_code_wins() {
        assert_eq!(most_serious([]), OK);
        assert_eq!(most_serious([INPUT, INPUT]), INPUT);
        assert_eq!(most_serious([INPUT, OUTPUT, INPUT]), OUTPUT);
        assert_eq!(most_serious([OUTPUT, INTERNAL]), INTERNAL);
        assert_eq!(most_serious([INPUT, INTERRUPTED]), INTERRUPTED);
    }
}
