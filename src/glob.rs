//! Glob-style pattern matching: a faithful port of Redis's `stringmatchlen`
//! (`util.c`), used by KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET.
//!
//! Supported syntax:
//!
//! * `*` any sequence (possibly empty), `?` any single byte;
//! * `[abc]` one of, `[^abc]` none of, `[a-z]` a range (reversed ranges such
//!   as `[z-a]` are accepted), `\x` inside a class matches `x` literally;
//! * `\x` outside a class matches `x` literally (a trailing `\` matches `\`).
//!
//! Malformed patterns behave exactly as in Redis: an unterminated class
//! (`[abc`) ends at the end of the pattern, `[a-]` is the range `a`..`]`.
//! Also as in Redis, the empty string matches only the empty pattern (`*`
//! does not match `""`): Redis's KEYS and SCAN treat a lone `*` as "all keys"
//! before calling the matcher, and callers here should do the same.
//!
//! Two guards from Redis keep abusive patterns cheap:
//!
//! * `skipLongerMatches` (Redis 7.0): once the tail after a `*` failed to
//!   match at every later position, no earlier `*` can help, so the whole
//!   match fails at once instead of backtracking exponentially
//!   (`a*a*a*...*b` against `aaaa...`);
//! * a nesting limit of 1000 recursion levels (CVE-2024-31228, backported to
//!   the 7.0 branch): deeper patterns simply do not match, so the recursion
//!   depth (and stack use) is bounded.
//!
//! Byte semantics follow Redis on x86-64 Linux, where `char` is signed: range
//! bounds and the tested byte are compared as signed values, so a range with a
//! byte >= 0x80 at one end behaves as in the real server (`[a-\xff]` is the
//! range `\xff`..`a`, i.e. -1..=97). Case folding (`nocase`) is ASCII only,
//! as `tolower` in the C locale Redis runs with.

/// Maximum recursion depth before a pattern is declared not to match.
const MAX_NESTING: u32 = 1000;

/// Returns whether `string` matches the glob `pattern`; with `nocase`, ASCII
/// letters compare case-insensitively.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer_matches = false;
    match_impl(pattern, string, nocase, &mut skip_longer_matches, 0)
}

/// `char` as a signed C `char` widened to `int`.
#[inline]
fn signed(b: u8) -> i32 {
    b as i8 as i32
}

/// C-locale `tolower` on a (possibly negative) `int` char value.
#[inline]
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

