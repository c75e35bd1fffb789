//! Pipelines across shards: 10,000 mixed commands in one write checked reply
//! by reply against a model, the same through `redis::pipe()`, multi-key
//! commands split across shards and merged, databases, and concurrent
//! pipelining clients on shared counters.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::thread;
use std::time::Duration;

use common::oracle::{connect, encode, keys_on_shard, read_frames, Esc, Pair, Rng};

/// A reply as the model predicts it.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Ok,
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Err(&'static str),
    Array(Vec<Reply>),
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const OVERFLOW: &str = "ERR increment or decrement would overflow";

impl Reply {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::Int(n) => out.extend_from_slice(format!(":{}\r\n", n).as_bytes()),
            Reply::Bulk(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Err(e) => out.extend_from_slice(format!("-{}\r\n", e).as_bytes()),
            Reply::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    i.encode(out);
                }
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    fn value(&self) -> redis::Value {
        match self {
            Reply::Ok => redis::Value::Okay,
            Reply::Nil => redis::Value::Nil,
            Reply::Int(n) => redis::Value::Int(*n),
            Reply::Bulk(b) => redis::Value::BulkString(b.clone()),
            Reply::Err(e) => panic!("the redis-crate pipelines have no errors, got {}", e),
            Reply::Array(items) => redis::Value::Array(items.iter().map(Reply::value).collect()),
        }
    }
}

/// Redis's string2ll, written independently of the server's.
fn parse_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

type Model = HashMap<Vec<u8>, Vec<u8>>;
type Cmd = Vec<Vec<u8>>;

/// Runs one command on the model and returns what Redis would answer.
fn apply(model: &mut Model, cmd: &Cmd) -> Reply {
    let name = std::str::from_utf8(&cmd[0]).unwrap().to_ascii_uppercase();
    let args = &cmd[1..];
    match name.as_str() {
        "SET" => {
            model.insert(args[0].clone(), args[1].clone());
            Reply::Ok
        }
        "GET" => model.get(&args[0]).map_or(Reply::Nil, |v| Reply::Bulk(v.clone())),
        "INCR" => {
            let current = match model.get(&args[0]) {
                None => 0,
                Some(v) => match parse_int(v) {
                    Some(n) => n,
                    None => return Reply::Err(NOT_INT),
                },
            };
            match current.checked_add(1) {
                Some(n) => {
                    model.insert(args[0].clone(), n.to_string().into_bytes());
                    Reply::Int(n)
                }
                None => Reply::Err(OVERFLOW),
            }
        }
        "DEL" => Reply::Int(args.iter().filter(|k| model.remove(*k).is_some()).count() as i64),
        "EXISTS" => Reply::Int(args.iter().filter(|k| model.contains_key(*k)).count() as i64),
        "MGET" => {
            Reply::Array(args.iter().map(|k| model.get(k).map_or(Reply::Nil, |v| Reply::Bulk(v.clone()))).collect())
        }
        "MSET" => {
            for pair in args.chunks(2) {
                model.insert(pair[0].clone(), pair[1].clone());
            }
            Reply::Ok
        }
        other => panic!("the model does not know {}", other),
    }
}

/// The keys a workload uses: some on each shard, and some never written.
struct Keys {
    written: Vec<Vec<u8>>,
    missing: Vec<Vec<u8>>,
}

impl Keys {
    fn new(prefix: &str) -> Keys {
        let on = |tag: &str, shard: usize, n: usize| -> Vec<Vec<u8>> {
            keys_on_shard(&format!("{}:{}", prefix, tag), shard, 2, n).into_iter().map(String::into_bytes).collect()
        };
        Keys {
            written: [on("a", 0, 6), on("b", 1, 6)].concat(),
            missing: [on("none-a", 0, 1), on("none-b", 1, 1)].concat(),
        }
    }

    fn any(&self, rng: &mut Rng) -> Vec<u8> {
        if rng.chance(10) {
            rng.pick(&self.missing).clone()
        } else {
            rng.pick(&self.written).clone()
        }
    }

    fn all(&self) -> Vec<Vec<u8>> {
        [self.written.clone(), self.missing.clone()].concat()
    }
}

fn value(rng: &mut Rng) -> Vec<u8> {
    const FIXED: &[&str] = &[
        "0",
        "1",
        "-1",
        "41",
        "9223372036854775806",
        "-9223372036854775808",
        "007",
        "-0",
        "+1",
        "3.5",
        " 1",
        "abc",
        "",
        "x y",
    ];
    match rng.below(4) {
        0 => rng.pick(FIXED).as_bytes().to_vec(),
        1 => (rng.next_u64() as i64 >> rng.below(60)).to_string().into_bytes(),
        2 => (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect(),
        _ => format!("value-{}", rng.below(1000)).into_bytes(),
    }
}

/// `n` random commands and the replies the model predicts, applied in
/// order. Without `errors`, an INCR that would fail becomes a GET.
fn workload(rng: &mut Rng, keys: &Keys, n: usize, errors: bool, model: &mut Model) -> Vec<(Cmd, Reply)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let cmd: Cmd = match rng.below(100) {
            0..=24 => vec![b"SET".to_vec(), rng.pick(&keys.written).clone(), value(rng)],
            25..=44 => vec![b"GET".to_vec(), keys.any(rng)],
            45..=59 => {
                let key = keys.any(rng);
                let ok = model.get(&key).is_none_or(|v| parse_int(v).is_some_and(|n| n < i64::MAX));
                if ok || errors {
                    vec![b"INCR".to_vec(), key]
                } else {
                    vec![b"GET".to_vec(), key]
                }
            }
            60..=67 => {
                let mut c = vec![b"DEL".to_vec()];
                c.extend((0..1 + rng.below(5)).map(|_| keys.any(rng)));
                c
            }
            68..=75 => {
                let mut c = vec![b"EXISTS".to_vec()];
                c.extend((0..1 + rng.below(6)).map(|_| keys.any(rng)));
                c
            }
            76..=87 => {
                let mut c = vec![b"MGET".to_vec()];
                c.extend((0..1 + rng.below(8)).map(|_| keys.any(rng)));
                c
            }
            _ => {
                let mut c = vec![b"MSET".to_vec()];
                for _ in 0..1 + rng.below(4) {
                    c.push(rng.pick(&keys.written).clone());
                    c.push(value(rng));
                }
                c
            }
        };
        let reply = apply(model, &cmd);
        out.push((cmd, reply));
    }
    out
}

