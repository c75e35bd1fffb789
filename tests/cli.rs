//! The `shardis` command line, black-box: `--help`, config files (given
//! positionally or with `--config`) and flags overriding them, fatal config
//! errors, refusing a port or a data directory already in use, creating the
//! data directory, the locked-memory limit, several bind addresses, and the
//! committed `deploy/shardis.conf` (generated from the settings registry).

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use blackbox::{bulk_array, Conn, Proc};
use common::{binary, free_port, Server};
use shardis::config::Config;

const EXIT_WAIT: Duration = Duration::from_secs(20);

/// CONFIG GET `name` on a running server.
fn config_get(port: u16, name: &str) -> String {
    let items = bulk_array(&Conn::open(port).call(&["CONFIG", "GET", name]));
    assert_eq!(items.len(), 2, "CONFIG GET {}: {:?}", name, items);
    items[1].clone()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn help_lists_the_main_flags() {
    let out = Command::new(binary()).arg("--help").output().unwrap();
    assert!(out.status.success(), "{:?}", out);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--port",
        "--bind",
        "--shards",
        "--dir",
        "--databases",
        "--maxclients",
        "--requirepass",
        "--loglevel",
        "--config",
        "--appendfsync",
    ] {
        assert!(text.contains(flag), "--help does not mention {}:\n{}", flag, text);
    }
    assert!(text.contains("Usage: shardis"), "{}", text);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = Command::new(binary()).args(["--nosuchflag", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--nosuchflag"), "{}", err);
}

/// A config file exercising the syntax: comments, blank and indented lines,
/// double and single quotes.
fn write_conf(dir: &Path, port: u16, data: &Path) -> PathBuf {
    let text = format!(
        "# shardis test configuration\n\
         port {port}\n\
         \n\
         \t  # an indented comment\n\
         dir \"{}\"\n\
         shards 2\n\
         loglevel warning\n\
         maxclients \"4321\"\n\
         timeout '7'\n\
         save \"900 1\"\n\
         save 60 100\n\
         requirepass \"\"\n\
         bind 127.0.0.1\n",
        data.display()
    );
    let path = dir.join("test.conf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_file_given_positionally() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = write_conf(tmp.path(), port, &tmp.path().join("data"));
    let mut p = Proc::spawn(&[path_str(&conf)]);
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "maxclients"), "4321");
    assert_eq!(config_get(port, "timeout"), "7");
    assert_eq!(config_get(port, "save"), "900 1 60 100");
    assert_eq!(config_get(port, "shards"), "2");
    assert_eq!(config_get(port, "dir"), tmp.path().join("data").display().to_string());
    assert!(tmp.path().join("data/shardis.lock").is_file());
    Conn::open(port).expect(&["GET", "k"], "$-1\r\n");
}

#[test]
fn config_file_with_config_flag_and_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let file_port = free_port();
    let conf = write_conf(tmp.path(), file_port, &tmp.path().join("data"));
    // Flags win over the file, wherever they are.
    let port = free_port();
    let port_s = port.to_string();
    let mut p = Proc::spawn(&["--maxclients", "99", "--config", path_str(&conf), "--port", &port_s, "--save", ""]);
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "maxclients"), "99");
    assert_eq!(config_get(port, "port"), port_s);
    assert_eq!(config_get(port, "save"), "");
    assert_eq!(config_get(port, "timeout"), "7");
    // And with the file first.
    drop(p);
    let port = free_port();
    let port_s = port.to_string();
    let mut p = Proc::spawn(&[path_str(&conf), "--port", &port_s, "--timeout", "0", "--maxclients=77"]);
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "timeout"), "0");
    assert_eq!(config_get(port, "maxclients"), "77");
}

