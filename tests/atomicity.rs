//! Atomicity under concurrency, with real clients on keys spread over both
//! shards. In Redis every command and every MULTI/EXEC transaction runs
//! alone, so invariants that each of them keeps (a sum of balances, a set of
//! tokens each in exactly one place, keys only ever written together) hold on
//! every read, however many clients change the data meanwhile. Here writer
//! threads change the data while a checker thread reads it, in one command
//! or one transaction, and fails on the first read that breaks the
//! invariant; plus optimistic WATCH loops, RENAME between shards, and clients
//! that leave in the middle of a transaction.
//!
//! Each scenario is a function of the port it talks to, and `scenarios!`
//! makes two tests of each: `<scenario>::shardis`, on a fresh shardis with two
//! shards, and the ignored `<scenario>::redis_server`, the same against
//! redis-server, which shows the scenario itself is sound:
//! `cargo test --release --test atomicity -- --ignored`.
//!
//! Every run is bounded by operation counts, never by time.

mod common;

use std::collections::HashSet;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use common::oracle::{self, keys_on_shard, Rng};
use redis::{Connection, FromRedisValue, Value};

/// `<scenario>::shardis` and the ignored `<scenario>::redis_server` for each
/// scenario function.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn shardis() {
                let server = crate::common::Server::start();
                super::$scenario(server.port);
            }

            #[test]
            #[ignore = "the oracle run: shows the scenario holds on redis-server"]
            fn redis_server() {
                let server = crate::common::oracle::RedisServer::start(&[]).expect("redis-server is not installed");
                super::$scenario(server.port);
            }
        }
    )*};
}

scenarios!(
    transfers_with_multi_exec,
    smove_tokens_between_shards,
    store_commands_read_one_point,
    lmove_elements_between_shards,
    mset_and_del_all_or_nothing,
    watch_one_counter,
    watch_two_counters_on_two_shards,
    rename_between_shards,
    abandoned_transactions,
    exec_then_vanish,
);

// ---------------------------------------------------------------------------
// Scenarios

/// Balances move between accounts on both shards in MULTI/EXEC transactions
/// (DECRBY one, INCRBY another); every MGET of all accounts and every
/// transaction of GETs sees the same total, and each account ends at exactly
/// its start plus what the writers moved in and out.
fn transfers_with_multi_exec(port: u16) {
    const WRITERS: usize = 4;
    const TRANSFERS: usize = 500;
    const PER_SHARD: usize = 4;
    const START: i64 = 1000;
    let accounts = keys_on_both_shards("acct:", PER_SHARD);
    let total = START * accounts.len() as i64;
    let mut con = connect(port);
    for account in &accounts {
        assert_eq!(call::<Value>(&mut con, &args(&["SET", account, &START.to_string()])), Value::Okay);
    }

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let accounts = &accounts;
            move || {
                let mut con = connect(port);
                let mut rng = Rng::new(1 + w as u64);
                let mut moved = vec![0i64; accounts.len()];
                for i in 0..TRANSFERS {
                    let from = rng.below(accounts.len());
                    // Mostly across shards, sometimes within one.
                    let to = if rng.chance(85) {
                        on_other_shard(&mut rng, from, PER_SHARD)
                    } else {
                        other_on_same_shard(&mut rng, from, PER_SHARD)
                    };
                    let amount = 1 + rng.below(10) as i64;
                    let amount_text = amount.to_string();
                    let cmds = [
                        args(&["DECRBY", &accounts[from], &amount_text]),
                        args(&["INCRBY", &accounts[to], &amount_text]),
                    ];
                    let replies = exec(&mut con, &cmds, Style::nth(i));
                    assert!(
                        replies.iter().all(|r| matches!(r, Value::Int(_))),
                        "EXEC of a transfer answered {replies:?}, expected two integers"
                    );
                    moved[from] -= amount;
                    moved[to] += amount;
                }
                moved
            }
        })
        .collect();

    let gets: Vec<Args> = accounts.iter().map(|a| args(&["GET", a])).collect();
    let mget = command("MGET", &accounts);
    let mut checker = connect(port);
    let check = |i: usize| -> Result<(), String> {
        let (how, reply) = if i.is_multiple_of(2) {
            ("MGET", call::<Value>(&mut checker, &mget))
        } else {
            ("MULTI/GET…/EXEC", Value::Array(exec(&mut checker, &gets, Style::nth(i / 2))))
        };
        let balances: Vec<i64> = parse(reply)?;
        let sum: i64 = balances.iter().sum();
        if sum == total {
            Ok(())
        } else {
            Err(format!("read {i} ({how}) saw balances {balances:?} summing to {sum}, expected {total}"))
        }
    };
    let (moves, checks) = race(writers, check);
    eprintln!("{checks} reads while the transfers ran");

    let expected: Vec<i64> =
        (0..accounts.len()).map(|a| START + moves.iter().map(|moved| moved[a]).sum::<i64>()).collect();
    let balances: Vec<i64> = call(&mut con, &mget);
    assert_eq!(balances, expected, "final balances (start {START} plus every transfer in and out)");
    assert_eq!(balances.iter().sum::<i64>(), total);
}

