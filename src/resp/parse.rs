//! Incremental, zero-copy request parser: Redis 7.0's `processInlineBuffer`
//! and `processMultibulkBuffer` (networking.c), quirks included, so that
//! every byte stream gets the same commands and the same protocol errors as
//! from Redis.
//!
//! Quirks kept on purpose, because Redis has them:
//! - Lines are found with `strchr()`, which stops at a NUL byte: a NUL before
//!   the terminator means the line never ends (the client hangs until 64 KB
//!   are buffered, then gets a "too big" error).
//! - A multibulk header line ends at `\r`; the byte after it is skipped
//!   without checking that it is `\n`.
//! - The two bytes after a bulk's data are skipped without checking that
//!   they are `\r\n`.
//! - `*0`, `*-1` and any other count <= 0 is an empty command, skipped.

use std::fmt;
use std::ops::Range;

use crate::num::string2ll;
use bytes::{Buf, Bytes, BytesMut};

/// PROTO_INLINE_MAX_SIZE: how much may be buffered while looking for the end
/// of an inline request or of a `*`/`$` header line.
const INLINE_MAX: usize = 64 * 1024;
/// Redis refuses multibulk counts above INT_MAX.
const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// Limits before AUTH when a password is required (authRequired()).
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;
/// Redis sizes argv as min(count, 1024) up front: the count is the client's
/// claim, so never reserve more than this before the arguments arrive.
const MAX_PREALLOC_ARGS: usize = 1024;
/// PROTO_MBULK_BIG_ARG: from this size on, Redis reads a bulk's data into a
/// query buffer of its own and reads no further than the bulk's end.
const MBULK_BIG_ARG: usize = 32 * 1024;

pub struct ParseLimits {
    /// proto-max-bulk-len (default 512 MB): a larger `$len` is a protocol
    /// error, refused before allocating anything.
    pub max_bulk_len: u64,
    /// False until the client authenticated when requirepass is set; Redis
    /// then refuses multibulk counts > 10 and bulks > 16384.
    pub authenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_bulk_len: 512 * 1024 * 1024, authenticated: true }
    }
}

/// A protocol error: the connection replies `-ERR {self}` and closes.
///
/// An enum rather than a string so that it is `Copy` and allocation-free,
/// and so that `ExpectedDollar` can carry the offending raw byte: Redis
/// echoes it as is (`%c`), which may not be valid UTF-8. Use
/// [`ProtocolError::write_reply`] for the exact reply bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthMultibulkLength,
    /// The first byte of an argument's header line was not `$`.
    ExpectedDollar(u8),
    TooBigBulkCount,
    InvalidBulkLength,
    UnauthBulkLength,
}

impl ProtocolError {
    /// The text after "Protocol error: ", when it is fixed.
    fn detail(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigMbulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::ExpectedDollar(_) => "expected '$', got '",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthBulkLength => "unauthenticated bulk length",
        }
    }

    /// Appends Redis's exact reply, `-ERR Protocol error: ...\r\n`. For
    /// `ExpectedDollar` the byte is raw, except that CR and LF become spaces
    /// (addReplyErrorFormat keeps the protocol valid that way).
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR Protocol error: ");
        out.extend_from_slice(self.detail().as_bytes());
        if let ProtocolError::ExpectedDollar(b) = *self {
            out.push(printable(b));
            out.push(b'\'');
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn printable(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' {
        b' '
    } else {
        b
    }
}