#[test]
fn bad_config_file_lines_are_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "port 1\n# a comment\nnosuchdirective yes\n",
            3,
            "nosuchdirective yes",
            "Bad directive or wrong number of arguments",
        ),
        ("\n\nmaxclients abc\n", 3, "maxclients abc", "argument couldn't be parsed into an integer"),
        ("timeout 1 2\n", 1, "timeout 1 2", "wrong number of arguments"),
        ("loglevel \"warning\n", 1, "loglevel \"warning", "Unbalanced quotes in configuration line"),
    ];
    for (text, line_no, line, reason) in cases {
        let path = tmp.path().join("bad.conf");
        std::fs::write(&path, text).unwrap();
        for args in [vec![path_str(&path)], vec!["--config", path_str(&path)]] {
            let (status, err) = Proc::spawn(&args).wait_exit(EXIT_WAIT);
            assert_eq!(status.code(), Some(1), "{:?}: {}", args, err);
            assert!(err.contains(&format!("at line {}\n", line_no)), "{:?}: {}", args, err);
            assert!(err.contains(&format!(">>> '{}'\n", line)), "{:?}: {}", args, err);
            assert!(err.contains(reason), "{:?}: {}", args, err);
        }
    }
    let (status, err) = Proc::spawn(&["/nonexistent/shardis.conf"]).wait_exit(EXIT_WAIT);
    assert_eq!(status.code(), Some(1), "{}", err);
    assert!(err.contains("can't open config file '/nonexistent/shardis.conf'"), "{}", err);
    let (status, err) = Proc::spawn(&["--maxclients", "lots"]).wait_exit(EXIT_WAIT);
    assert_eq!(status.code(), Some(1), "{}", err);
    assert!(err.contains("--maxclients lots"), "{}", err);
}

#[test]
fn appendfsync_always_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let mut p = Proc::spawn(&[
        "--port",
        &port_s,
        "--appendfsync",
        "always",
        "--dir",
        path_str(tmp.path()),
        "--shards",
        "2",
        "--loglevel",
        "warning",
    ]);
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "appendfsync"), "always");
    Conn::open(port).expect(&["SET", "k", "v"], "+OK\r\n");
}

#[test]
fn a_second_server_on_the_same_port_refuses_to_start() {
    let first = Server::start();
    let other = tempfile::tempdir().unwrap();
    let port_s = first.port.to_string();
    let (status, err) =
        Proc::spawn(&["--port", &port_s, "--dir", path_str(other.path()), "--shards", "2"]).wait_exit(EXIT_WAIT);
    assert!(!status.success(), "{}", err);
    assert!(err.contains(&format!("Could not listen on 127.0.0.1:{}", first.port)), "{}", err);
    assert!(err.contains("Address already in use"), "{}", err);
    // The first one did not notice.
    let mut c = Conn::open(first.port);
    c.expect(&["SET", "k", "v"], "+OK\r\n");
    c.expect(&["GET", "k"], "$1\r\nv\r\n");
}

#[test]
fn a_second_server_on_the_same_dir_refuses_to_start() {
    let first = Server::start();
    let port_s = free_port().to_string();
    let dir = path_str(first.dir()).to_string();
    let (status, err) = Proc::spawn(&["--port", &port_s, "--dir", &dir, "--shards", "2"]).wait_exit(EXIT_WAIT);
    assert!(!status.success(), "{}", err);
    assert!(err.contains(&format!("Another shardis is already using the data directory {}", dir)), "{}", err);
    Conn::open(first.port).expect(&["PING"], "+PONG\r\n");
}

#[test]
fn the_data_directory_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("a/b/c");
    let port = free_port();
    let port_s = port.to_string();
    let mut p = Proc::spawn(&["--port", &port_s, "--dir", path_str(&data), "--shards", "2", "--loglevel", "warning"]);
    p.wait_ready("127.0.0.1", port);
    assert!(data.join("shardis.lock").is_file());
    assert_eq!(config_get(port, "dir"), data.display().to_string());
}

fn prlimit() -> Option<PathBuf> {
    ["/usr/bin/prlimit", "/bin/prlimit"].iter().map(PathBuf::from).find(|p| p.is_file())
}

/// `prlimit --memlock=<bytes>:<bytes> shardis <args>`.
fn with_memlock(bytes: u64, args: &[&str]) -> Option<Proc> {
    let Some(prlimit) = prlimit() else {
        eprintln!("note: prlimit (util-linux) is not installed; skipping");
        return None;
    };
    let mut cmd = Command::new(prlimit);
    cmd.arg(format!("--memlock={}:{}", bytes, bytes)).arg(binary());
    Some(Proc::spawn_with(cmd, args))
}