/// Tokens (unique members) move by SMOVE between sets on different shards;
/// each writer moves only its own tokens, so every SMOVE must move one.
/// A transaction of SCARDs always counts all tokens, and one of SMEMBERS
/// always holds each token exactly once.
fn smove_tokens_between_shards(port: u16) {
    const WRITERS: usize = 4;
    const MOVES: usize = 500;
    const PER_SHARD: usize = 2;
    const TOKENS: usize = 64;
    let sets = keys_on_both_shards("tokens:", PER_SHARD);
    let tokens: Vec<String> = (0..TOKENS).map(|t| format!("tok:{t}")).collect();
    let mut con = connect(port);
    deal_tokens(&mut con, &sets, &tokens);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (sets, tokens) = (&sets, &tokens);
            move || move_own_tokens(port, sets, tokens, (w, WRITERS), MOVES, 100 + w as u64)
        })
        .collect();

    let scards: Vec<Args> = sets.iter().map(|s| args(&["SCARD", s])).collect();
    let smembers: Vec<Args> = sets.iter().map(|s| args(&["SMEMBERS", s])).collect();
    let mut checker = connect(port);
    let check = move |i: usize| -> Result<(), String> {
        if i.is_multiple_of(2) {
            let sizes: Vec<usize> = parse(Value::Array(exec(&mut checker, &scards, Style::nth(i / 2))))?;
            let sum: usize = sizes.iter().sum();
            if sum != TOKENS {
                return Err(format!("read {i}: SCARDs in one transaction {sizes:?} sum to {sum}, expected {TOKENS}"));
            }
        } else {
            let members: Vec<Vec<String>> = parse(Value::Array(exec(&mut checker, &smembers, Style::nth(i / 2))))?;
            each_exactly_once(&members, TOKENS, "tok:").map_err(|e| format!("read {i}: SMEMBERS {e}"))?;
        }
        Ok(())
    };
    let (places, checks) = race(writers, check);
    eprintln!("{checks} reads while the tokens moved");

    for (s, set) in sets.iter().enumerate() {
        let mut expected: Vec<&str> =
            places.iter().flatten().filter(|(_, at)| *at == s).map(|(t, _)| tokens[*t].as_str()).collect();
        expected.sort_unstable();
        let mut members: Vec<String> = call(&mut con, &args(&["SMEMBERS", set]));
        members.sort_unstable();
        assert_eq!(members, expected, "final members of {set}");
    }
}

/// Tokens move by SMOVE between sets on both shards while a checker
/// combines all the sets in one command — SUNIONSTORE (into a key on either
/// shard), SUNION, ZUNIONSTORE (sets count as sorted sets of score 1) — and
/// each must see every token exactly once, as from one point in time.
fn store_commands_read_one_point(port: u16) {
    const WRITERS: usize = 2;
    const MOVES: usize = 400;
    const PER_SHARD: usize = 2;
    const TOKENS: usize = 32;
    let sets = keys_on_both_shards("pool:", PER_SHARD);
    let dests = keys_on_both_shards("union:", 1);
    let tokens: Vec<String> = (0..TOKENS).map(|t| format!("tok:{t}")).collect();
    deal_tokens(&mut connect(port), &sets, &tokens);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (sets, tokens) = (&sets, &tokens);
            move || move_own_tokens(port, sets, tokens, (w, WRITERS), MOVES, 300 + w as u64)
        })
        .collect();

    let mut checker = connect(port);
    let pools = sets.clone();
    let check = move |i: usize| -> Result<(), String> {
        let (dest, sets) = (&dests[i % dests.len()], &pools);
        match i % 3 {
            0 => {
                let stored: usize =
                    parse(try_call(&mut checker, &[args(&["SUNIONSTORE", dest]), sets.clone()].concat())?)?;
                if stored != TOKENS {
                    return Err(format!("read {i}: SUNIONSTORE {dest} stored {stored} tokens, expected {TOKENS}"));
                }
            }
            1 => {
                let union: Vec<String> = parse(try_call(&mut checker, &command("SUNION", sets))?)?;
                each_exactly_once(&[union], TOKENS, "tok:").map_err(|e| format!("read {i}: SUNION {e}"))?;
            }
            _ => {
                let numkeys = sets.len().to_string();
                let zunion = [args(&["ZUNIONSTORE", dest, &numkeys]), sets.clone()].concat();
                let stored: usize = parse(try_call(&mut checker, &zunion)?)?;
                if stored != TOKENS {
                    return Err(format!("read {i}: ZUNIONSTORE {dest} stored {stored} members, expected {TOKENS}"));
                }
            }
        }
        Ok(())
    };
    let (_, checks) = race(writers, check);
    eprintln!("{checks} combined reads while the tokens moved");
}