fn resp_of(cmd: &Cmd) -> Vec<u8> {
    let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
    common::resp(&args)
}

/// Writes every command in one `write_all` (from another thread, so that the
/// server is never stuck writing replies nobody reads) and checks every
/// reply in order.
fn run_raw(port: u16, who: &str, work: &[(Cmd, Reply)]) {
    let mut bytes = Vec::new();
    for (cmd, _) in work {
        bytes.extend(resp_of(cmd));
    }
    let mut s = connect(port);
    let mut writer = s.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(&bytes).unwrap());
    let replies = read_frames(&mut s, work.len());
    sender.join().unwrap();
    for (i, ((cmd, want), got)) in work.iter().zip(&replies).enumerate() {
        assert_eq!(
            Esc(got.clone()),
            Esc(want.bytes()),
            "{}: reply {} of {} to {:?}",
            who,
            i,
            work.len(),
            cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn ten_thousand_mixed_commands_in_one_write() {
    let p = Pair::start(&[]);
    let keys = Keys::new("raw");
    let mut rng = Rng::new(0xC0FFEE);
    let mut model = Model::new();
    let mut work = vec![(vec![b"FLUSHALL".to_vec()], Reply::Ok)];
    work.extend(workload(&mut rng, &keys, 10_000, true, &mut model));
    // The final state, read back.
    let mut mget = vec![b"MGET".to_vec()];
    mget.extend(keys.all());
    let want = apply(&mut model, &mget);
    work.push((mget, want));
    let kinds: HashMap<&[u8], usize> = work.iter().fold(HashMap::new(), |mut m, (c, _)| {
        *m.entry(c[0].as_slice()).or_default() += 1;
        m
    });
    eprintln!("mix: {:?}", kinds.iter().map(|(k, n)| (String::from_utf8_lossy(k), *n)).collect::<Vec<_>>());
    let errors = work.iter().filter(|(_, r)| matches!(r, Reply::Err(_))).count();
    assert!(errors > 10, "the workload should exercise INCR errors too ({})", errors);
    // redis-server first: it checks the model.
    if let Some(port) = p.redis_port() {
        run_raw(port, "redis-server", &work);
    }
    run_raw(p.shardis.port, "shardis", &work);
}

#[test]
fn ten_thousand_mixed_commands_with_redis_pipe() {
    let server = common::Server::start();
    let mut con = server.client();
    con.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let keys = Keys::new("crate");
    let mut rng = Rng::new(0xBADC0DE);
    let mut model = Model::new();
    let _: () = common::cmd(&mut con, &["FLUSHALL"]).unwrap();
    let mut total = 0;
    // 10 pipelines of 1,000: the crate writes a whole pipeline before it
    // reads, so one pipeline's replies must fit in the socket buffers.
    for round in 0..10 {
        let work = workload(&mut rng, &keys, 1_000, false, &mut model);
        let mut pipe = redis::pipe();
        for (cmd, _) in &work {
            let mut c = redis::cmd(std::str::from_utf8(&cmd[0]).unwrap());
            for a in &cmd[1..] {
                c.arg(a.as_slice());
            }
            pipe.add_command(c);
        }
        let got: Vec<redis::Value> = pipe.query(&mut con).unwrap();
        assert_eq!(got.len(), work.len());
        for (i, ((cmd, want), got)) in work.iter().zip(&got).enumerate() {
            assert_eq!(
                got,
                &want.value(),
                "round {} reply {} to {:?}",
                round,
                i,
                cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>()
            );
        }
        total += work.len();
    }
    assert_eq!(total, 10_000);
    for key in keys.all() {
        let got: Option<Vec<u8>> = redis::cmd("GET").arg(key.as_slice()).query(&mut con).unwrap();
        assert_eq!(got, model.get(&key).cloned(), "{}", String::from_utf8_lossy(&key));
    }
}

#[test]
fn multi_key_commands_across_shards() {
    let p = Pair::start(&[]);
    let a = keys_on_shard("mk:a", 0, 2, 2);
    let b = keys_on_shard("mk:b", 1, 2, 2);
    let na = keys_on_shard("mk:none-a", 0, 2, 1).remove(0);
    let nb = keys_on_shard("mk:none-b", 1, 2, 1).remove(0);
    let (a0, a1, b0, b1) = (a[0].as_str(), a[1].as_str(), b[0].as_str(), b[1].as_str());
    let (na, nb) = (na.as_str(), nb.as_str());
    let steps: Vec<(String, &str)> = vec![
        ("FLUSHALL".into(), "+OK\r\n"),
        (format!("MSET {a0} 1 {b0} 2 {a1} 3 {b1} 4"), "+OK\r\n"),
        // Order kept with keys interleaved across shards, duplicates, and
        // missing keys on both shards.
        (
            format!("MGET {b1} {a0} {na} {a0} {b0} {nb} {b1}"),
            "*7\r\n$1\r\n4\r\n$1\r\n1\r\n$-1\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n4\r\n",
        ),
        (format!("MGET {na} {nb}"), "*2\r\n$-1\r\n$-1\r\n"),
        (format!("MGET {b0}"), "*1\r\n$1\r\n2\r\n"),
        (format!("GET {a0}"), "$1\r\n1\r\n"),
        (format!("GET {b0}"), "$1\r\n2\r\n"),
        (format!("GET {a1}"), "$1\r\n3\r\n"),
        (format!("GET {b1}"), "$1\r\n4\r\n"),
        // EXISTS counts every argument naming a key, duplicates included.
        (format!("EXISTS {a0} {a0} {b0} {na} {b0} {nb}"), ":4\r\n"),
        (format!("EXISTS {na} {nb}"), ":0\r\n"),
        // DEL counts keys removed, each once.
        (format!("DEL {a0} {b0} {na} {a0} {b0}"), ":2\r\n"),
        (format!("EXISTS {a0} {b0} {a1} {b1}"), ":2\r\n"),
        ("DBSIZE".into(), ":2\r\n"),
        // The last value of a key wins, whichever shard it is on.
        (format!("MSET {a0} x {b0} y {a0} z"), "+OK\r\n"),
        (format!("MGET {a0} {b0}"), "*2\r\n$1\r\nz\r\n$1\r\ny\r\n"),
        ("DBSIZE".into(), ":4\r\n"),
        (format!("MSET {a0} 1 {b0}"), "-ERR wrong number of arguments for 'mset' command\r\n"),
        (format!("GET {a0}"), "$1\r\nz\r\n"),
        // Databases are separate on every shard.
        ("SELECT 1".into(), "+OK\r\n"),
        ("DBSIZE".into(), ":0\r\n"),
        (format!("MGET {a0} {b0}"), "*2\r\n$-1\r\n$-1\r\n"),
        (format!("MSET {a0} one {b0} one"), "+OK\r\n"),
        (format!("INCR {a1}"), ":1\r\n"),
        (format!("INCR {b1}"), ":1\r\n"),
        ("DBSIZE".into(), ":4\r\n"),
        ("SELECT 0".into(), "+OK\r\n"),
        (format!("MGET {a0} {b0} {a1} {b1}"), "*4\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\n3\r\n$1\r\n4\r\n"),
        // FLUSHDB clears the current database on every shard, only it.
        ("FLUSHDB".into(), "+OK\r\n"),
        ("DBSIZE".into(), ":0\r\n"),
        (format!("EXISTS {a0} {b0} {a1} {b1}"), ":0\r\n"),
        ("SELECT 1".into(), "+OK\r\n"),
        ("DBSIZE".into(), ":4\r\n"),
        (format!("MGET {a0} {b1}"), "*2\r\n$3\r\none\r\n$1\r\n1\r\n"),
        // FLUSHALL clears every database on every shard.
        ("SELECT 0".into(), "+OK\r\n"),
        (format!("MSET {a0} 1 {b0} 1"), "+OK\r\n"),
        ("FLUSHALL".into(), "+OK\r\n"),
        ("DBSIZE".into(), ":0\r\n"),
        ("SELECT 1".into(), "+OK\r\n"),
        ("DBSIZE".into(), ":0\r\n"),
        (format!("MGET {a0} {b0} {a1} {b1}"), "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"),
        ("SELECT 16".into(), "-ERR DB index is out of range\r\n"),
        ("SELECT 0".into(), "+OK\r\n"),
    ];
    let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), *r)).collect();
    p.session(&steps);

    // SELECT in the middle of a pipeline: each command runs in the database
    // selected before it, on every shard.
    let script = [
        ("SELECT 0".to_string(), "+OK\r\n"),
        (format!("MSET {a0} v0 {b0} v0"), "+OK\r\n"),
        ("SELECT 1".to_string(), "+OK\r\n"),
        (format!("MSET {a0} v1 {b0} v1"), "+OK\r\n"),
        (format!("MGET {a0} {b0}"), "*2\r\n$2\r\nv1\r\n$2\r\nv1\r\n"),
        ("SELECT 0".to_string(), "+OK\r\n"),
        (format!("MGET {b0} {a0}"), "*2\r\n$2\r\nv0\r\n$2\r\nv0\r\n"),
        ("SELECT 1".to_string(), "+OK\r\n"),
        (format!("DEL {a0} {b0}"), ":2\r\n"),
        ("DBSIZE".to_string(), ":0\r\n"),
        ("SELECT 0".to_string(), "+OK\r\n"),
        (format!("EXISTS {a0} {b0}"), ":2\r\n"),
        ("DBSIZE".to_string(), ":2\r\n"),
    ];
    let mut req = Vec::new();
    let mut want = Vec::new();
    for (c, r) in &script {
        req.extend(encode(&c.split(' ').collect::<Vec<_>>()));
        want.extend_from_slice(r.as_bytes());
    }
    p.session_raw(&[(req, want)]);

    // Many keys at once: 100 pairs set, 200 keys read back (every other one
    // missing), counted, deleted.
    let mut mset = vec!["MSET".to_string()];
    let mut mget = vec!["MGET".to_string()];
    let mut want_mget = "*200\r\n".to_string();
    for i in 0..100 {
        let (k, v) = (format!("many:{}", i), format!("v{}", i));
        mset.push(k.clone());
        mset.push(v.clone());
        mget.push(k.clone());
        mget.push(format!("many:none:{}", i));
        want_mget.push_str(&format!("${}\r\n{}\r\n$-1\r\n", v.len(), v));
    }
    let mut exists = mget.clone();
    exists[0] = "EXISTS".into();
    let mut del = mget.clone();
    del[0] = "DEL".into();
    let (mset, mget, exists, del) = (mset.join(" "), mget.join(" "), exists.join(" "), del.join(" "));
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        (&mset, "+OK\r\n"),
        ("DBSIZE", ":100\r\n"),
        (&mget, &want_mget),
        (&exists, ":100\r\n"),
        (&del, ":100\r\n"),
        ("DBSIZE", ":0\r\n"),
    ]);
}

