//! Argument documentation for `COMMAND DOCS`, which redis-cli turns into
//! hints and help. Each command's arguments are written once, in the syntax
//! of Redis's own docs, and parsed into Redis's argument tree:
//!
//! - `name` a string argument, `name:integer` (also `double`, `pattern`,
//!   `unix-time`), `key` a key, `name:key` a key with another name;
//! - `...#N` after an argument: the key spec (of `COMMAND INFO`) its keys
//!   belong to, where counting keys cannot tell (SORT's STORE destination
//!   is spec 2, its BY/GET patterns name keys of spec 1);
//! - `TOKEN` a pure token, `TOKEN name` an argument introduced by a token;
//! - `[...]` optional, `...` after an item: repeats;
//! - `a|b` alternatives (a `oneof`), `name(...)` a named group: a `oneof` if
//!   it has alternatives, else a `block`.

use crate::resp::Reply;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    /// Its key spec, when the spec gives it (`#N`).
    pub key_spec: Option<i64>,
    pub children: Vec<Arg>,
}

/// The argument spec of `command`, from its family's `ARGS` table.
pub fn arguments(command: &str) -> Option<Vec<Arg>> {
    super::family_args().flatten().find(|(n, _)| *n == command).map(|(_, spec)| parse(spec))
}

/// Parses an argument spec (see the module docs); malformed specs are a bug
/// caught by the unit test that parses every entry.
pub fn parse(spec: &str) -> Vec<Arg> {
    let tokens = tokenize(spec);
    let mut pos = 0;
    let alts = parse_alts(&tokens, &mut pos);
    alts.into_iter().next().unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    Open(char),
    Close(char),
    Bar,
    Ellipsis,
}

fn tokenize(spec: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = spec.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' => i += 1,
            b'[' | b'(' => {
                out.push(Tok::Open(b[i] as char));
                i += 1;
            }
            b']' | b')' => {
                out.push(Tok::Close(b[i] as char));
                i += 1;
            }
            b'|' => {
                out.push(Tok::Bar);
                i += 1;
            }
            b'.' if spec[i..].starts_with("...") => {
                out.push(Tok::Ellipsis);
                i += 3;
            }
            _ => {
                let start = i;
                while i < b.len() && !b" []()|".contains(&b[i]) && !spec[i..].starts_with("...") {
                    i += 1;
                }
                out.push(Tok::Word(&spec[start..i]));
            }
        }
    }
    out
}

/// Alternatives separated by `|`, each a sequence of arguments.
fn parse_alts(t: &[Tok], pos: &mut usize) -> Vec<Vec<Arg>> {
    let mut alts = vec![parse_seq(t, pos)];
    while t.get(*pos) == Some(&Tok::Bar) {
        *pos += 1;
        alts.push(parse_seq(t, pos));
    }
    alts
}

fn is_token(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_uppercase()) && !w.chars().any(|c| c.is_ascii_lowercase())
}

fn parse_seq(t: &[Tok], pos: &mut usize) -> Vec<Arg> {
    let mut seq: Vec<Arg> = Vec::new();
    while let Some(tok) = t.get(*pos) {
        let mut arg = match tok {
            Tok::Bar | Tok::Close(_) => break,
            Tok::Ellipsis => {
                *pos += 1;
                continue;
            }
            Tok::Open('[') => {
                *pos += 1;
                let alts = parse_alts(t, pos);
                *pos += 1; // ']'
                let mut a = group(None, alts);
                a.optional = true;
                a
            }
            Tok::Open(_) => {
                *pos += 1;
                let alts = parse_alts(t, pos);
                *pos += 1;
                group(None, alts)
            }
            Tok::Word(w) if t.get(*pos + 1) == Some(&Tok::Open('(')) => {
                *pos += 2;
                let alts = parse_alts(t, pos);
                *pos += 1;
                group(Some(w), alts)
            }
            Tok::Word(w) if is_token(w) => {
                *pos += 1;
                match t.get(*pos) {
                    // `TOKEN name`: an argument introduced by its token.
                    Some(Tok::Word(next)) if !is_token(next) && t.get(*pos + 1) != Some(&Tok::Open('(')) => {
                        *pos += 1;
                        let mut a = atom(next);
                        a.token = Some(w.to_string());
                        a
                    }
                    Some(Tok::Word(next)) if t.get(*pos + 1) == Some(&Tok::Open('(')) => {
                        *pos += 2;
                        let alts = parse_alts(t, pos);
                        *pos += 1;
                        let mut a = group(Some(next), alts);
                        a.token = Some(w.to_string());
                        a
                    }
                    _ => Arg {
                        name: w.to_ascii_lowercase(),
                        kind: "pure-token",
                        token: Some(w.to_string()),
                        optional: false,
                        multiple: false,
                        key_spec: None,
                        children: Vec::new(),
                    },
                }
            }
            Tok::Word(w) => {
                *pos += 1;
                atom(w)
            }
        };
        if t.get(*pos) == Some(&Tok::Ellipsis) {
            *pos += 1;
            arg.multiple = true;
        }
        seq.push(arg);
    }
    seq
}