/// Elements move by LMOVE (any ends) between lists on different shards; a
/// transaction of LLENs always counts all elements, and one of LRANGEs
/// always holds each element exactly once.
fn lmove_elements_between_shards(port: u16) {
    const WRITERS: usize = 4;
    const MOVES: usize = 500;
    const PER_SHARD: usize = 2;
    const ELEMENTS: usize = 64;
    let lists = keys_on_both_shards("list:", PER_SHARD);
    let elements: Vec<String> = (0..ELEMENTS).map(|e| format!("el:{e}")).collect();
    let mut con = connect(port);
    for (l, list) in lists.iter().enumerate() {
        let items: Vec<String> = elements.iter().skip(l).step_by(lists.len()).cloned().collect();
        let len: usize = call(&mut con, &[args(&["RPUSH", list]), items].concat());
        assert_eq!(len, ELEMENTS / lists.len());
    }

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (lists, elements) = (&lists, &elements);
            move || {
                let mut con = connect(port);
                let mut rng = Rng::new(200 + w as u64);
                let mut moved = 0;
                for _ in 0..MOVES {
                    let from = rng.below(lists.len());
                    let to = on_other_shard(&mut rng, from, PER_SHARD);
                    let (wherefrom, whereto) = (*rng.pick(&["LEFT", "RIGHT"]), *rng.pick(&["LEFT", "RIGHT"]));
                    let lmove = args(&["LMOVE", &lists[from], &lists[to], wherefrom, whereto]);
                    // Nil when the source list is empty just now.
                    if let Some(element) = call::<Option<String>>(&mut con, &lmove) {
                        assert!(elements.contains(&element), "{} answered {element:?}", lmove.join(" "));
                        moved += 1;
                    }
                }
                moved
            }
        })
        .collect();

    let llens: Vec<Args> = lists.iter().map(|l| args(&["LLEN", l])).collect();
    let lranges: Vec<Args> = lists.iter().map(|l| args(&["LRANGE", l, "0", "-1"])).collect();
    let mut checker = connect(port);
    let check = move |i: usize| -> Result<(), String> {
        if i.is_multiple_of(2) {
            let lens: Vec<usize> = parse(Value::Array(exec(&mut checker, &llens, Style::nth(i / 2))))?;
            let sum: usize = lens.iter().sum();
            if sum != ELEMENTS {
                return Err(format!("read {i}: LLENs in one transaction {lens:?} sum to {sum}, expected {ELEMENTS}"));
            }
        } else {
            let items: Vec<Vec<String>> = parse(Value::Array(exec(&mut checker, &lranges, Style::nth(i / 2))))?;
            each_exactly_once(&items, ELEMENTS, "el:").map_err(|e| format!("read {i}: LRANGEs {e}"))?;
        }
        Ok(())
    };
    let (moved, checks) = race(writers, check);
    eprintln!("{checks} reads while {} elements moved", moved.iter().sum::<usize>());

    let items: Vec<Vec<String>> = lists.iter().map(|l| call(&mut con, &args(&["LRANGE", l, "0", "-1"]))).collect();
    each_exactly_once(&items, ELEMENTS, "el:").unwrap_or_else(|e| panic!("final LRANGEs: {e}"));
}