impl fmt::Display for ProtocolError {
    /// "Protocol error: ...". A non-ASCII byte in `ExpectedDollar` shows as
    /// the Latin-1 character (a `str` cannot hold the raw byte); use
    /// `write_reply` to send the reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        f.write_str(self.detail())?;
        if let ProtocolError::ExpectedDollar(b) = *self {
            write!(f, "{}'", char::from(printable(b)))?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {}

/// Where the parser is inside the command at the front of the buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Stage {
    /// At a command boundary; the first byte decides inline or multibulk.
    #[default]
    Start,
    /// Looking for the `\n` that ends an inline request.
    Inline,
    /// Looking for the end of the `*count` line.
    Count,
    /// Looking for the end of a `$len` line.
    BulkLen,
    /// Waiting for a bulk of this many bytes (plus 2 for its CRLF) at `pos`.
    BulkData(usize),
}

/// What one step of the state machine achieved.
enum Step {
    /// The buffer holds no more progress to make.
    NeedMore,
    /// Moved to another stage; keep going.
    Continue,
    /// The command ends at this offset; its arguments are in `ranges`.
    Complete(usize),
    /// An inline command ends at this offset; its arguments are owned
    /// (quotes and escapes change them).
    CompleteInline(usize, Vec<Vec<u8>>),
    /// An empty command (blank inline line, `*0`, `*-1`) ends at this offset.
    Empty(usize),
}

/// Parses requests one command at a time, keeping its progress between calls
/// so that a command arriving in many reads is scanned only once.
///
/// The bytes of a pending command stay at the front of the buffer, untouched,
/// until it is complete: then they are split off and frozen in one piece, and
/// the arguments are slices of that (no copy). Offsets below are relative to
/// the front of the buffer, which does not move while a command is pending.
#[derive(Debug, Default)]
pub struct Parser {
    stage: Stage,
    /// Arguments the current multibulk command still expects.
    remaining: usize,
    /// Offset of the next unparsed byte: the start of the next line or bulk.
    pos: usize,
    /// `buf[pos..scanned]` holds neither the line terminator nor a NUL, so the
    /// search resumes at `scanned` instead of rescanning.
    scanned: usize,
    /// A NUL came before the terminator: `strchr()` in Redis stops there, so
    /// this line can never end, only grow too big.
    nul_blocked: bool,
    /// Arguments found so far in the pending multibulk command.
    ranges: Vec<Range<usize>>,
    /// `buf.len()` at the end of the last call, for `bulk_remaining`.
    buffered: usize,
    /// Once a protocol error was returned, it is returned again: the stream
    /// cannot be resynchronised.
    failed: Option<ProtocolError>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next complete command at the front of `buf`.
    ///
    /// - `Ok(Some(argc))`: the command's bytes were removed from the front of
    ///   `buf` and its `argc >= 1` arguments appended to `args`. Multibulk
    ///   arguments are zero-copy slices of the removed bytes; inline ones are
    ///   owned copies (quotes and escapes change them).
    /// - `Ok(None)`: no complete command yet. Empty commands before it were
    ///   consumed; the incomplete command's bytes are left in `buf` untouched
    ///   and the parser remembers its progress, so call again once more bytes
    ///   were appended. `args` is untouched.
    /// - `Err(e)`: reply with `e.write_reply` and close. `buf` is then in an
    ///   unspecified state and every later call returns the same error.
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.run(buf, args, limits);
        self.buffered = buf.len();
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    /// What Redis's query buffer would hold now, for the
    /// client-query-buffer-limit check (done after each read, before
    /// parsing): Redis moves complete arguments out of its query buffer into
    /// argv, so it holds only the element being parsed (the command's first
    /// line, or the current `$len` line or bulk) and what follows; and while
    /// in a big bulk it reads no further than the bulk's end, so later bytes
    /// are not counted yet. `buf_len` is the length of the buffer given to
    /// `next`, possibly grown since.
    pub fn query_buffer_len(&self, buf_len: usize) -> usize {
        let pending = buf_len.saturating_sub(self.pos);
        match self.stage {
            Stage::BulkData(len) if len >= MBULK_BIG_ARG => pending.min(len.saturating_add(2)),
            _ => pending,
        }
    }

    /// While in the middle of a bulk argument: how many more bytes complete
    /// it (including its trailing CRLF), counted from what `buf` held at the
    /// end of the last `next` call, so the caller can `reserve` once for a big
    /// value. `None` otherwise.
    pub fn bulk_remaining(&self) -> Option<usize> {
        match self.stage {
            Stage::BulkData(len) => Some(self.pos.saturating_add(len).saturating_add(2).saturating_sub(self.buffered)),
            _ => None,
        }
    }

    fn run(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        loop {
            let step = match self.stage {
                Stage::Start => match buf.first() {
                    None => Step::NeedMore,
                    Some(&b'*') => match self.whole_multibulk(buf, limits) {
                        Some(end) => Step::Complete(end),
                        None => {
                            self.stage = Stage::Count;
                            Step::Continue
                        }
                    },
                    Some(_) => {
                        self.stage = Stage::Inline;
                        Step::Continue
                    }
                },
                Stage::Inline => self.inline(buf)?,
                Stage::Count => self.count_line(buf, limits)?,
                Stage::BulkLen => self.bulk_len_line(buf, limits)?,
                Stage::BulkData(len) => self.bulk_data(buf, len),
            };
            match step {
                Step::NeedMore => return Ok(None),
                Step::Continue => {}
                Step::Empty(end) => {
                    buf.advance(end);
                    self.reset();
                }
                Step::Complete(end) => {
                    let mut command = buf.split_to(end).freeze();
                    let argc = self.ranges.len();
                    // The last argument is the command's own handle cut down
                    // (no reference count taken and dropped for it).
                    let last = self.ranges.pop().unwrap_or(0..0);
                    args.extend(self.ranges.drain(..).map(|r| command.slice(r)));
                    command.truncate(last.end);
                    command.advance(last.start);
                    args.push(command);
                    self.reset();
                    return Ok(Some(argc));
                }
                Step::CompleteInline(end, words) => {
                    buf.advance(end);
                    self.reset();
                    let argc = words.len();
                    args.extend(words.into_iter().map(Bytes::from));
                    return Ok(Some(argc));
                }
            }
        }
    }

