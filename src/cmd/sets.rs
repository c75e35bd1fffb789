//! The sets command family (being written; see issue 4).

use super::Command;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's.
pub static KEY_FLAGS: &[(&str, &[&str])] = &[];

pub static COMMANDS: &[Command] = &[];