/// A group of keys on both shards is only ever written whole (MSET of all)
/// or deleted whole (DEL of all): every read (MGET, a transaction of GETs,
/// EXISTS) sees all of them with one value some writer wrote, or none; and
/// every DEL deletes all or nothing.
fn mset_and_del_all_or_nothing(port: u16) {
    const WRITERS: usize = 4;
    const OPS: usize = 500;
    const PER_SHARD: usize = 3;
    let keys = keys_on_both_shards("group:", PER_SHARD);
    let is_mset = |i: usize| i % 4 != 1;
    let written: HashSet<String> =
        (0..WRITERS).flat_map(|w| (0..OPS).filter(move |&i| is_mset(i)).map(move |i| format!("w{w}:{i}"))).collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let keys = &keys;
            move || {
                let mut con = connect(port);
                for i in 0..OPS {
                    if is_mset(i) {
                        let value = format!("w{w}:{i}");
                        let mset: Args = std::iter::once("MSET".to_string())
                            .chain(keys.iter().flat_map(|k| [k.clone(), value.clone()]))
                            .collect();
                        assert_eq!(call::<Value>(&mut con, &mset), Value::Okay);
                    } else {
                        let deleted: usize = call(&mut con, &command("DEL", keys));
                        assert!(
                            deleted == 0 || deleted == keys.len(),
                            "DEL of the {} keys deleted {deleted}, expected 0 or {}",
                            keys.len(),
                            keys.len()
                        );
                    }
                }
            }
        })
        .collect();

    let mut checker = connect(port);
    let check = |i: usize| group_is_whole(&mut checker, &keys, i, |v| written.contains(v));
    let (_, checks) = race(writers, check);
    eprintln!("{checks} reads while the group was written and deleted");

    let mut con = connect(port);
    for i in 0..3 {
        group_is_whole(&mut con, &keys, i, |v| written.contains(v)).unwrap_or_else(|e| panic!("final state: {e}"));
    }
}

/// Optimistic increments of one counter: WATCH, GET, MULTI, SET, EXEC, again
/// while EXEC answers null.
fn watch_one_counter(port: u16) {
    watched_increments(port, &keys_on_shard("counter:", 0, 2, 1));
}

/// The same with two counters on different shards, both WATCHed, read
/// together (MGET) and written together (SET one, INCR the other).
fn watch_two_counters_on_two_shards(port: u16) {
    watched_increments(port, &keys_on_both_shards("pair:", 1));
}

/// THREADS clients each make INCREMENTS successful optimistic increments of
/// `keys`: every value 1..=THREADS*INCREMENTS is written by exactly one
/// successful EXEC, the counters end at exactly THREADS*INCREMENTS, and a
/// checker reading them together always sees them equal.
fn watched_increments(port: u16, keys: &[String]) {
    const THREADS: usize = 4;
    const INCREMENTS: usize = 200;
    // A bound on attempts (aborted EXECs included), so a livelock fails.
    const MAX_ATTEMPTS: usize = 100 * INCREMENTS;
    let watch = command("WATCH", keys);

    let writers: Vec<_> = (0..THREADS)
        .map(|_| {
            let watch = &watch;
            move || {
                let mut con = connect(port);
                let mut won = Vec::with_capacity(INCREMENTS);
                let mut aborted = 0;
                for attempt in 0.. {
                    if won.len() == INCREMENTS {
                        break;
                    }
                    assert!(attempt < MAX_ATTEMPTS, "{attempt} attempts for {} increments", won.len());
                    assert_eq!(call::<Value>(&mut con, watch), Value::Okay, "{}", watch.join(" "));
                    let next = read_counters(&mut con, keys).unwrap_or_else(|e| panic!("{e}")) + 1;
                    let next_text = next.to_string();
                    let mut cmds = vec![args(&["SET", &keys[0], &next_text])];
                    let mut expected = vec![Value::Okay];
                    for key in &keys[1..] {
                        cmds.push(args(&["INCR", key]));
                        expected.push(Value::Int(next));
                    }
                    match transaction(&mut con, &cmds, Style::nth(attempt)) {
                        None => aborted += 1,
                        Some(replies) => {
                            assert_eq!(replies, expected, "EXEC setting the counters to {next}");
                            won.push(next);
                        }
                    }
                }
                (won, aborted)
            }
        })
        .collect();

    let mut checker = connect(port);
    let check = move |i: usize| read_counters(&mut checker, keys).map(|_| ()).map_err(|e| format!("read {i}: {e}"));
    let (results, checks) = race(writers, check);
    let aborted: usize = results.iter().map(|(_, aborted)| aborted).sum();
    eprintln!("{checks} reads while the counters rose; {aborted} EXECs aborted by WATCH");

    let total = (THREADS * INCREMENTS) as i64;
    let mut won: Vec<i64> = results.into_iter().flat_map(|(won, _)| won).collect();
    won.sort_unstable();
    assert_eq!(won, (1..=total).collect::<Vec<_>>(), "each value set by exactly one successful EXEC");
    let mut con = connect(port);
    assert_eq!(call::<Vec<i64>>(&mut con, &command("MGET", keys)), vec![total; keys.len()]);
}

