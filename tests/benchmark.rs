//! `redis-benchmark` against shardis, when it is installed: PING, SET and
//! GET, 100,000 requests each, pipelined by 16, all answered without errors.

mod common;

use std::process::Command;

use common::oracle::find_binary;

/// The `NAME: <rps> requests per second` results of `redis-benchmark -q`,
/// whose output also holds progress lines separated by `\r`.
fn results(output: &str) -> Vec<(String, f64)> {
    output
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (name, rest) = line.trim().split_once(": ")?;
            let (rps, _) = rest.split_once(" requests per second")?;
            Some((name.to_string(), rps.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn redis_benchmark_ping_set_get() {
    let Some(bench) = find_binary("redis-benchmark") else {
        eprintln!("skipped: redis-benchmark is not installed");
        return;
    };
    let server = common::Server::start();
    let out = Command::new(bench)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-t",
            "ping,set,get",
            "-n",
            "100000",
            "-P",
            "16",
            "-q",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark failed ({}): {}\n{}", out.status, stdout, stderr);
    for text in [&stdout, &stderr] {
        let lower = text.to_ascii_lowercase();
        assert!(!text.contains("ERR") && !lower.contains("error"), "errors in the output:\n{}\n{}", stdout, stderr);
    }
    let results = results(&stdout);
    eprintln!("{:?}", results);
    for name in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
        let rps = results.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
        assert!(rps.is_some_and(|r| r > 0.0), "no result for {} in:\n{}", name, stdout);
    }
    // The server is still fine afterwards, and holds what SET wrote (3
    // bytes by default).
    let mut con = server.client();
    let v: Vec<u8> = common::cmd(&mut con, &["GET", "key:__rand_int__"]).unwrap();
    assert_eq!(v.len(), 3);
}