/// Clients on several threads pipeline INCRs on counters on both shards:
/// every increment is counted once, and each client sees its counters grow.
#[test]
fn concurrent_pipelined_incr_clients() {
    const CLIENTS: usize = 4;
    const ROUNDS: usize = 25;
    const PER_PIPE: usize = 200;
    let server = common::Server::start();
    let counters: Vec<String> = [keys_on_shard("ctr:a", 0, 2, 3), keys_on_shard("ctr:b", 1, 2, 3)].concat();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let url = server.url();
            let counters = counters.clone();
            thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                con.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut rng = Rng::new(1000 + c as u64);
                let mut mine = vec![0i64; counters.len()];
                for _ in 0..ROUNDS {
                    let picks: Vec<usize> = (0..PER_PIPE).map(|_| rng.below(counters.len())).collect();
                    let mut pipe = redis::pipe();
                    for &i in &picks {
                        pipe.cmd("INCR").arg(&counters[i]);
                    }
                    let got: Vec<i64> = pipe.query(&mut con).unwrap();
                    let mut last = vec![0i64; counters.len()];
                    for (&i, &n) in picks.iter().zip(&got) {
                        assert!(n > last[i], "counter {} went from {} to {}", counters[i], last[i], n);
                        last[i] = n;
                        mine[i] += 1;
                    }
                }
                mine
            })
        })
        .collect();
    let mut totals = vec![0i64; counters.len()];
    for h in handles {
        for (t, n) in totals.iter_mut().zip(h.join().unwrap()) {
            *t += n;
        }
    }
    assert_eq!(totals.iter().sum::<i64>(), (CLIENTS * ROUNDS * PER_PIPE) as i64);
    let mut con = server.client();
    let args: Vec<&str> = std::iter::once("MGET").chain(counters.iter().map(String::as_str)).collect();
    let got: Vec<i64> = common::cmd(&mut con, &args).unwrap();
    assert_eq!(got, totals);
}
