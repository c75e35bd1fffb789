//! Key expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX|XX|GT|LT),
//! TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
//!
//! Expiry times are absolute Unix milliseconds everywhere (see
//! `shard::keyspace`); a time already past deletes the key, as Redis does.

use bytes::Bytes;

use super::{command, err, flag::*, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::notify::class;
use crate::resp::Reply;
use crate::shard::ShardCtx;

const K: u32 = acl::KEYSPACE;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("expire", "key seconds:integer [condition(NX|XX|GT|LT)]"),
    ("pexpire", "key milliseconds:integer [condition(NX|XX|GT|LT)]"),
    ("expireat", "key unix-time-seconds:unix-time [condition(NX|XX|GT|LT)]"),
    ("pexpireat", "key unix-time-milliseconds:unix-time [condition(NX|XX|GT|LT)]"),
    ("ttl", "key"),
    ("pttl", "key"),
    ("expiretime", "key"),
    ("pexpiretime", "key"),
    ("persist", "key"),
];

const SET_FLAGS: u32 = WRITE | FAST;
const GET_FLAGS: u32 = READONLY | FAST;
const KEY: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Command] = &[
    command(
        "expire",
        -3,
        SET_FLAGS,
        K,
        KEY,
        Exec::Keyed(expire),
        "generic",
        "1.0.0",
        "O(1)",
        "Sets the expiration time of a key in seconds.",
    ),
    command(
        "pexpire",
        -3,
        SET_FLAGS,
        K,
        KEY,
        Exec::Keyed(pexpire),
        "generic",
        "2.6.0",
        "O(1)",
        "Sets the expiration time of a key in milliseconds.",
    ),
    command(
        "expireat",
        -3,
        SET_FLAGS,
        K,
        KEY,
        Exec::Keyed(expireat),
        "generic",
        "1.2.0",
        "O(1)",
        "Sets the expiration time of a key to a Unix timestamp.",
    ),
    command(
        "pexpireat",
        -3,
        SET_FLAGS,
        K,
        KEY,
        Exec::Keyed(pexpireat),
        "generic",
        "2.6.0",
        "O(1)",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
    ),
    command(
        "ttl",
        2,
        GET_FLAGS,
        K,
        KEY,
        Exec::Keyed(ttl),
        "generic",
        "1.0.0",
        "O(1)",
        "Returns the expiration time in seconds of a key.",
    ),
    command(
        "pttl",
        2,
        GET_FLAGS,
        K,
        KEY,
        Exec::Keyed(pttl),
        "generic",
        "2.6.0",
        "O(1)",
        "Returns the expiration time in milliseconds of a key.",
    ),
    command(
        "expiretime",
        2,
        GET_FLAGS,
        K,
        KEY,
        Exec::Keyed(expiretime),
        "generic",
        "7.0.0",
        "O(1)",
        "Returns the expiration time of a key as a Unix timestamp.",
    ),
    command(
        "pexpiretime",
        2,
        GET_FLAGS,
        K,
        KEY,
        Exec::Keyed(pexpiretime),
        "generic",
        "7.0.0",
        "O(1)",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
    ),
    command(
        "persist",
        2,
        SET_FLAGS,
        K,
        KEY,
        Exec::Keyed(persist),
        "generic",
        "2.2.0",
        "O(1)",
        "Removes the expiration time of a key.",
    ),
];

/// How the time argument of an EXPIRE-family command is read.
#[derive(Clone, Copy)]
struct Unit {
    /// Seconds (×1000) or milliseconds.
    seconds: bool,
    /// Relative to now, or an absolute Unix time.
    relative: bool,
}

fn expire(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_expire(ctx, args, reply, "expire", Unit { seconds: true, relative: true });
}

fn pexpire(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_expire(ctx, args, reply, "pexpire", Unit { seconds: false, relative: true });
}

fn expireat(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_expire(ctx, args, reply, "expireat", Unit { seconds: true, relative: false });
}

fn pexpireat(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_expire(ctx, args, reply, "pexpireat", Unit { seconds: false, relative: false });
}

/// EXPIRE's condition flags.
#[derive(Default, Clone, Copy)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    /// Redis's `parseExtendedExpireArgumentsOrReply`.
    fn parse(opts: &[Bytes]) -> Result<Conditions, String> {
        let mut c = Conditions::default();
        for opt in opts {
            match opt.to_ascii_lowercase().as_slice() {
                b"nx" => c.nx = true,
                b"xx" => c.xx = true,
                b"gt" => c.gt = true,
                b"lt" => c.lt = true,
                _ => {
                    return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(super::c_text(opt, 128))))
                }
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
        }
        if c.gt && c.lt {
            return Err("ERR GT and LT options at the same time are not compatible".into());
        }
        Ok(c)
    }

    /// Whether a key whose expiry is `current` (None: persistent) may get `when`.
    fn allow(&self, current: Option<i64>, when: i64) -> bool {
        match current {
            // No TTL counts as an infinite one: never greater, never less-than-beaten.
            None => !self.xx && !self.gt,
            Some(cur) => !(self.nx || (self.gt && when <= cur) || (self.lt && when >= cur)),
        }
    }
}

