//! COMMAND INFO as Redis 7.2 publishes it: every command's entry (arity,
//! flags, key positions, ACL categories, tips, key specs) byte for byte
//! against replies captured from redis-server 7.2.6, and the key-spec
//! shapes (a destination and its sources, `numkeys` counts, SORT's unknown
//! keys, tips) spelled out, in RESP2 and RESP3, also checked against the
//! installed redis-server where its 7.0 agrees with 7.2.

mod common;

use common::oracle::{connect, encode, frame_len, read_frames, send_lenient, split_frames, Esc, Pair};

/// `COMMAND INFO <name>` of every command of redis-server 7.2.6 that is not
/// a container (containers' subcommands are there on their own), RESP2,
/// one reply after the other.
const REDIS_7_2_6: &[u8] = include_bytes!("data/command_info_7.2.6.resp");

/// The command name of a captured `*1 *10 $n name …` reply.
fn name_of(reply: &[u8]) -> String {
    let head = "*1\r\n*10\r\n".len();
    let len_end = head + reply[head..].windows(2).position(|w| w == b"\r\n").unwrap();
    let len: usize = std::str::from_utf8(&reply[head + 1..len_end]).unwrap().parse().unwrap();
    String::from_utf8(reply[len_end + 2..len_end + 2 + len].to_vec()).unwrap()
}

#[test]
fn every_command_matches_redis_7_2() {
    let server = common::Server::start();
    let mut s = connect(server.port);
    let (mut checked, mut absent) = (0, Vec::new());
    for theirs in split_frames(REDIS_7_2_6) {
        let name = name_of(&theirs);
        send_lenient(&mut s, &encode(&["COMMAND", "INFO", &name]));
        let ours = read_frames(&mut s, 1).remove(0);
        if ours == b"*1\r\n$-1\r\n" {
            absent.push(name);
            continue;
        }
        let mut want = theirs;
        if name == "command|getkeys" || name == "command|getkeysandflags" {
            // Arity as in 7.0 (-4, not 7.2's -3): `COMMAND GETKEYS get`
            // stays the arity error the 7.0 oracle gives.
            let at = want.windows(5).position(|w| w == b":-3\r\n").unwrap();
            want[at + 2] = b'4';
        }
        assert_eq!(Esc(ours), Esc(want), "COMMAND INFO {name}");
        checked += 1;
    }
    // Most of shardis's commands are in the capture: a sweep that checks
    // nothing is a broken sweep.
    assert!(checked > 150, "only {checked} commands checked; absent: {absent:?}");
}

/// `COMMAND` lists each command with the same entry as `COMMAND INFO`.
#[test]
fn command_lists_the_same_entries() {
    let server = common::Server::start();
    let mut s = connect(server.port);
    send_lenient(&mut s, &encode(&["COMMAND"]));
    let all = read_frames(&mut s, 1).remove(0);
    for name in ["zunionstore", "sort", "smove", "get"] {
        send_lenient(&mut s, &encode(&["COMMAND", "INFO", name]));
        let entry = read_frames(&mut s, 1).remove(0);
        let entry = &entry["*1\r\n".len()..];
        assert_eq!(frame_len(entry), Some(entry.len()));
        assert!(all.windows(entry.len()).any(|w| w == entry), "COMMAND lacks {:?}", Esc::of(entry));
    }
}

/// A map entry `name => :n` of a key spec's `spec`.
fn int_field(name: &str, n: i64) -> String {
    format!("${}\r\n{}\r\n:{}\r\n", name.len(), name, n)
}

/// One key spec in RESP2: flags, then `begin_search` and `find_keys` as
/// `(type, fields)`; `notes` first when there are some.
fn spec(notes: Option<&str>, flags: &[&str], begin: (&str, &[(&str, i64)]), find: (&str, &[(&str, i64)])) -> String {
    let search = |(kind, fields): (&str, &[(&str, i64)])| {
        let body: String = fields.iter().map(|(n, v)| int_field(n, *v)).collect();
        format!("*4\r\n$4\r\ntype\r\n${}\r\n{}\r\n$4\r\nspec\r\n*{}\r\n{}", kind.len(), kind, 2 * fields.len(), body)
    };
    let notes = notes.map_or(String::new(), |n| format!("$5\r\nnotes\r\n${}\r\n{}\r\n", n.len(), n));
    let flags: String = flags.iter().map(|f| format!("+{}\r\n", f)).collect::<Vec<_>>().concat();
    let fields = if notes.is_empty() { 6 } else { 8 };
    format!(
        "*{}\r\n{}$5\r\nflags\r\n*{}\r\n{}$12\r\nbegin_search\r\n{}$9\r\nfind_keys\r\n{}",
        fields,
        notes,
        flags.matches("\r\n").count(),
        flags,
        search(begin),
        search(find)
    )
}

