//! Exit codes of the `cochlea` command. They are part of its interface.

/// Everything asked for was done.
pub const OK: i32 = 0;
/// An unexpected internal failure.
pub const INTERNAL: i32 = 1;
/// Bad usage: an unknown option, a missing argument, or an impossible setting.
pub const USAGE: i32 = 2;
/// An input could not be read: missing, unreadable, empty, corrupt or unsupported.
pub const INPUT: i32 = 3;
/// An output could not be written.
pub const OUTPUT: i32 = 4;