/// The absolute expiry in ms for `arg`, with Redis's overflow checks.
fn expire_time(arg: &[u8], unit: Unit, now: i64, cmd: &str) -> Result<i64, String> {
    let invalid = || format!("ERR invalid expire time in '{}' command", cmd);
    let mut when = parse_int(arg).ok_or_else(|| err::NOT_INT.to_string())?;
    if unit.seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if unit.relative {
        when = when.checked_add(now).ok_or_else(invalid)?;
    }
    Ok(when)
}

fn set_expire(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, cmd: &str, unit: Unit) {
    let now = ctx.now as i64;
    let conditions = match Conditions::parse(&args[3..]) {
        Ok(c) => c,
        Err(e) => return reply.error(&e),
    };
    let when = match expire_time(&args[2], unit, now, cmd) {
        Ok(w) => w,
        Err(e) => return reply.error(&e),
    };
    let key = &args[1];
    let db = ctx.db();
    let Some((_, old)) = db.get_with_expiry(key, now as u64) else {
        return reply.int(0);
    };
    if !conditions.allow(old.map(|t| t as i64), when) {
        return reply.int(0);
    }
    if when <= now {
        db.remove(key, now as u64);
        ctx.notify(class::GENERIC, "del", key);
    } else {
        db.set_expiry(key, Some(when as u64), now as u64);
        ctx.notify(class::GENERIC, "expire", key);
    }
    reply.int(1);
}

/// TTL/PTTL/EXPIRETIME/PEXPIRETIME: -2 without the key, -1 without a TTL.
fn report(ctx: &mut ShardCtx, key: &[u8], reply: &mut Reply, ms: bool, absolute: bool) {
    let now = ctx.now;
    let Some((_, expire_at)) = ctx.db().peek_with_expiry(key, now) else {
        ctx.keymiss(key);
        return reply.int(-2);
    };
    let Some(at) = expire_at else {
        return reply.int(-1);
    };
    // Unsigned, so rounding the largest time to seconds cannot overflow.
    let t = if absolute { at } else { at.saturating_sub(now) };
    reply.int(if ms { t } else { t.saturating_add(500) / 1000 } as i64);
}

fn ttl(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    report(ctx, &args[1], reply, false, false);
}

fn pttl(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    report(ctx, &args[1], reply, true, false);
}

fn expiretime(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    report(ctx, &args[1], reply, false, true);
}

fn pexpiretime(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    report(ctx, &args[1], reply, true, true);
}

fn persist(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let now = ctx.now;
    let db = ctx.db();
    let had_ttl = db.get_with_expiry(&args[1], now).is_some_and(|(_, at)| at.is_some());
    if had_ttl {
        db.set_expiry(&args[1], None, now);
        ctx.notify(class::GENERIC, "persist", &args[1]);
    }
    reply.int(had_ttl as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn conditions_parse_like_redis() {
        assert!(Conditions::parse(&opts(&["nx"])).is_ok());
        assert!(Conditions::parse(&opts(&["GT", "xx"])).is_ok());
        assert_eq!(
            Conditions::parse(&opts(&["nx", "gt"])).err().unwrap(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            Conditions::parse(&opts(&["gt", "lt"])).err().unwrap(),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(Conditions::parse(&opts(&["foo"])).err().unwrap(), "ERR Unsupported option foo");
    }

    #[test]
    fn conditions_treat_no_ttl_as_infinite() {
        let gt = Conditions { gt: true, ..Default::default() };
        let lt = Conditions { lt: true, ..Default::default() };
        assert!(!gt.allow(None, 5));
        assert!(lt.allow(None, 5));
        assert!(gt.allow(Some(4), 5) && !gt.allow(Some(5), 5));
        assert!(lt.allow(Some(6), 5) && !lt.allow(Some(5), 5));
    }

    #[test]
    fn expire_times_overflow_as_errors() {
        let secs = Unit { seconds: true, relative: true };
        assert_eq!(expire_time(b"10", secs, 1_000, "expire").unwrap(), 11_000);
        assert_eq!(expire_time(b"-10", secs, 1_000, "expire").unwrap(), -9_000);
        assert_eq!(
            expire_time(b"9223372036854775", secs, 1_000, "expire").unwrap_err(),
            "ERR invalid expire time in 'expire' command"
        );
        assert_eq!(expire_time(b"x", secs, 0, "expire").unwrap_err(), err::NOT_INT);
        let abs_ms = Unit { seconds: false, relative: false };
        assert_eq!(expire_time(b"9223372036854775807", abs_ms, 5, "pexpireat").unwrap(), i64::MAX);
    }
}