    /// The usual case in one pass: a multibulk command of a few arguments
    /// that arrived whole, with plain lengths (digits, no sign, no leading
    /// zero) within every limit. Its argument ranges are in `ranges` and
    /// its end is returned. Anything else (incomplete, odd, too big, an
    /// error to report) is `None` with nothing changed, and the stepwise
    /// parser takes the command from its first byte, so both paths accept
    /// the same bytes as the same command.
    fn whole_multibulk(&mut self, buf: &[u8], limits: &ParseLimits) -> Option<usize> {
        const MAX_ARGS: usize = 64;
        let (count, mut pos) = plain_length(buf, 1)?;
        if count == 0 || count > MAX_ARGS || (count as i64 > UNAUTH_MAX_MULTIBULK && !limits.authenticated) {
            return None;
        }
        self.ranges.clear();
        for _ in 0..count {
            match whole_bulk(buf, pos, limits) {
                Some((data, end)) => {
                    self.ranges.push(data);
                    pos = end;
                }
                None => {
                    self.ranges.clear();
                    return None;
                }
            }
        }
        Some(pos)
    }

    /// Back to a command boundary at the (new) front of the buffer.
    fn reset(&mut self) {
        self.stage = Stage::Start;
        self.remaining = 0;
        self.pos = 0;
        self.scanned = 0;
        self.nul_blocked = false;
        self.ranges.clear();
        // One command with millions of arguments should not pin that much
        // memory for the rest of the connection.
        if self.ranges.capacity() > 16 * MAX_PREALLOC_ARGS {
            self.ranges = Vec::new();
        }
    }