#[inline]
fn eq_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(pattern: &[u8], string: &[u8], nocase: bool, skip_longer_matches: &mut bool, nesting: u32) -> bool {
    // Protection against abusive patterns.
    if nesting > MAX_NESTING {
        return false;
    }
    // The C code relies on the NUL terminator after the pattern; reading past
    // the end here yields 0, which never equals any of the special bytes.
    let pat = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let plen = pattern.len();
    let slen = string.len();
    let mut p = 0usize;
    let mut s = 0usize;

    while p < plen && s < slen {
        match pattern[p] {
            b'*' => {
                while p + 1 < plen && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == plen {
                    return true; // A trailing '*' matches everything left.
                }
                while s < slen {
                    if match_impl(&pattern[p + 1..], &string[s..], nocase, skip_longer_matches, nesting + 1) {
                        return true;
                    }
                    if *skip_longer_matches {
                        return false;
                    }
                    s += 1;
                }
                // The rest of the pattern matches nowhere in the rest of the
                // string: a longer match for any earlier '*' cannot help.
                *skip_longer_matches = true;
                return false;
            }
            b'?' => {
                s += 1;
            }
            b'[' => {
                p += 1;
                let not = pat(p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    if pat(p) == b'\\' && plen - p >= 2 {
                        p += 1;
                        if pattern[p] == string[s] {
                            matched = true;
                        }
                    } else if pat(p) == b']' {
                        break;
                    } else if p == plen {
                        // Unterminated class: step back so that the common
                        // advance below lands exactly at the end.
                        p -= 1;
                        break;
                    } else if plen - p >= 3 && pattern[p + 1] == b'-' {
                        let mut start = signed(pattern[p]);
                        let mut end = signed(pattern[p + 2]);
                        let mut c = signed(string[s]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq_byte(pattern[p], string[s], nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            c => {
                let c = if c == b'\\' && plen - p >= 2 {
                    p += 1;
                    pattern[p]
                } else {
                    c
                };
                if !eq_byte(c, string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == slen {
            while pat(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p == plen && s == slen
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn literals_and_empty() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hellO"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
    }

    #[test]
    fn star() {
        // As in Redis, an empty string matches only the empty pattern (the
        // main loop never runs); KEYS special-cases a lone "*" before matching.
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!mi("*", ""));
        assert!(m("*", "anything"));
        assert!(m("***", "x"));
        assert!(m("foo*", "foo"));
        assert!(m("foo*", "foobar"));
        assert!(!m("foo*", "fo"));
        assert!(m("*bar", "foobar"));
        assert!(m("*bar", "bar"));
        assert!(!m("*bar", "barx"));
        assert!(m("f*o*o", "foo"));
        assert!(m("f*o*o", "fxxoyyo"));
        assert!(!m("f*o*o", "fxxoyy"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(m("*a*", "bab"));
        assert!(!m("*a*", "bbb"));
        // The empty-string tail trims any number of trailing stars.
        assert!(m("a**", "a"));
        assert!(m("a*?", "ab"));
        assert!(!m("a*?", "a"));
    }

    #[test]
    fn question_mark() {
        assert!(m("?", "a"));
        assert!(!m("?", ""));
        assert!(!m("?", "ab"));
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("??*", "ab"));
        assert!(!m("??*", "a"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hallo"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        // Reversed ranges are normalised.
        assert!(m("[z-a]", "m"));
        assert!(!m("[z-a]", "A"));
        assert!(m("[^a-c]", "d"));
        assert!(!m("[^a-c]", "b"));
        // `c-]` is the range 'c'..']' (the class is then unterminated), so a
        // trailing '-' is not literal.
        assert!(!m("[abc-]", "-"));
        assert!(m("[abc-]", "^"));
        // `[a-]` is the range between 'a' and ']' (']' < 'a').
        assert!(m("[a-]", "^"));
        assert!(m("[a-]", "a"));
        assert!(!m("[a-]", "b"));
        // `[]` never terminates early: ']' right after '[' closes the class
        // (empty class, never matches) ...
        assert!(!m("[]", "a"));
        // ... and `[^]` matches any byte.
        assert!(m("[^]", "a"));
        // Escapes inside classes.
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "b"));
        assert!(m("[\\^]", "^"));
    }

    #[test]
    fn unterminated_class() {
        // The class runs to the end of the pattern.
        assert!(m("[abc", "a"));
        assert!(m("[abc", "c"));
        assert!(!m("[abc", "d"));
        assert!(!m("[abc", "ab"));
        assert!(!m("[", "x"));
        assert!(m("[^", "x"));
        assert!(m("[a-", "a"));
        assert!(m("[a-", "-"));
        assert!(!m("[a-", "b"));
        assert!(m("[\\", "\\"));
        assert!(!m("x[", "x"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "a"));
        assert!(m("\\[a]", "[a]"));
        assert!(m("a\\\\b", "a\\b"));
        assert!(m("\\a", "a"));
        // A trailing backslash matches itself.
        assert!(m("a\\", "a\\"));
        assert!(!m("a\\", "a"));
        assert!(m("foo\\*bar", "foo*bar"));
        assert!(!m("foo\\*bar", "fooxbar"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HELLO", "hello"));
        assert!(mi("h*O", "HellO"));
        assert!(mi("[A-C]", "b"));
        assert!(mi("[a-c]", "B"));
        assert!(mi("[^A-C]", "d"));
        assert!(!mi("[^A-C]", "b"));
        assert!(mi("[xY]", "y"));
        assert!(mi("*MAX*", "maxclients"));
        assert!(!m("*MAX*", "maxclients"));
        // Escaped bytes inside classes compare case-sensitively, as in Redis.
        assert!(!mi("[\\A]", "a"));
        assert!(mi("\\A", "a"));
    }

    #[test]
    fn binary_and_signed_ranges() {
        assert!(glob_match(b"\x00*\xff", b"\x00abc\xff", false));
        assert!(glob_match(b"[\x80-\x90]", b"\x85", false));
        assert!(!glob_match(b"[\x80-\x90]", b"a", false));
        // Signed char: [a-\xff] is -1..=97 once swapped.
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[a-\xff]", b"0", false));
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
    }

    #[test]
    fn redis_keyspace_tests() {
        // keyspace.tcl "KEYS with pattern".
        let keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"];
        let got: Vec<_> = keys.iter().filter(|k| m("foo*", k)).collect();
        assert_eq!(got, [&"foo_a", &"foo_b", &"foo_c"]);
        assert_eq!(keys.iter().filter(|k| m("*", k)).count(), 6);
        // keyspace.tcl "Regression for pattern matching long nested loops".
        let long = "a".repeat(50_000);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &long));
        // keyspace.tcl "Regression for pattern matching very long nested
        // loops" (CVE-2024-31228): must terminate quickly and not match.
        assert!(!m(&"*?".repeat(50_000), &long));
    }

    #[test]
    fn exponential_patterns_are_fast() {
        let s = "a".repeat(100);
        let p = "*a".repeat(50) + "b";
        let start = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(m(&("*a".repeat(50)), &s));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn nesting_limit() {
        // 1000 stars separated by literals still match; beyond the nesting
        // limit the match gives up (as Redis does).
        let n = 1000;
        let s = "a".repeat(n + 1);
        let ok = "a*".repeat(n) + "a";
        assert!(m(&ok, &s));
        let too_deep = "a*".repeat(n + 2) + "a";
        assert!(!m(&too_deep, &"a".repeat(n + 3)));
    }
}