/// A key bounces between two names on different shards, RENAME a b on one
/// client and RENAME b a on another (one of them fails with "no such key"
/// whenever the other just moved it): every read sees exactly one of the two
/// names, holding the value, and it ends under the name the count of
/// successful renames says.
fn rename_between_shards(port: u16) {
    const RENAMES: usize = 1000;
    const VALUE: &str = "payload";
    let (a, b) = (&keys_on_shard("bounce:", 0, 2, 1)[0], &keys_on_shard("bounce:", 1, 2, 1)[0]);
    let mut con = connect(port);
    assert_eq!(call::<Value>(&mut con, &args(&["SET", a, VALUE])), Value::Okay);

    let writers: Vec<_> = [(a, b), (b, a)]
        .into_iter()
        .map(|(from, to)| {
            move || {
                let mut con = connect(port);
                let rename = args(&["RENAME", from, to]);
                let mut moved = 0usize;
                for _ in 0..RENAMES {
                    match try_call(&mut con, &rename) {
                        Ok(reply) => {
                            assert_eq!(reply, Value::Okay, "{}", rename.join(" "));
                            moved += 1;
                        }
                        Err(e) => assert_eq!(e, "ERR no such key", "{}", rename.join(" ")),
                    }
                }
                moved
            }
        })
        .collect();

    let exists = args(&["EXISTS", a, b]);
    let each_exists = [args(&["EXISTS", a]), args(&["EXISTS", b])];
    let mget = args(&["MGET", a, b]);
    let mut checker = connect(port);
    let check = move |i: usize| -> Result<(), String> {
        match i % 3 {
            0 => {
                let n: i64 = call(&mut checker, &exists);
                if n != 1 {
                    return Err(format!("read {i}: EXISTS {a} {b} answered {n}, expected 1"));
                }
            }
            1 => {
                let found: Vec<i64> = parse(Value::Array(exec(&mut checker, &each_exists, Style::nth(i / 3))))?;
                if found != [1, 0] && found != [0, 1] {
                    return Err(format!("read {i}: EXISTS {a}; EXISTS {b} in one transaction: {found:?}"));
                }
            }
            _ => {
                let values: Vec<Option<String>> = call(&mut checker, &mget);
                let one = Some(VALUE.to_string());
                if values != [one.clone(), None] && values != [None, one] {
                    return Err(format!("read {i}: MGET {a} {b} answered {values:?}, expected one {VALUE:?}"));
                }
            }
        }
        Ok(())
    };
    let (moved, checks) = race(writers, check);
    let (there, back) = (moved[0], moved[1]);
    eprintln!("{checks} reads while the key moved {there} times there and {back} back");

    // Each rename moves the key from where it is, so the moves alternate.
    let expected = match there.checked_sub(back) {
        Some(0) => vec![Some(VALUE.to_string()), None],
        Some(1) => vec![None, Some(VALUE.to_string())],
        _ => panic!("{there} renames {a} -> {b} and {back} back: they must alternate, starting at {a}"),
    };
    assert_eq!(call::<Vec<Option<String>>>(&mut con, &args(&["MGET", a, b])), expected);
}

/// Clients that send MULTI and commands (sometimes after WATCH, sometimes
/// without waiting for the replies) and then close the connection without
/// EXEC: none of their commands runs, and meanwhile another client's
/// transactions on the same keys go through.
fn abandoned_transactions(port: u16) {
    const ROUNDS: usize = 40;
    let xs = keys_on_shard("left:x", 0, 2, ROUNDS);
    let ys = keys_on_shard("left:y", 1, 2, ROUNDS);
    let (s0, s1) = (&keys_on_shard("sentinel:", 0, 2, 1)[0], &keys_on_shard("sentinel:", 1, 2, 1)[0]);
    let mut other = connect(port);
    for (r, (x, y)) in xs.iter().zip(&ys).enumerate() {
        let mut script = Vec::new();
        let mut replies = Vec::new();
        if r % 2 == 1 {
            script.push(format!("WATCH {x} {y} {s0} {s1}"));
            replies.push("+OK\r\n");
        }
        script.extend([
            "MULTI".to_string(),
            format!("SET {x} left"),
            format!("SET {y} left"),
            format!("DEL {s0} {s1}"),
        ]);
        replies.extend(["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n"]);
        let mut quitter = oracle::connect(port);
        oracle::send_lenient(&mut quitter, &oracle::encode_all(&script.iter().map(String::as_str).collect::<Vec<_>>()));
        if r % 4 < 2 {
            let got = oracle::read_frames(&mut quitter, replies.len());
            let want: Vec<Vec<u8>> = replies.iter().map(|r| r.as_bytes().to_vec()).collect();
            assert_eq!(got, want, "replies to {script:?}");
        }

        // While it holds a queued transaction: the same keys, in transactions.
        let round = r.to_string();
        let set = [args(&["SET", s0, &round]), args(&["SET", s1, &round])];
        assert_eq!(exec(&mut other, &set, Style::nth(r)), [Value::Okay, Value::Okay]);
        let touch = [args(&["INCR", x]), args(&["INCR", y]), args(&["DEL", x, y])];
        assert_eq!(exec(&mut other, &touch, Style::nth(r + 1)), [Value::Int(1), Value::Int(1), Value::Int(2)]);
        drop(quitter);

        let get = [args(&["GET", s0]), args(&["GET", s1])];
        let both = Value::BulkString(round.into_bytes());
        assert_eq!(exec(&mut other, &get, Style::nth(r)), [both.clone(), both]);
    }

    // A new client, after all of them left: nothing they queued ran.
    let mut con = connect(port);
    let mut all = xs.clone();
    all.extend(ys.iter().cloned());
    assert_eq!(call::<i64>(&mut con, &command("EXISTS", &all)), 0);
    let last = (ROUNDS - 1).to_string();
    assert_eq!(call::<Vec<String>>(&mut con, &args(&["MGET", s0, s1])), [last.clone(), last]);
}