    /// Like `strchr(buf + pos, target)`: the offset of the first `target`
    /// at or after `pos`, or None if the buffer ends or a NUL comes first.
    fn find(&mut self, buf: &[u8], target: u8) -> Option<usize> {
        if self.nul_blocked {
            return None;
        }
        let from = self.scanned.max(self.pos);
        let rest = buf.get(from..).unwrap_or_default();
        match rest.iter().position(|&b| b == target || b == 0) {
            Some(i) if rest[i] == target => {
                // Remember it: the line may still lack the byte after it.
                self.scanned = from + i;
                Some(from + i)
            }
            Some(_) => {
                self.nul_blocked = true;
                None
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// Bytes buffered from the current position on: what Redis compares
    /// with PROTO_INLINE_MAX_SIZE.
    fn buffered_from_pos(&self, buf: &[u8]) -> usize {
        buf.len().saturating_sub(self.pos)
    }

    /// processInlineBuffer: a line ending at `\n` (a `\r` before it is
    /// dropped), split like sdssplitargs.
    fn inline(&mut self, buf: &[u8]) -> Result<Step, ProtocolError> {
        let Some(newline) = self.find(buf, b'\n') else {
            if self.buffered_from_pos(buf) > INLINE_MAX {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Step::NeedMore);
        };
        let mut line = buf.get(..newline).unwrap_or_default();
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        let words = crate::splitargs::split_args(line).map_err(|_| ProtocolError::UnbalancedQuotes)?;
        let end = newline + 1;
        if words.is_empty() {
            // A blank line; the next command may be of either kind.
            return Ok(Step::Empty(end));
        }
        Ok(Step::CompleteInline(end, words))
    }

    /// The `*count` line of a multibulk request.
    fn count_line(&mut self, buf: &[u8], limits: &ParseLimits) -> Result<Step, ProtocolError> {
        let Some(cr) = self.find(buf, b'\r') else {
            if self.buffered_from_pos(buf) > INLINE_MAX {
                return Err(ProtocolError::TooBigMbulkCount);
            }
            return Ok(Step::NeedMore);
        };
        // The byte after '\r' must have arrived (Redis skips it unchecked).
        if cr + 2 > buf.len() {
            return Ok(Step::NeedMore);
        }
        let count = match string2ll(buf.get(1..cr).unwrap_or_default()) {
            Some(n) if n <= MAX_MULTIBULK => n,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        if count > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
            return Err(ProtocolError::UnauthMultibulkLength);
        }
        let end = cr + 2;
        if count <= 0 {
            return Ok(Step::Empty(end));
        }
        // count is in 1..=i32::MAX, so it fits.
        self.remaining = usize::try_from(count).unwrap_or(usize::MAX);
        self.ranges.clear();
        self.ranges.reserve(self.remaining.min(MAX_PREALLOC_ARGS));
        self.pos = end;
        self.scanned = end;
        self.stage = Stage::BulkLen;
        Ok(Step::Continue)
    }

    /// A `$len` line. Limits are checked here, as soon as the line is
    /// complete, before any of the data arrives.
    fn bulk_len_line(&mut self, buf: &[u8], limits: &ParseLimits) -> Result<Step, ProtocolError> {
        let Some(cr) = self.find(buf, b'\r') else {
            if self.buffered_from_pos(buf) > INLINE_MAX {
                return Err(ProtocolError::TooBigBulkCount);
            }
            return Ok(Step::NeedMore);
        };
        if cr + 2 > buf.len() {
            return Ok(Step::NeedMore);
        }
        // `pos < cr` or `pos == cr`: either way buf[pos] exists.
        let first = buf.get(self.pos).copied().unwrap_or(b'\r');
        if first != b'$' {
            return Err(ProtocolError::ExpectedDollar(first));
        }
        let digits = buf.get(self.pos + 1..cr).unwrap_or_default();
        let len = match string2ll(digits) {
            Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len => n,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if len > UNAUTH_MAX_BULK && !limits.authenticated {
            return Err(ProtocolError::UnauthBulkLength);
        }
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        self.pos = cr + 2;
        self.scanned = self.pos;
        self.stage = Stage::BulkData(len);
        Ok(Step::Continue)
    }

    /// The data of a bulk: `len` bytes, then 2 bytes Redis skips unchecked.
    fn bulk_data(&mut self, buf: &[u8], len: usize) -> Step {
        let end = self.pos.saturating_add(len).saturating_add(2);
        if buf.len() < end {
            return Step::NeedMore;
        }
        self.ranges.push(self.pos..self.pos + len);
        self.pos = end;
        self.scanned = end;
        self.remaining -= 1;
        if self.remaining == 0 {
            Step::Complete(end)
        } else {
            self.stage = Stage::BulkLen;
            Step::Continue
        }
    }
}

/// A `$len` line at `pos` with a plain length within the limits, and its
/// data and the two bytes after it (skipped unchecked), all arrived: the
/// data's range and the bulk's end.
#[inline]
fn whole_bulk(buf: &[u8], pos: usize, limits: &ParseLimits) -> Option<(Range<usize>, usize)> {
    if buf.get(pos) != Some(&b'$') {
        return None;
    }
    let (len, data) = plain_length(buf, pos + 1)?;
    if len as u64 > limits.max_bulk_len || (len as i64 > UNAUTH_MAX_BULK && !limits.authenticated) {
        return None;
    }
    let end = data.checked_add(len)?.checked_add(2)?;
    (end <= buf.len()).then_some((data..data + len, end))
}

/// A `*` or `$` line's number at `buf[from..]` when it is plain (`0`, or
/// up to 18 digits without a leading zero) and its `\r` and the byte after
/// it have arrived: the number and where the line's successor starts.
#[inline]
fn plain_length(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let digits = buf.get(from..)?;
    let mut n = 0u64;
    let mut i = 0;
    while let Some(d) = digits.get(i).map(|b| b.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        if i == 18 || (i == 1 && n == 0) {
            return None;
        }
        n = n * 10 + u64::from(d);
        i += 1;
    }
    let ended = i > 0 && digits.get(i) == Some(&b'\r') && digits.len() > i + 1;
    ended.then(|| usize::try_from(n).ok()).flatten().map(|n| (n, from + i + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AUTH: ParseLimits = ParseLimits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };
    const UNAUTH: ParseLimits = ParseLimits { max_bulk_len: 512 * 1024 * 1024, authenticated: false };

    type Cmd = Vec<Vec<u8>>;

    /// Feeds `input` in the given chunks, collecting every command, and the
    /// error that stopped it if any.
    fn feed_chunks<'a>(
        chunks: impl IntoIterator<Item = &'a [u8]>,
        limits: &ParseLimits,
    ) -> (Vec<Cmd>, Option<ProtocolError>) {
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut cmds = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                let mut args = Vec::new();
                match parser.next(&mut buf, &mut args, limits) {
                    Ok(Some(argc)) => {
                        assert_eq!(argc, args.len());
                        assert!(argc >= 1);
                        cmds.push(args.iter().map(|a| a.to_vec()).collect());
                    }
                    Ok(None) => {
                        assert!(args.is_empty());
                        break;
                    }
                    Err(e) => return (cmds, Some(e)),
                }
            }
        }
        (cmds, None)
    }

    fn feed(input: &[u8]) -> (Vec<Cmd>, Option<ProtocolError>) {
        feed_chunks([input], &AUTH)
    }

    fn cmds(input: &[u8]) -> Vec<Cmd> {
        let (cmds, err) = feed(input);
        assert_eq!(err, None, "input {:?}", String::from_utf8_lossy(input));
        cmds
    }

    fn cmd(words: &[&[u8]]) -> Cmd {
        words.iter().map(|w| w.to_vec()).collect()
    }

    fn err_of(input: &[u8], limits: &ParseLimits) -> ProtocolError {
        let (_, err) = feed_chunks([input], limits);
        err.expect("expected a protocol error")
    }

    fn reply_of(e: ProtocolError) -> Vec<u8> {
        let mut out = Vec::new();
        e.write_reply(&mut out);
        out
    }

    fn encode(cmd: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", cmd.len()).into_bytes();
        for arg in cmd {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn multibulk_and_pipeline() {
        let input = b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
        assert_eq!(cmds(input), [cmd(&[b"PING"]), cmd(&[b"SET", b"k", b""]), cmd(&[b"ECHO", b"hi"])]);
    }

    #[test]
    fn mixed_inline_and_multibulk_pipeline() {
        let input = b"PING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\necho b\n";
        assert_eq!(cmds(input), [cmd(&[b"PING"]), cmd(&[b"ECHO", b"a"]), cmd(&[b"echo", b"b"])]);
    }

    #[test]
    fn binary_safe_bulks() {
        let input = b"*2\r\n$3\r\nSET\r\n$6\r\n\r\n\0*$\n\r\n";
        assert_eq!(cmds(input), [cmd(&[b"SET", b"\r\n\0*$\n"])]);
    }

    #[test]
    fn inline_quotes_and_line_endings() {
        let input = b"set \"a b\" 'c\\'d'\r\nget \"\\x41\\n\"\nkeys *\n";
        assert_eq!(cmds(input), [cmd(&[b"set", b"a b", b"c'd"]), cmd(&[b"get", b"A\n"]), cmd(&[b"keys", b"*"])]);
        // Only one '\r' before the '\n' is stripped; the rest is whitespace.
        assert_eq!(cmds(b"PING\r\r\n"), [cmd(&[b"PING"])]);
    }

    #[test]
    fn empty_commands_are_skipped() {
        let input = b"\r\n\n   \r\n*0\r\n*-1\r\n*-100\r\nPING\r\n*0\r\n";
        assert_eq!(cmds(input), [cmd(&[b"PING"])]);
        // ... and consumed, even when nothing follows them.
        let mut buf = BytesMut::from(&b"*0\r\n\r\n*1\r\n$4\r\nPI"[..]);
        let mut args = Vec::new();
        let mut parser = Parser::new();
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(&buf[..], b"*1\r\n$4\r\nPI");
        assert!(args.is_empty());
    }

    #[test]
    fn multibulk_args_are_zero_copy() {
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nrest");
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
        let mut args = Vec::new();
        let mut parser = Parser::new();
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(Some(2)));
        for arg in &args {
            assert!(range.contains(&(arg.as_ptr() as usize)));
        }
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn args_are_appended() {
        let mut buf = BytesMut::from(&b"*1\r\n$1\r\nb\r\n"[..]);
        let mut args = vec![Bytes::from_static(b"a")];
        assert_eq!(Parser::new().next(&mut buf, &mut args, &AUTH), Ok(Some(1)));
        assert_eq!(args, [&b"a"[..], &b"b"[..]]);
    }

    #[test]
    fn redis_quirks() {
        // The byte after a header's '\r' is not checked.
        assert_eq!(cmds(b"*1\rX$4\r\nPING\r\n"), [cmd(&[b"PING"])]);
        // Nor are the two bytes after a bulk.
        assert_eq!(cmds(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"), [cmd(&[b"PING"]), cmd(&[b"PING"])]);
        // A header line ends at '\r' only: "\n\n" is part of the number.
        assert_eq!(err_of(b"*1\r\n$4\n\nPING\r\n", &AUTH), ProtocolError::InvalidBulkLength);
        // A NUL before the terminator: the line never ends (strchr).
        assert_eq!(feed(b"PING\0\r\nPING\r\n"), (vec![], None));
        assert_eq!(feed(b"*1\0\r\n$4\r\nPING\r\n"), (vec![], None));
        assert_eq!(feed(b"*1\r\n$4\0\r\nPING\r\n"), (vec![], None));
        // ... until 64 KB are buffered.
        let mut big = b"PING\0\r\n".to_vec();
        big.resize(INLINE_MAX + 1, b'x');
        assert_eq!(err_of(&big, &AUTH), ProtocolError::TooBigInline);
        // Counts <= 0 and up to INT_MAX are valid.
        assert_eq!(feed(b"*2147483647\r\n"), (vec![], None));
    }

    #[test]
    fn error_texts() {
        let cases: &[(ProtocolError, &[u8])] = &[
            (ProtocolError::TooBigInline, b"too big inline request"),
            (ProtocolError::UnbalancedQuotes, b"unbalanced quotes in request"),
            (ProtocolError::TooBigMbulkCount, b"too big mbulk count string"),
            (ProtocolError::InvalidMultibulkLength, b"invalid multibulk length"),
            (ProtocolError::UnauthMultibulkLength, b"unauthenticated multibulk length"),
            (ProtocolError::ExpectedDollar(b'x'), b"expected '$', got 'x'"),
            (ProtocolError::ExpectedDollar(b'\r'), b"expected '$', got ' '"),
            (ProtocolError::ExpectedDollar(b'\n'), b"expected '$', got ' '"),
            (ProtocolError::ExpectedDollar(0x80), b"expected '$', got '\x80'"),
            (ProtocolError::TooBigBulkCount, b"too big bulk count string"),
            (ProtocolError::InvalidBulkLength, b"invalid bulk length"),
            (ProtocolError::UnauthBulkLength, b"unauthenticated bulk length"),
        ];
        for &(e, text) in cases {
            let mut want = b"-ERR Protocol error: ".to_vec();
            want.extend_from_slice(text);
            want.extend_from_slice(b"\r\n");
            assert_eq!(reply_of(e), want);
            if text.is_ascii() {
                let display = format!("Protocol error: {}", String::from_utf8_lossy(text));
                assert_eq!(e.to_string(), display);
            }
        }
        assert_eq!(ProtocolError::ExpectedDollar(0xe9).to_string(), "Protocol error: expected '$', got 'é'");
    }

    #[test]
    fn errors_raised_where_redis_raises_them() {
        let big = |prefix: &[u8]| {
            let mut v = prefix.to_vec();
            v.resize(prefix.len() + INLINE_MAX + 1, b'1');
            v
        };
        assert_eq!(err_of(&big(b""), &AUTH), ProtocolError::TooBigInline);
        // The limit applies while no newline is buffered: a longer line whose
        // newline arrives in the same read passes, as in Redis.
        let mut long = big(b"echo ");
        long.extend_from_slice(b"\r\n");
        assert_eq!(feed(&long).0.len(), 1);
        assert_eq!(err_of(b"set \"a\r\n", &AUTH), ProtocolError::UnbalancedQuotes);
        assert_eq!(err_of(b"set 'a'b\n", &AUTH), ProtocolError::UnbalancedQuotes);
        assert_eq!(err_of(&big(b"*"), &AUTH), ProtocolError::TooBigMbulkCount);
        for bad in [&b"*x\r\n"[..], b"*\r\n", b"*+1\r\n", b"*01\r\n", b"*-0\r\n", b"*1 \r\n"] {
            assert_eq!(err_of(bad, &AUTH), ProtocolError::InvalidMultibulkLength);
        }
        assert_eq!(err_of(b"*2147483648\r\n", &AUTH), ProtocolError::InvalidMultibulkLength);
        assert_eq!(err_of(b"*99999999999999999999\r\n", &AUTH), ProtocolError::InvalidMultibulkLength);
        assert_eq!(err_of(b"*11\r\n", &UNAUTH), ProtocolError::UnauthMultibulkLength);
        assert_eq!(feed_chunks([&b"*10\r\n"[..]], &UNAUTH), (vec![], None));
        assert_eq!(err_of(b"*1\r\nPING\r\n", &AUTH), ProtocolError::ExpectedDollar(b'P'));
        assert_eq!(err_of(b"*1\r\n\r\n", &AUTH), ProtocolError::ExpectedDollar(b'\r'));
        assert_eq!(err_of(b"*1\r\n\n\r\n", &AUTH), ProtocolError::ExpectedDollar(b'\n'));
        // "expected '$'" waits for the whole line, like Redis.
        assert_eq!(feed(b"*1\r\nPING"), (vec![], None));
        // ... but "too big" does not look at the first byte.
        assert_eq!(err_of(&big(b"*1\r\nx"), &AUTH), ProtocolError::TooBigBulkCount);
        assert_eq!(err_of(&big(b"*1\r\n$"), &AUTH), ProtocolError::TooBigBulkCount);
        for bad in [&b"$-1"[..], b"$", b"$x", b"$01", b"$-0", b"$1.0", b"$ 1", b"$536870913"] {
            let mut input = b"*1\r\n".to_vec();
            input.extend_from_slice(bad);
            input.extend_from_slice(b"\r\n");
            assert_eq!(err_of(&input, &AUTH), ProtocolError::InvalidBulkLength, "{bad:?}");
        }
        // proto-max-bulk-len itself is allowed.
        assert_eq!(feed(b"*1\r\n$536870912\r\n"), (vec![], None));
        let tight = ParseLimits { max_bulk_len: 3, authenticated: true };
        assert_eq!(err_of(b"*1\r\n$4\r\n", &tight), ProtocolError::InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$16385\r\n", &UNAUTH), ProtocolError::UnauthBulkLength);
        // An invalid length is reported before the unauthenticated one.
        assert_eq!(err_of(b"*1\r\n$-5\r\n", &UNAUTH), ProtocolError::InvalidBulkLength);
        assert_eq!(feed_chunks([&b"*1\r\n$16384\r\n"[..]], &UNAUTH), (vec![], None));
        // Commands before the bad one are returned first.
        assert_eq!(
            feed(b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n"),
            (vec![cmd(&[b"PING"]), cmd(&[b"PING"])], Some(ProtocolError::InvalidMultibulkLength))
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&b"*x\r\n"[..]);
        let mut args = Vec::new();
        let first = parser.next(&mut buf, &mut args, &AUTH);
        assert_eq!(first, Err(ProtocolError::InvalidMultibulkLength));
        let mut buf = BytesMut::from(&b"PING\r\n"[..]);
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), first);
    }

    #[test]
    fn huge_bulk_refused_before_its_data() {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$2000000000\r\n"[..]);
        let mut args = Vec::new();
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Err(ProtocolError::InvalidBulkLength));
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn bulk_remaining_tracks_a_big_value() {
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$1000"[..]);
        let mut args = Vec::new();
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.bulk_remaining(), None);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.bulk_remaining(), Some(1002));
        buf.extend_from_slice(&[b'v'; 600]);
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.bulk_remaining(), Some(402));
        buf.reserve(parser.bulk_remaining().unwrap_or(0));
        buf.extend_from_slice(&[b'v'; 400]);
        buf.extend_from_slice(b"\r");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.bulk_remaining(), Some(1));
        buf.extend_from_slice(b"\n");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(Some(2)));
        assert_eq!(parser.bulk_remaining(), None);
        assert_eq!(args[1].len(), 1000);
        assert!(buf.is_empty());
    }

    #[test]
    fn query_buffer_len_counts_like_redis() {
        let mut parser = Parser::new();
        let mut args = Vec::new();
        // A pending `*` line counts from the command's start.
        let mut buf = BytesMut::from(&b"*3\r"[..]);
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.query_buffer_len(buf.len()), 3);
        // Complete arguments do not count, only the pending element.
        buf.extend_from_slice(b"\n$3\r\nSET\r\n$1");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.query_buffer_len(buf.len()), 2);
        buf.extend_from_slice(b"\r\nk\r\n$40000\r\nvv");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.query_buffer_len(buf.len()), 2);
        // In a big bulk, bytes after its end are not counted yet (Redis reads
        // no further).
        buf.extend_from_slice(&[b'v'; 39_998]);
        buf.extend_from_slice(b"\r\nPING\r\n");
        assert_eq!(parser.query_buffer_len(buf.len()), 40_002);
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(Some(3)));
        // In a small one they are.
        let mut parser = Parser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$4\r\nECHO\r\n$3\r\nab"[..]);
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
        assert_eq!(parser.query_buffer_len(buf.len()), 2);
        buf.extend_from_slice(b"c\r\nPING\r\n");
        assert_eq!(parser.query_buffer_len(buf.len()), 11);
    }

    /// A big value arriving in small reads is parsed in linear time: the
    /// bulk's data is never scanned. (Quadratic rescanning would take
    /// minutes here.)
    #[test]
    fn big_bulk_in_small_reads_is_linear() {
        const LEN: usize = 16 << 20;
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        buf.extend_from_slice(format!("*1\r\n${LEN}\r\n").as_bytes());
        let chunk = [b'\r'; 4096];
        let mut sent = 0;
        while sent < LEN {
            assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(None));
            buf.reserve(parser.bulk_remaining().unwrap_or(0));
            buf.extend_from_slice(&chunk);
            sent += chunk.len();
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(parser.next(&mut buf, &mut args, &AUTH), Ok(Some(1)));
        assert_eq!(args[0].len(), LEN);
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    /// A random command and how to encode it: multibulk always works;
    /// inline only for words that need no quoting.
    fn arb_command() -> impl Strategy<Value = (Cmd, bool)> {
        prop_oneof![
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 1..5).prop_map(|c| (c, false)),
            prop::collection::vec("[a-zA-Z0-9*$:]{1,8}", 1..5)
                .prop_map(|words| (words.into_iter().map(String::into_bytes).collect(), true)),
        ]
    }

    /// Encodes the commands, with empty commands sprinkled in, varying the
    /// inline separators and line endings.
    fn encode_all(commands: &[(Cmd, bool)], noise: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (c, inline)) in commands.iter().enumerate() {
            let n = noise.get(i).copied().unwrap_or(0);
            match n % 4 {
                0 => out.extend_from_slice(b"*0\r\n"),
                1 => out.extend_from_slice(b"\r\n"),
                2 => out.extend_from_slice(b"*-1\r\n"),
                _ => {}
            }
            if *inline {
                // An inline line cannot start with '*': that would be multibulk.
                if c[0].first() == Some(&b'*') {
                    out.extend_from_slice(&encode(c));
                    continue;
                }
                let sep: &[u8] = if n & 4 != 0 { b" " } else { b" \t " };
                out.extend_from_slice(&c.join(sep));
                out.extend_from_slice(if n & 8 != 0 { b"\r\n" } else { b"\n" });
            } else {
                out.extend_from_slice(&encode(c));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn chunking_does_not_matter(
            commands in prop::collection::vec(arb_command(), 1..6),
            noise in prop::collection::vec(any::<u8>(), 6),
            chunk_sizes in prop::collection::vec(1usize..20, 1..50),
        ) {
            let input = encode_all(&commands, &noise);
            let expected: Vec<Cmd> = commands.iter().map(|(c, _)| c.clone()).collect();
            prop_assert_eq!(feed(&input), (expected.clone(), None));

            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                prop_assert_eq!(feed_chunks([a, b], &AUTH), (expected.clone(), None));
            }

            let mut chunks = Vec::new();
            let mut rest = &input[..];
            for &size in chunk_sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (a, b) = rest.split_at(size.min(rest.len()));
                chunks.push(a);
                rest = b;
            }
            prop_assert_eq!(feed_chunks(chunks, &AUTH), (expected, None));
        }

        /// Arbitrary bytes never panic, and give the same result (commands,
        /// then error or wait) however they are split.
        #[test]
        fn garbage_is_chunking_independent(
            input in prop::collection::vec(
                prop_oneof![
                    Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'1'),
                    Just(b'-'), Just(b'"'), Just(0u8), any::<u8>()
                ],
                0..40,
            ),
            authenticated in any::<bool>(),
        ) {
            let limits = ParseLimits { max_bulk_len: 5, authenticated };
            let whole = feed_chunks([&input[..]], &limits);
            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                prop_assert_eq!(feed_chunks([a, b], &limits), whole.clone());
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(feed_chunks(bytes, &limits), whole);
        }

        /// Whole multibulk commands, well and badly formed, take the
        /// one-pass path when they arrive at once; a byte at a time they
        /// go through the stepwise parser. Both give the same commands and
        /// the same error.
        #[test]
        fn one_pass_and_stepwise_agree(
            tokens in prop::collection::vec(arb_frame(), 0..8),
            max_bulk_len in 0u64..8,
            authenticated in any::<bool>(),
        ) {
            let input = tokens.concat();
            let limits = ParseLimits { max_bulk_len, authenticated };
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(feed_chunks([&input[..]], &limits), feed_chunks(bytes, &limits));
        }
    }

    /// A multibulk command, mostly well formed but now and then with a
    /// count or a length that is off, not plain, or missing its `$`; or a
    /// stray snippet. Lengths stay around `max_bulk_len`'s range in
    /// `one_pass_and_stepwise_agree`.
    fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
        let bulk = (0usize..9, 0u8..16).prop_map(|(len, odd)| {
            let mut out = match odd {
                0 => format!("${}\r\n", len + 1),
                1 => format!("${}\r\n", len.saturating_sub(1)),
                2 => format!("$0{len}\r\n"),
                3 => "$-1\r\n".to_string(),
                4 => format!("%{len}\r\n"),
                5 => format!("${len}\rx"),
                _ => format!("${len}\r\n"),
            }
            .into_bytes();
            out.extend(std::iter::repeat_n(b'v', len));
            out.extend_from_slice(b"\r\n");
            out
        });
        let command = (prop::collection::vec(bulk, 1..5), 0u8..12).prop_map(|(bulks, odd)| {
            let n = bulks.len();
            let mut out = match odd {
                0 => format!("*{}\r\n", n + 1),
                1 => format!("*{}\r\n", n - 1),
                2 => format!("*0{n}\r\n"),
                3 => "*-1\r\n".to_string(),
                _ => format!("*{n}\r\n"),
            }
            .into_bytes();
            out.extend(bulks.concat());
            out
        });
        prop_oneof![
            4 => command,
            1 => prop::sample::select(vec![&b"\r\n"[..], b"x", b"\0", b"*11\r\n", b"$16385\r\n", b"*65\r\n"])
                .prop_map(|t| t.to_vec()),
        ]
    }

    #[test]
    fn plain_lengths() {
        assert_eq!(plain_length(b"*0\r\n", 1), Some((0, 4)));
        assert_eq!(plain_length(b"*12\r\n", 1), Some((12, 5)));
        assert_eq!(plain_length(b"$999999999999999999\r\n", 1), Some((999_999_999_999_999_999, 21)));
        for not_plain in
            [&b"*01\r\n"[..], b"*-1\r\n", b"*+1\r\n", b"*\r\n", b"*1x\r\n", b"*1\r", b"*1", b"$1000000000000000000\r\n"]
        {
            assert_eq!(plain_length(not_plain, 1), None, "{:?}", String::from_utf8_lossy(not_plain));
        }
    }
}