#[test]
fn starts_with_an_8_mib_memlock_limit_and_four_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let args = ["--port", &port_s, "--dir", path_str(tmp.path()), "--shards", "4", "--loglevel", "warning"];
    let Some(mut p) = with_memlock(8 * 1024 * 1024, &args) else { return };
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "shards"), "4");
    let mut c = Conn::open(port);
    c.expect(&["MSET", "a", "1", "b", "2", "c", "3", "d", "4"], "+OK\r\n");
    c.expect(&["DBSIZE"], ":4\r\n");
    c.send(&["SHUTDOWN"]);
    c.until_closed();
    let (status, err) = p.wait_exit(EXIT_WAIT);
    assert!(status.success(), "{}: {}", status, err);
}

#[test]
fn a_tiny_memlock_limit_is_refused_with_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let port_s = free_port().to_string();
    let args = ["--port", &port_s, "--dir", path_str(tmp.path()), "--shards", "4"];
    let Some(mut p) = with_memlock(256 * 1024, &args) else { return };
    let (status, err) = p.wait_exit(EXIT_WAIT);
    assert_eq!(status.code(), Some(1), "{}", err);
    assert!(err.contains("locked-memory limit (ulimit -l) is 256 KiB"), "{}", err);
    assert!(err.contains("LimitMEMLOCK"), "{}", err);
}

#[test]
fn binds_ipv4_and_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("note: no IPv6 loopback on this machine; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let mut p = Proc::spawn(&[
        "--port",
        &port_s,
        "--bind",
        "127.0.0.1",
        "::1",
        "--dir",
        path_str(tmp.path()),
        "--shards",
        "2",
        "--loglevel",
        "warning",
    ]);
    p.wait_ready("127.0.0.1", port);
    p.wait_ready("::1", port);
    assert_eq!(config_get(port, "bind"), "127.0.0.1 ::1");
    let mut v6 = Conn::open_host("::1", port);
    v6.expect(&["SET", "k", "v"], "+OK\r\n");
    let info = v6.text(&["CLIENT", "INFO"]);
    assert!(info.contains(&format!(" laddr=[::1]:{} ", port)), "{}", info);
    Conn::open(port).expect(&["GET", "k"], "$1\r\nv\r\n");
}

fn deploy_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/shardis.conf")
}

/// `deploy/shardis.conf` is generated: `UPDATE_DEPLOY_CONF=1 cargo test
/// --test cli deploy_conf` rewrites it from the settings registry.
#[test]
fn deploy_conf_is_the_rendered_default() {
    let want = Config::default().render_conf();
    let path = deploy_conf();
    if std::env::var("UPDATE_DEPLOY_CONF").as_deref() == Ok("1") {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{} is out of date (first difference at line {}: {:?} vs {:?}); regenerate it with \
             UPDATE_DEPLOY_CONF=1 cargo test --test cli deploy_conf",
            path.display(),
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first)
        );
    }
    // Loading it gives the defaults back.
    let mut loaded = Config::from_args([path.clone().into_os_string()]).unwrap_or_else(|e| panic!("{}", e));
    assert!(loaded.config_file.is_some());
    loaded.config_file = None;
    assert_eq!(loaded, Config::default());
}

#[test]
fn deploy_conf_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let conf = deploy_conf();
    let mut p = Proc::spawn(&[path_str(&conf), "--port", &port_s, "--dir", path_str(tmp.path())]);
    p.wait_ready("127.0.0.1", port);
    assert_eq!(config_get(port, "appendonly"), "yes");
    assert_eq!(config_get(port, "bind"), "127.0.0.1");
    let mut c = Conn::open(port);
    c.expect(&["SET", "k", "v"], "+OK\r\n");
    c.send(&["SHUTDOWN"]);
    c.until_closed();
    let (status, err) = p.wait_exit(EXIT_WAIT);
    assert!(status.success(), "{}: {}", status, err);
}