/// Clients that send MULTI, a write of keys on both shards (one MSET, or a
/// SET per key) and EXEC in one packet and close the connection right away
/// (a third of them with a reset) leave all the keys or none: on every read
/// while they come and go (by the next client right after, and by a checker
/// all along), and afterwards.
fn exec_then_vanish(port: u16) {
    const ROUNDS: usize = 60;
    const PER_SHARD: usize = 2;
    let rounds: Vec<Vec<String>> =
        (0..ROUNDS).map(|r| keys_on_both_shards(&format!("vanish:{r}:"), PER_SHARD)).collect();
    let value = |r: usize| format!("round{r}");
    let current = AtomicUsize::new(0);

    let vanisher = || {
        let mut own = connect(port);
        for (r, keys) in rounds.iter().enumerate() {
            current.store(r, SeqCst);
            let writes: Vec<String> = if r % 2 == 0 {
                vec![format!("MSET {}", keys.iter().map(|k| format!("{k} {}", value(r))).collect::<Vec<_>>().join(" "))]
            } else {
                keys.iter().map(|k| format!("SET {k} {}", value(r))).collect()
            };
            let script: Vec<String> =
                std::iter::once("MULTI".to_string()).chain(writes).chain(["EXEC".to_string()]).collect();
            let mut client = oracle::connect(port);
            if r % 3 == 2 {
                reset_on_close(&client);
            }
            oracle::send_lenient(
                &mut client,
                &oracle::encode_all(&script.iter().map(String::as_str).collect::<Vec<_>>()),
            );
            drop(client);
            // Right away, while the server may still be taking in the
            // transaction or the close (and, with the round trips, long
            // enough for the checker to read meanwhile).
            let wanted = value(r);
            for i in 0..3 {
                group_is_whole(&mut own, keys, i, |v| v == wanted).unwrap_or_else(|e| panic!("round {r}: {e}"));
            }
        }
    };

    let mut checker = connect(port);
    let check = |i: usize| {
        let r = current.load(SeqCst);
        let wanted = value(r);
        group_is_whole(&mut checker, &rounds[r], i, |v| v == wanted)
    };
    let (_, checks) = race(vec![vanisher], check);

    let mut con = connect(port);
    let mut applied = 0;
    for (r, keys) in rounds.iter().enumerate() {
        let wanted = value(r);
        for i in 0..3 {
            group_is_whole(&mut con, keys, i, |v| v == wanted).unwrap_or_else(|e| panic!("round {r} afterwards: {e}"));
        }
        applied += usize::from(call::<usize>(&mut con, &command("EXISTS", keys)) == keys.len());
    }
    eprintln!("{checks} reads while clients vanished; {applied} of {ROUNDS} transactions applied");
}

// ---------------------------------------------------------------------------
// Helpers

/// A command as its arguments.
type Args = Vec<String>;

fn args(parts: &[&str]) -> Args {
    parts.iter().map(|p| p.to_string()).collect()
}

/// `name` followed by `keys`.
fn command(name: &str, keys: &[String]) -> Args {
    std::iter::once(name.to_string()).chain(keys.iter().cloned()).collect()
}

/// Token t goes into set t % sets (each set gets its share).
fn deal_tokens(con: &mut Connection, sets: &[String], tokens: &[String]) {
    for (s, set) in sets.iter().enumerate() {
        let members: Vec<String> = tokens.iter().skip(s).step_by(sets.len()).cloned().collect();
        let added: usize = call(con, &[args(&["SADD", set]), members].concat());
        assert_eq!(added, tokens.len() / sets.len());
    }
}