fn atom(word: &str) -> Arg {
    let (word, key_spec) = match word.split_once('#') {
        Some((w, n)) => (w, n.parse().ok()),
        None => (word, None),
    };
    let (name, kind) = match word.split_once(':') {
        Some((n, "integer")) => (n, "integer"),
        Some((n, "double")) => (n, "double"),
        Some((n, "pattern")) => (n, "pattern"),
        Some((n, "unix-time")) => (n, "unix-time"),
        Some((n, "key")) => (n, "key"),
        Some((n, _)) => (n, "string"),
        None if word == "key" => (word, "key"),
        None => (word, "string"),
    };
    Arg { name: name.to_string(), kind, token: None, optional: false, multiple: false, key_spec, children: Vec::new() }
}

/// A bracketed or named group: one argument stays itself, alternatives make
/// a `oneof`, a sequence makes a `block`.
fn group(name: Option<&str>, mut alts: Vec<Vec<Arg>>) -> Arg {
    if alts.len() == 1 && alts[0].len() == 1 && name.is_none() {
        return alts.remove(0).remove(0);
    }
    let (kind, children) = if alts.len() > 1 {
        let children = alts
            .into_iter()
            .map(|mut seq| if seq.len() == 1 { seq.remove(0) } else { group(Some("block"), vec![seq]) })
            .collect();
        ("oneof", children)
    } else {
        ("block", alts.remove(0))
    };
    let name = name
        .map(str::to_string)
        .unwrap_or_else(|| children.iter().map(|c: &Arg| c.name.clone()).collect::<Vec<_>>().join("-"));
    Arg { name, kind, token: None, optional: false, multiple: false, key_spec: None, children }
}

/// Writes the `arguments` array of `COMMAND DOCS`, in Redis's field order,
/// for a command with `specs` key specs.
pub fn write(args: &[Arg], reply: &mut Reply, specs: usize) {
    write_args(args, reply, &mut 0, specs.max(1) as i64 - 1);
}

/// `keys` counts the key arguments written so far: a key argument names
/// its key spec, the n-th key argument the n-th spec, and the last spec
/// covers any further keys (BITOP: destination 0, sources 1; LCS's two
/// keys share spec 0), unless the argument gives its own (`#N`).
fn write_args(args: &[Arg], reply: &mut Reply, keys: &mut i64, last_spec: i64) {
    reply.array(args.len());
    for a in args {
        let flags = [(a.optional, "optional"), (a.multiple, "multiple")];
        let nflags = flags.iter().filter(|f| f.0).count();
        let key_spec = match a.key_spec {
            Some(n) => Some(n),
            None if a.kind == "key" => {
                *keys += 1;
                Some((*keys - 1).min(last_spec))
            }
            None => None,
        };
        // Redis 7.2 shows every argument but a group by its name.
        let display = !matches!(a.kind, "block" | "oneof");
        let fields = 2
            + display as usize
            + key_spec.is_some() as usize
            + a.token.is_some() as usize
            + (nflags > 0) as usize
            + (!a.children.is_empty()) as usize;
        reply.map(fields);
        reply.bulk(b"name");
        reply.bulk(a.name.as_bytes());
        reply.bulk(b"type");
        reply.bulk(a.kind.as_bytes());
        if display {
            reply.bulk(b"display_text");
            reply.bulk(a.name.as_bytes());
        }
        if let Some(n) = key_spec {
            reply.bulk(b"key_spec_index");
            reply.int(n);
        }
        if let Some(t) = &a.token {
            reply.bulk(b"token");
            reply.bulk(t.as_bytes());
        }
        if nflags > 0 {
            reply.bulk(b"flags");
            reply.set(nflags);
            for (_, f) in flags.iter().filter(|f| f.0) {
                reply.simple(f);
            }
        }
        if !a.children.is_empty() {
            reply.bulk(b"arguments");
            write_args(&a.children, reply, keys, last_spec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(args: &[Arg]) -> String {
        args.iter()
            .map(|a| {
                let mut s = format!("{}:{}", a.name, a.kind);
                if let Some(t) = &a.token {
                    s += &format!("@{}", t);
                }
                if a.optional {
                    s += "?";
                }
                if a.multiple {
                    s += "*";
                }
                if !a.children.is_empty() {
                    s += &format!("({})", shape(&a.children));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn set_matches_redis_tree() {
        assert_eq!(
            shape(&arguments("set").unwrap()),
            "key:key value:string condition:oneof?(nx:pure-token@NX xx:pure-token@XX) get:pure-token@GET? \
             expiration:oneof?(seconds:integer@EX milliseconds:integer@PX unix-time-seconds:unix-time@EXAT \
             unix-time-milliseconds:unix-time@PXAT keepttl:pure-token@KEEPTTL)"
        );
        assert_eq!(shape(&arguments("mset").unwrap()), "key_value:block*(key:key value:string)");
        assert_eq!(shape(&arguments("mget").unwrap()), "key:key*");
    }

    #[test]
    fn explicit_key_spec_indexes() {
        let args = parse("key [BY by-pattern:pattern#1] [STORE destination:key#2]");
        let specs: Vec<_> = args.iter().map(|a| (a.name.as_str(), a.kind, a.key_spec)).collect();
        assert_eq!(specs, [("key", "key", None), ("by-pattern", "pattern", Some(1)), ("destination", "key", Some(2))]);
    }

    #[test]
    fn every_spec_parses_and_names_a_command() {
        let registry = crate::cmd::registry();
        for (name, spec) in crate::cmd::family_args().flatten() {
            assert!(!parse(spec).is_empty(), "{}", name);
            assert!(registry.all().iter().any(|c| c.name == *name), "no command {}", name);
        }
    }
}
