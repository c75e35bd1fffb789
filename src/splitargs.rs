//! `sdssplitargs`: the tokenizer Redis uses for inline commands and for
//! `redis.conf` lines. Shared by the RESP inline parser and the config loader
//! so both accept exactly what Redis accepts.

/// The line has an unterminated quote, or a closing quote not followed by a
/// space (`"foo"bar`), which Redis rejects as unbalanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbalancedQuotes;

/// Splits `line` into arguments: whitespace separates, `"..."` supports
/// `\n \r \t \b \a \\ \"` and `\xHH` escapes, `'...'` supports only `\'`.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let mut out = Vec::new();
    let mut p = 0;
    let n = line.len();
    loop {
        while p < n && is_space(line[p]) {
            p += 1;
        }
        if p >= n {
            return Ok(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if p >= n {
                    return Err(UnbalancedQuotes);
                }
                let c = line[p];
                if c == b'\\'
                    && p + 3 < n
                    && line[p + 1] == b'x'
                    && line[p + 2].is_ascii_hexdigit()
                    && line[p + 3].is_ascii_hexdigit()
                {
                    cur.push(hex(line[p + 2]) * 16 + hex(line[p + 3]));
                    p += 3;
                } else if c == b'\\' && p + 1 < n {
                    p += 1;
                    cur.push(match line[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // A closing quote must be followed by a space or the end.
                    if p + 1 < n && !is_space(line[p + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if p >= n {
                    return Err(UnbalancedQuotes);
                }
                let c = line[p];
                if c == b'\\' && p + 1 < n && line[p + 1] == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if p + 1 < n && !is_space(line[p + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if p >= n {
                    break;
                }
                match line[p] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        p += 1;
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            p += 1;
        }
        out.push(cur);
    }
}

/// C's `isspace`, which Redis uses: includes vertical tab and form feed.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Vec<String> {
        split_args(line.as_bytes()).unwrap().into_iter().map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn plain_words() {
        assert_eq!(s("  set  foo bar "), ["set", "foo", "bar"]);
        assert!(s("   ").is_empty());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(s(r#"set "a b" 'c d'"#), ["set", "a b", "c d"]);
        assert_eq!(s(r#""\x41\n\"" 'it\'s'"#), ["A\n\"", "it's"]);
        assert_eq!(s(r#"save """#), ["save", ""]);
    }

    #[test]
    fn unbalanced() {
        assert_eq!(split_args(b"set \"foo"), Err(UnbalancedQuotes));
        assert_eq!(split_args(b"set 'foo"), Err(UnbalancedQuotes));
        assert_eq!(split_args(b"\"foo\"bar"), Err(UnbalancedQuotes));
    }
}
