//! SORT and SORT_RO, black-box against redis-server: numeric and ALPHA
//! order, DESC, LIMIT clamping, BY weights and GET values read from other
//! keys (which live on both shards), hash fields, STORE across shards.

mod common;

use common::oracle::{keys_on_shard, Pair};

/// A RESP2 array of bulks (None = null bulk).
fn arr(items: &[Option<&str>]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        match i {
            Some(v) => s.push_str(&format!("${}\r\n{}\r\n", v.len(), v)),
            None => s.push_str("$-1\r\n"),
        }
    }
    s
}

fn strs(items: &[&str]) -> String {
    arr(&items.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";

#[test]
fn numeric_alpha_desc_and_limit() {
    let p = Pair::start(&[]);
    p.session(&[
        ("RPUSH l 3 1 2 10 -5 2.5", ":6\r\n"),
        ("SORT l", &strs(&["-5", "1", "2", "2.5", "3", "10"])),
        ("SORT l DESC", &strs(&["10", "3", "2.5", "2", "1", "-5"])),
        ("SORT l ALPHA", &strs(&["-5", "1", "10", "2", "2.5", "3"])),
        ("SORT l ALPHA DESC", &strs(&["3", "2.5", "2", "10", "1", "-5"])),
        ("SORT l LIMIT 1 2", &strs(&["1", "2"])),
        ("SORT l LIMIT -3 2", &strs(&["-5", "1"])),
        ("SORT l LIMIT 4 100", &strs(&["3", "10"])),
        ("SORT l LIMIT 6 1", "*0\r\n"),
        ("SORT l LIMIT 100 -1", "*0\r\n"),
        ("SORT l LIMIT 2 0", "*0\r\n"),
        ("SORT l LIMIT 0 -7", &strs(&["-5", "1", "2", "2.5", "3", "10"])),
        ("SORT_RO l DESC LIMIT 0 2", &strs(&["10", "3"])),
        ("SORT missing", "*0\r\n"),
        ("RPUSH words b a c", ":3\r\n"),
        ("SORT words", NOT_DOUBLE),
        ("SORT words ALPHA", &strs(&["a", "b", "c"])),
        ("SADD s 5 3 9", ":3\r\n"),
        ("SORT s", &strs(&["3", "5", "9"])),
        ("SORT s DESC LIMIT 0 1", &strs(&["9"])),
        ("ZADD z 1 c 2 b 3 a", ":3\r\n"),
        ("SORT z ALPHA", &strs(&["a", "b", "c"])),
        ("SORT z BY nosort", &strs(&["c", "b", "a"])),
        ("SORT z BY nosort DESC LIMIT 0 2", &strs(&["a", "b"])),
        ("SORT z BY nosort LIMIT 1 5", &strs(&["b", "a"])),
        // Redis sorts a sorted set from its skip list, and leaves it so.
        ("OBJECT ENCODING z", "$8\r\nskiplist\r\n"),
        ("SORT l BY nosort", &strs(&["3", "1", "2", "10", "-5", "2.5"])),
        ("SORT l BY nosort DESC LIMIT 1 2", &strs(&["-5", "10"])),
    ]);
}

#[test]
fn errors_come_in_redis_order() {
    let p = Pair::start(&[]);
    p.session(&[
        ("SET str x", "+OK\r\n"),
        ("SORT str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("SORT str LIMIT 0", "-ERR syntax error\r\n"),
        ("SORT str LIMIT a 1", "-ERR value is not an integer or out of range\r\n"),
        ("SORT str FOO", "-ERR syntax error\r\n"),
        ("SORT_RO str STORE d", "-ERR syntax error\r\n"),
        ("SORT", "-ERR wrong number of arguments for 'sort' command\r\n"),
        ("HSET h f v", ":1\r\n"),
        ("SORT h", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ]);
}

#[test]
fn by_and_get_read_keys_on_every_shard() {
    let p = Pair::start(&[]);
    // Elements whose derived keys (w_N, o_N) land on both shards.
    let mut steps: Vec<(String, String)> = vec![("RPUSH ids 1 2 3 4 5 6".into(), ":6\r\n".into())];
    for (id, weight) in [(1, 50), (2, 10), (3, 40), (4, 20), (5, 30)] {
        steps.push((format!("SET w_{} {}", id, weight), "+OK\r\n".into()));
        steps.push((format!("HSET o_{} name n{} rank {}", id, id, 6 - id), ":2\r\n".into()));
        steps.push((format!("SET v_{} val{}", id, id), "+OK\r\n".into()));
    }
    let mut want = vec![
        // 6 has no weight: 0, first.
        ("SORT ids BY w_*", strs(&["6", "2", "4", "5", "3", "1"])),
        ("SORT ids BY w_* DESC", strs(&["1", "3", "5", "4", "2", "6"])),
        ("SORT ids BY w_* LIMIT 1 2", strs(&["2", "4"])),
        ("SORT ids BY o_*->rank", strs(&["6", "5", "4", "3", "2", "1"])),
        ("SORT ids BY w_* GET v_*", arr(&[None, Some("val2"), Some("val4"), Some("val5"), Some("val3"), Some("val1")])),
        (
            "SORT ids BY w_* LIMIT 0 2 GET # GET o_*->name GET v_*",
            arr(&[Some("6"), None, None, Some("2"), Some("n2"), Some("val2")]),
        ),
        ("SORT ids GET nostar", arr(&[None, None, None, None, None, None])),
        ("SORT ids BY w_* ALPHA", strs(&["6", "2", "4", "5", "3", "1"])),
        ("SORT_RO ids BY w_* GET o_*->name LIMIT 4 10", arr(&[Some("n3"), Some("n1")])),
        ("SORT ids BY nosort GET v_* LIMIT 0 2", strs(&["val1", "val2"])),
        // A weight that is not a number.
        ("SET w_6 abc", "+OK\r\n".into()),
        ("SORT ids BY w_*", NOT_DOUBLE.into()),
        ("SORT ids BY w_* ALPHA", strs(&["2", "4", "5", "3", "1", "6"])),
    ];
    let mut all: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
    all.extend(want.iter_mut().map(|(c, r)| (*c, r.as_str())));
    p.session(&all);
}

#[test]
fn store_writes_a_list_on_any_shard_and_deletes_on_empty() {
    let p = Pair::start(&[]);
    for shard in 0..2 {
        let dst = &keys_on_shard("dest", shard, 2, 1)[0];
        let steps = [
            ("DEL src".to_string(), None),
            ("RPUSH src 3 1 2".into(), Some(":3\r\n".to_string())),
            (format!("SORT src STORE {}", dst), Some(":3\r\n".into())),
            (format!("LRANGE {} 0 -1", dst), Some(strs(&["1", "2", "3"]))),
            (format!("TYPE {}", dst), Some("+list\r\n".into())),
            (format!("SORT src BY nosort GET w_* STORE {}", dst), Some(":3\r\n".into())),
            (format!("LRANGE {} 0 -1", dst), Some(strs(&["", "", ""]))),
            (format!("SORT missing STORE {}", dst), Some(":0\r\n".into())),
            (format!("EXISTS {}", dst), Some(":0\r\n".into())),
            ("SADD set b c a".into(), Some(":3\r\n".into())),
            // A set stored without sorting is sorted ALPHA anyway.
            (format!("SORT set BY nosort STORE {}", dst), Some(":3\r\n".into())),
            (format!("LRANGE {} 0 -1", dst), Some(strs(&["a", "b", "c"]))),
            ("DEL set".into(), Some(":1\r\n".into())),
            (format!("DEL {}", dst), Some(":1\r\n".into())),
        ];
        let steps: Vec<(&str, &str)> = steps
            .iter()
            .map(|(c, r)| (c.as_str(), r.as_deref().unwrap_or(if shard == 0 { ":0\r\n" } else { ":1\r\n" })))
            .collect();
        p.session(&steps);
    }
}