/// Writer `w` of `writers` moves its own tokens (t % writers == w) by
/// SMOVE, each time to a set on the other shard, so every SMOVE must move
/// one. Returns (token, the set it ended in) for its tokens.
fn move_own_tokens(
    port: u16,
    sets: &[String],
    tokens: &[String],
    (w, writers): (usize, usize),
    moves: usize,
    seed: u64,
) -> Vec<(usize, usize)> {
    let mut con = connect(port);
    let mut rng = Rng::new(seed);
    let per_shard = sets.len() / 2;
    let mut places: Vec<(usize, usize)> = (w..tokens.len()).step_by(writers).map(|t| (t, t % sets.len())).collect();
    for _ in 0..moves {
        let k = rng.below(places.len());
        let (token, from) = places[k];
        let to = on_other_shard(&mut rng, from, per_shard);
        let smove = args(&["SMOVE", &sets[from], &sets[to], &tokens[token]]);
        assert_eq!(call::<i64>(&mut con, &smove), 1, "{}: the token is in the source set", smove.join(" "));
        places[k].1 = to;
    }
    places
}

/// `per_shard` keys on shard 0, then `per_shard` on shard 1 (of 2).
fn keys_on_both_shards(prefix: &str, per_shard: usize) -> Vec<String> {
    [keys_on_shard(prefix, 0, 2, per_shard), keys_on_shard(prefix, 1, 2, per_shard)].concat()
}

/// A random index on the other shard than `from`, in a list laid out as
/// `keys_on_both_shards` makes it.
fn on_other_shard(rng: &mut Rng, from: usize, per_shard: usize) -> usize {
    let other_half = if from < per_shard { per_shard } else { 0 };
    other_half + rng.below(per_shard)
}

/// A random index other than `from` on the same shard.
fn other_on_same_shard(rng: &mut Rng, from: usize, per_shard: usize) -> usize {
    let half = from / per_shard * per_shard;
    half + (from - half + 1 + rng.below(per_shard - 1)) % per_shard
}

/// A connection whose reads and writes give up after 30 s, so a stuck
/// server fails the test instead of hanging it.
fn connect(port: u16) -> Connection {
    let con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("connecting to port {port}: {e}"));
    con.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    con.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    con
}

fn to_cmd(a: &Args) -> redis::Cmd {
    let mut cmd = redis::cmd(&a[0]);
    for arg in &a[1..] {
        cmd.arg(arg);
    }
    cmd
}

/// Runs a command and converts its reply; panics (naming the command) on an
/// error reply.
fn call<T: FromRedisValue>(con: &mut Connection, a: &Args) -> T {
    to_cmd(a).query(con).unwrap_or_else(|e| panic!("{}: {e}", a.join(" ")))
}

/// Runs a command; an error reply as its text ("ERR no such key").
fn try_call(con: &mut Connection, a: &Args) -> Result<Value, String> {
    to_cmd(a).query(con).map_err(|e| match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => format!("{}: {e}", a.join(" ")),
    })
}

/// A reply as T, or a violation message showing it.
fn parse<T: FromRedisValue>(reply: Value) -> Result<T, String> {
    redis::from_redis_value(&reply).map_err(|e| format!("unexpected reply {reply:?}: {e}"))
}

/// How a transaction travels: all in one write (as `redis::pipe().atomic()`
/// sends it), or one command per round trip, so that the server holds the
/// queued transaction between reads.
#[derive(Clone, Copy, Debug)]
enum Style {
    Pipelined,
    Stepwise,
}

impl Style {
    /// The two styles by turns.
    fn nth(i: usize) -> Style {
        if i.is_multiple_of(2) {
            Style::Pipelined
        } else {
            Style::Stepwise
        }
    }
}

/// Runs `cmds` between MULTI and EXEC: EXEC's replies, or None when it
/// answered null (a WATCHed key changed). Checks MULTI's +OK and each
/// +QUEUED when stepwise.
fn transaction(con: &mut Connection, cmds: &[Args], style: Style) -> Option<Vec<Value>> {
    let shown = || cmds.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join("; ");
    let reply = match style {
        Style::Pipelined => {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for c in cmds {
                pipe.add_command(to_cmd(c));
            }
            pipe.query::<Value>(con)
        }
        Style::Stepwise => {
            assert_eq!(call::<Value>(con, &args(&["MULTI"])), Value::Okay, "MULTI before {}", shown());
            for c in cmds {
                let queued = call::<Value>(con, c);
                assert_eq!(queued, Value::SimpleString("QUEUED".into()), "{} in MULTI", c.join(" "));
            }
            redis::cmd("EXEC").query::<Value>(con)
        }
    };
    match reply.unwrap_or_else(|e| panic!("MULTI; {}; EXEC ({style:?}): {e}", shown())) {
        Value::Nil => None,
        Value::Array(replies) if replies.len() == cmds.len() => Some(replies),
        other => panic!("EXEC of {} answered {other:?}, expected {} replies", shown(), cmds.len()),
    }
}