fn range(flags: &[&str], index: i64, lastkey: i64) -> String {
    spec(None, flags, ("index", &[("index", index)]), ("range", &[("lastkey", lastkey), ("keystep", 1), ("limit", 0)]))
}

fn keynum(flags: &[&str], index: i64) -> String {
    spec(None, flags, ("index", &[("index", index)]), ("keynum", &[("keynumidx", 0), ("firstkey", 1), ("keystep", 1)]))
}

/// The COMMAND INFO entry of a command without subcommands, RESP2.
fn entry(head: &str, specs: &[String]) -> String {
    format!("*1\r\n*10\r\n{}*0\r\n*{}\r\n{}*0\r\n", head, specs.len(), specs.concat())
}

/// Every shape of key spec shardis publishes, in Redis 7.2's bytes (which
/// redis-server 7.0 shares for these commands).
#[test]
fn key_spec_shapes() {
    let p = Pair::start(&[]);
    let (ow, ro, pop) = (&["OW", "update"][..], &["RO", "access"][..], &["RW", "access", "delete"][..]);
    let sort_patterns = "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from \
                         the content of the key we sort";
    let sort_store =
        "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the \
         argument array";
    let unknown = |flags, notes| spec(Some(notes), flags, ("unknown", &[]), ("unknown", &[]));
    p.session(&[
        // A destination, then sources counted by numkeys.
        (
            "COMMAND INFO zunionstore",
            &entry(
                "$11\r\nzunionstore\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n\
                 *3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n",
                &[range(ow, 1, 0), keynum(ro, 2)],
            ),
        ),
        // A destination, then every other argument.
        (
            "COMMAND INFO sunionstore",
            &entry(
                "$11\r\nsunionstore\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:1\r\n\
                 *3\r\n+@write\r\n+@set\r\n+@slow\r\n",
                &[range(ow, 1, 0), range(ro, 2, -1)],
            ),
        ),
        // A source and a destination with flags of their own.
        (
            "COMMAND INFO smove",
            &entry(
                "$5\r\nsmove\r\n:4\r\n*2\r\n+write\r\n+fast\r\n:1\r\n:2\r\n:1\r\n*3\r\n+@write\r\n+@set\r\n+@fast\r\n",
                &[range(pop, 1, 0), range(&["RW", "insert"], 2, 0)],
            ),
        ),
        // Keys counted after a timeout: the search begins at argument 2.
        (
            "COMMAND INFO blmpop",
            &entry(
                "$6\r\nblmpop\r\n:-5\r\n*3\r\n+write\r\n+blocking\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n\
                 *4\r\n+@write\r\n+@list\r\n+@slow\r\n+@blocking\r\n",
                &[keynum(pop, 2)],
            ),
        ),
        // Keys only parsing finds, with notes; they make SORT_RO movable.
        (
            "COMMAND INFO sort",
            &entry(
                "$4\r\nsort\r\n:-2\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n\
                 *6\r\n+@write\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n",
                &[range(ro, 1, 0), unknown(ro, sort_patterns), unknown(ow, sort_store)],
            ),
        ),
        (
            "COMMAND INFO sort_ro",
            &entry(
                "$7\r\nsort_ro\r\n:-2\r\n*2\r\n+readonly\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n\
                 *6\r\n+@read\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n",
                &[range(ro, 1, 0), unknown(ro, sort_patterns)],
            ),
        ),
        // Notes on a single range.
        (
            "COMMAND INFO set",
            &entry(
                "$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n",
                &[spec(
                    Some("RW and ACCESS due to the optional `GET` argument"),
                    &["RW", "access", "update", "variable_flags"],
                    ("index", &[("index", 1)]),
                    ("range", &[("lastkey", 0), ("keystep", 1), ("limit", 0)]),
                )],
            ),
        ),
        // The key flags GETKEYSANDFLAGS gives come from the same specs.
        (
            "COMMAND GETKEYSANDFLAGS ZUNIONSTORE d 2 a b WEIGHTS 1 2",
            "*3\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n\
             *2\r\n$1\r\nb\r\n*2\r\n+RO\r\n+access\r\n",
        ),
        (
            "COMMAND GETKEYSANDFLAGS BLMPOP 0 2 a b LEFT",
            "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n",
        ),
        (
            "COMMAND GETKEYSANDFLAGS SMOVE a b m",
            "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n",
        ),
        (
            "COMMAND GETKEYSANDFLAGS SORT k BY w_* STORE d",
            "*2\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n",
        ),
        // SET reads its key only with GET.
        ("COMMAND GETKEYSANDFLAGS SET k v GET", "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS SET k v EX 1", "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+OW\r\n+update\r\n"),
    ]);
}