/// A transaction without WATCH, which EXEC always runs.
fn exec(con: &mut Connection, cmds: &[Args], style: Style) -> Vec<Value> {
    transaction(con, cmds, style).unwrap_or_else(|| panic!("EXEC answered null without WATCH"))
}

/// Runs each writer on its own thread while `check(i)` runs in a loop on
/// another, all started together, until every writer returned, then once
/// more. Returns the writers' results and the number of checks made while
/// they ran (at least one). Panics with the first failed check's message, or
/// with a writer's panic.
fn race<R: Send>(
    writers: Vec<impl FnOnce() -> R + Send>,
    mut check: impl FnMut(usize) -> Result<(), String> + Send,
) -> (Vec<R>, usize) {
    let done = AtomicBool::new(false);
    let start = Barrier::new(writers.len() + 1);
    let (done, start) = (&done, &start);
    thread::scope(|s| {
        let checker = s.spawn(move || -> Result<usize, String> {
            start.wait();
            let mut during = 0;
            while !done.load(SeqCst) {
                check(during)?;
                during += 1;
            }
            check(during)?;
            Ok(during)
        });
        let writers: Vec<_> = writers
            .into_iter()
            .map(|w| {
                s.spawn(move || {
                    start.wait();
                    w()
                })
            })
            .collect();
        let results: Vec<_> = writers.into_iter().map(|w| w.join()).collect();
        done.store(true, SeqCst);
        let checked = checker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let during = checked.unwrap_or_else(|violation| panic!("invariant broken: {violation}"));
        let results: Vec<R> =
            results.into_iter().map(|r| r.unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect();
        assert!(during >= 1, "the checker read {during} times while the writers ran, expected at least once");
        (results, during)
    })
}

/// Ok if `groups` together hold `prefix0` … `prefix{count-1}` each exactly
/// once.
fn each_exactly_once(groups: &[Vec<String>], count: usize, prefix: &str) -> Result<(), String> {
    let mut all: Vec<&String> = groups.iter().flatten().collect();
    all.sort_unstable();
    let mut expected: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
    expected.sort_unstable();
    if all.len() == count && all.iter().zip(&expected).all(|(a, b)| *a == b) {
        Ok(())
    } else {
        Err(format!("in one transaction: {groups:?}, expected each of {prefix}0..{prefix}{} exactly once", count - 1))
    }
}

/// The counters in `keys` (missing = 0), read together (one GET, or MGET);
/// Err unless they are equal, as they are only ever written together.
fn read_counters(con: &mut Connection, keys: &[String]) -> Result<i64, String> {
    let values: Vec<Option<i64>> =
        if keys.len() == 1 { vec![call(con, &args(&["GET", &keys[0]]))] } else { call(con, &command("MGET", keys)) };
    let values: Vec<i64> = values.into_iter().map(Option::unwrap_or_default).collect();
    match values.split_first() {
        Some((first, rest)) if rest.iter().all(|v| v == first) => Ok(*first),
        _ => Err(format!("counters {keys:?} read together as {values:?}, expected equal values")),
    }
}

/// Ok if `keys` all exist, all holding one value that `valid` accepts, or
/// none exists; read by EXISTS, MGET or a transaction of GETs as `i` turns.
fn group_is_whole(con: &mut Connection, keys: &[String], i: usize, valid: impl Fn(&str) -> bool) -> Result<(), String> {
    let (how, values): (&str, Vec<Option<String>>) = match i % 3 {
        0 => {
            let n: usize = call(con, &command("EXISTS", keys));
            return if n == 0 || n == keys.len() {
                Ok(())
            } else {
                Err(format!("read {i}: EXISTS of {} keys answered {n}, expected 0 or {}", keys.len(), keys.len()))
            };
        }
        1 => ("MGET", call(con, &command("MGET", keys))),
        _ => {
            let gets: Vec<Args> = keys.iter().map(|k| args(&["GET", k])).collect();
            ("MULTI/GET…/EXEC", parse(Value::Array(exec(con, &gets, Style::nth(i / 3))))?)
        }
    };
    let whole = match values.first() {
        Some(Some(v)) => valid(v) && values.iter().all(|x| x.as_deref() == Some(v.as_str())),
        _ => values.iter().all(Option::is_none),
    };
    if whole {
        Ok(())
    } else {
        Err(format!("read {i} ({how}) of {keys:?} saw {values:?}, expected all missing or all one written value"))
    }
}

/// Makes closing `stream` send a reset instead of a FIN (SO_LINGER 0): the
/// most abrupt way for a client to vanish.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket descriptor, and a linger struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_LINGER: {}", std::io::Error::last_os_error());
}