/// RESP3: flags, categories, tips and key specs are sets, each key spec a
/// map, and no subcommands an empty set.
#[test]
fn resp3_layout_and_tips() {
    let p = Pair::start(&[]);
    p.session_resp3(&[
        (
            "COMMAND INFO keys",
            "*1\r\n*10\r\n$4\r\nkeys\r\n:2\r\n~1\r\n+readonly\r\n:0\r\n:0\r\n:0\r\n\
             ~4\r\n+@keyspace\r\n+@read\r\n+@slow\r\n+@dangerous\r\n\
             ~2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nnondeterministic_output_order\r\n~0\r\n~0\r\n",
        ),
        (
            "COMMAND INFO blmpop",
            "*1\r\n*10\r\n$6\r\nblmpop\r\n:-5\r\n~3\r\n+write\r\n+blocking\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n\
             ~4\r\n+@write\r\n+@list\r\n+@slow\r\n+@blocking\r\n~0\r\n\
             ~1\r\n%3\r\n$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+delete\r\n\
             $12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:2\r\n\
             $9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n\
             %3\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n~0\r\n",
        ),
    ]);
}

/// COMMAND DOCS as Redis 7.2 has it (7.0 differs: no `display_text`):
/// deprecation, history, and the key spec each key argument belongs to.
#[test]
fn docs_history_deprecation_and_key_specs() {
    let server = common::Server::start();
    let mut s = connect(server.port);
    let key = "*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$12\r\ndisplay_text\r\n$3\r\nkey\r\n\
               $14\r\nkey_spec_index\r\n:0\r\n";
    let cases = [
        (
            "getset",
            format!(
                "*2\r\n$6\r\ngetset\r\n*16\r\n$7\r\nsummary\r\n$75\r\nReturns the previous string value of a key after \
                 setting it to a new value.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n\
                 $10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n\
                 $5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$30\r\n`SET` with the `!GET` argument\r\n$9\r\narguments\r\n*2\r\n\
                 {key}*6\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n$12\r\ndisplay_text\r\n$5\r\nvalue\r\n"
            ),
        ),
        (
            "renamenx",
            format!(
                "*2\r\n$8\r\nrenamenx\r\n*12\r\n$7\r\nsummary\r\n$58\r\nRenames a key only when the target key name \
                 doesn't exist.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n\
                 $4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n3.2.0\r\n$86\r\nThe command no longer returns an error \
                 when source and destination names are the same.\r\n$9\r\narguments\r\n*2\r\n{key}*8\r\n$4\r\nname\r\n\
                 $6\r\nnewkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$12\r\ndisplay_text\r\n$6\r\nnewkey\r\n\
                 $14\r\nkey_spec_index\r\n:1\r\n"
            ),
        ),
        (
            "lpush",
            format!(
                "*2\r\n$5\r\nlpush\r\n*12\r\n$7\r\nsummary\r\n$77\r\nPrepends one or more elements to a list. Creates \
                 the key if it doesn't exist.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n\
                 $10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command \
                 is called with multiple arguments.\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n2.4.0\r\n$37\r\nAccepts \
                 multiple `element` arguments.\r\n$9\r\narguments\r\n*2\r\n{key}*8\r\n$4\r\nname\r\n$7\r\nelement\r\n\
                 $4\r\ntype\r\n$6\r\nstring\r\n$12\r\ndisplay_text\r\n$7\r\nelement\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n"
            ),
        ),
    ];
    for (name, want) in cases {
        send_lenient(&mut s, &encode(&["COMMAND", "DOCS", name]));
        assert_eq!(Esc(read_frames(&mut s, 1).remove(0)), Esc::of(want.as_bytes()), "COMMAND DOCS {name}");
    }
}
