use std::ffi::OsString;

use super::*;

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn from_args(list: &[&str]) -> Result<Config, ConfigError> {
    Config::from_args(args(list))
}

fn text(t: &str) -> Result<Config, ConfigError> {
    let mut c = Config::default();
    c.apply_text(t, "test.conf")?;
    Ok(c)
}

fn file_reason(t: &str) -> (usize, String, String) {
    match text(t) {
        Err(ConfigError::File { line_no, line, reason, path }) => {
            assert_eq!(path, "test.conf");
            (line_no, line, reason)
        }
        other => panic!("expected a file error, got {other:?}"),
    }
}

fn get1(c: &Config, name: &str) -> String {
    let got = c.get(&[name.as_bytes()]);
    assert_eq!(got.len(), 1, "{name}: {got:?}");
    got[0].1.clone()
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
    c.set(&pairs)
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("shardis-config-test-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// --- Registry -------------------------------------------------------------

#[test]
fn registry_is_consistent() {
    let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    for s in SETTINGS {
        assert_eq!(s.name, s.name.to_ascii_lowercase());
        assert!(!s.doc.is_empty() && !s.doc.contains('\n'), "{}", s.name);
        assert!(!["help", "version", "config"].contains(&s.name), "{} clashes with a CLI flag", s.name);
        assert!(std::ptr::eq(lookup(s.name.to_ascii_uppercase().as_bytes()).unwrap(), s));
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SETTINGS.len(), "duplicate setting names");
    // Every default parses (Config::default would panic otherwise) and the
    // clap command is valid.
    let _ = Config::default();
    cli::command().debug_assert();
}

#[test]
fn defaults() {
    let c = Config::default();
    assert_eq!(c.bind, ["127.0.0.1"]);
    assert_eq!(c.port, 6379);
    assert_eq!(c.shards, 0);
    assert_eq!(c.dir, PathBuf::from("./"));
    assert_eq!(c.databases, 16);
    assert_eq!(c.maxclients, 10000);
    assert_eq!(c.requirepass, None);
    assert_eq!(c.loglevel, LogLevel::Notice);
    assert_eq!(c.logfile, "");
    assert_eq!(c.timeout, 0);
    assert_eq!(c.tcp_keepalive, 300);
    assert_eq!(c.tcp_backlog, 511);
    assert_eq!(c.proto_max_bulk_len, 512 * 1024 * 1024);
    assert_eq!(c.client_query_buffer_limit, 1024 * 1024 * 1024);
    assert_eq!(
        c.client_output_buffer_limit,
        [
            OutputBufferLimit { hard: 0, soft: 0, soft_seconds: 0 },
            OutputBufferLimit { hard: 256 << 20, soft: 64 << 20, soft_seconds: 60 },
            OutputBufferLimit { hard: 32 << 20, soft: 8 << 20, soft_seconds: 60 },
        ]
    );
    assert_eq!(c.output_buffer_limit(ClientClass::Pubsub).hard, 32 << 20);
    assert!(c.appendonly);
    assert_eq!(c.appendfsync, FsyncPolicy::Everysec);
    assert_eq!(c.save, [(3600, 1), (300, 100), (60, 10000)]);
    assert_eq!(c.auto_aof_rewrite_percentage, 100);
    assert_eq!(c.auto_aof_rewrite_min_size, 64 * 1024 * 1024);
    assert_eq!(c.hz, 10);
    assert_eq!(c.io_memory, 0);
    assert_eq!(c.spin_before_park, 0);
    assert_eq!(c.preempt_timer, 1);
    assert_eq!(c.config_file, None);
}

// --- Config files ---------------------------------------------------------

#[test]
fn file_with_comments_quotes_and_case() {
    let c = text(
        "# a comment\n\
         \n\
         \t  # indented comment\n\
         PORT 7000\r\n\
         \x20\x20Bind 10.0.0.1 \"::1\"\n\
         requirepass \"p@ss word\\n\"\n\
         logfile 'it\\'s.log'\n\
         loglevel WARNING\n\
         appendonly No\n\
         appendfsync Always\n\
         dir \"/var/lib/shardis\"\n\
         maxclients 20\n",
    )
    .unwrap();
    assert_eq!(c.port, 7000);
    assert_eq!(c.bind, ["10.0.0.1", "::1"]);
    assert_eq!(c.requirepass.as_deref(), Some("p@ss word\n"));
    assert_eq!(c.logfile, "it's.log");
    assert_eq!(c.loglevel, LogLevel::Warning);
    assert!(!c.appendonly);
    assert_eq!(c.appendfsync, FsyncPolicy::Always);
    assert_eq!(c.dir, PathBuf::from("/var/lib/shardis"));
    assert_eq!(c.maxclients, 20);
}

#[test]
fn file_later_lines_win() {
    let c = text("port 1\nport 2\nbind a b\nbind c\n").unwrap();
    assert_eq!(c.port, 2);
    assert_eq!(c.bind, ["c"]);
}

#[test]
fn multi_arg_settings_split_a_single_argument() {
    let c = text("bind \"127.0.0.1 ::1\"\nsave \"100 1 200 2\"\n").unwrap();
    assert_eq!(c.bind, ["127.0.0.1", "::1"]);
    assert_eq!(c.save, [(100, 1), (200, 2)]);
    // A single-argument setting keeps spaces.
    let c = text("requirepass \"a b\"\n").unwrap();
    assert_eq!(c.requirepass.as_deref(), Some("a b"));
}

#[test]
fn save_lines_accumulate_and_empty_resets() {
    // The first `save` line replaces the defaults, later ones add.
    let c = text("save 100 1\nsave 200 2\n").unwrap();
    assert_eq!(c.save, [(100, 1), (200, 2)]);
    let c = text("save \"\"\n").unwrap();
    assert!(c.save.is_empty());
    let c = text("save 100 1\nsave \"\"\nsave 5 5\n").unwrap();
    assert_eq!(c.save, [(5, 5)]);
    // No `save` line: defaults stay.
    assert_eq!(text("port 1\n").unwrap().save, Config::default().save);
    // strtoll leniency, as Redis.
    assert_eq!(text("save +10 007\n").unwrap().save, [(10, 7)]);
    // Each apply_text is a new load: its first save line resets again.
    let mut c = text("save 1 1\n").unwrap();
    c.apply_text("save 2 2\n", "again").unwrap();
    assert_eq!(c.save, [(2, 2)]);
}

#[test]
fn save_errors() {
    for bad in ["save 1", "save abc 1", "save 0 1", "save 1 -1", "save 1 2 3", "save \" 1\" x"] {
        let (_, _, reason) = file_reason(bad);
        assert_eq!(reason, "Invalid save parameters", "{bad}");
    }
}

#[test]
fn unknown_directive_names_the_line() {
    let (line_no, line, reason) = file_reason("port 1\n\n# c\nfoo \"bar\"\nport 2\n");
    assert_eq!(line_no, 4);
    assert_eq!(line, "foo \"bar\"");
    assert_eq!(reason, "Bad directive or wrong number of arguments");
    let err = text("  foo bar  \r\n").unwrap_err().to_string();
    assert_eq!(
        err,
        "*** FATAL CONFIG FILE ERROR (shardis) ***\n\
         Reading the configuration file test.conf, at line 1\n\
         >>> 'foo bar'\n\
         Bad directive or wrong number of arguments"
    );
    // Unsupported Redis directives are unknown here.
    assert_eq!(file_reason("include /x.conf").2, "Bad directive or wrong number of arguments");
}

#[test]
fn file_value_errors() {
    let cases = [
        ("port", "wrong number of arguments"),
        ("port 1 2", "wrong number of arguments"),
        ("port 6379 # trailing comment", "wrong number of arguments"),
        ("port 99999", "argument must be between 0 and 65535 inclusive"),
        ("port -1", "argument must be between 0 and 65535 inclusive"),
        ("maxclients abc", "argument couldn't be parsed into an integer"),
        ("maxclients 0", "argument must be between 1 and 4294967295 inclusive"),
        ("maxclients -1", "argument must be between 1 and 4294967295 inclusive"),
        ("timeout -1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout 05", "argument couldn't be parsed into an integer"),
        ("databases 0", "argument must be between 1 and 2147483647 inclusive"),
        ("hz abc", "argument couldn't be parsed into an integer"),
        ("appendonly maybe", "argument must be 'yes' or 'no'"),
        ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning"),
        ("appendfsync x", "argument(s) must be one of the following: everysec, always, no"),
        ("proto-max-bulk-len 1k", "argument must be between 1048576 and 9223372036854775807 inclusive"),
        ("proto-max-bulk-len abc", "argument must be a memory value"),
        ("client-query-buffer-limit 1", "argument must be between 1048576 and 9223372036854775807 inclusive"),
        ("auto-aof-rewrite-min-size -1", "argument must be a memory value"),
        ("preempt-timer 0", "argument must be between 1 and 100 inclusive"),
        ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "Too many bind addresses specified."),
        ("client-output-buffer-limit normal 1 2", "Wrong number of arguments in buffer limit configuration."),
        ("client-output-buffer-limit master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        (
            "client-output-buffer-limit normal 1x 2 3",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        ("port \"1", "Unbalanced quotes in configuration line"),
        ("dir \"\"", "No such file or directory"),
    ];
    for (line, want) in cases {
        let (line_no, shown, reason) = file_reason(&format!("# x\n{line}\n"));
        assert_eq!(line_no, 2, "{line}");
        assert_eq!(shown, line);
        assert_eq!(reason, want, "{line}");
    }
}

#[test]
fn failed_file_stops_at_the_bad_line() {
    let mut c = Config::default();
    assert!(c.apply_text("port 1\nfoo\nport 2\n", "x").is_err());
    assert_eq!(c.port, 1);
}

#[test]
fn memory_units_in_files() {
    let c = text(
        "proto-max-bulk-len 2mb\n\
         client-query-buffer-limit 1GB\n\
         auto-aof-rewrite-min-size 1k\n\
         io-memory 3m\n",
    )
    .unwrap();
    assert_eq!(c.proto_max_bulk_len, 2 * 1024 * 1024);
    assert_eq!(c.client_query_buffer_limit, 1 << 30);
    assert_eq!(c.auto_aof_rewrite_min_size, 1000);
    assert_eq!(c.io_memory, 3_000_000);
    assert!(text("io-memory 99999999999999999999gb\n").is_err());
}

#[test]
fn output_buffer_limits() {
    let c =
        text("client-output-buffer-limit replica 1mb 2kb 3\nclient-output-buffer-limit PUBSUB 0 0 0 Normal 1 2 3\n")
            .unwrap();
    assert_eq!(c.client_output_buffer_limit[1], OutputBufferLimit { hard: 1 << 20, soft: 2048, soft_seconds: 3 });
    assert_eq!(c.client_output_buffer_limit[2], OutputBufferLimit::default());
    assert_eq!(c.client_output_buffer_limit[0], OutputBufferLimit { hard: 1, soft: 2, soft_seconds: 3 });
    assert_eq!(get1(&c, "client-output-buffer-limit"), "normal 1 2 3 slave 1048576 2048 3 pubsub 0 0 0");
    // "slave" is accepted too; a bad group leaves everything unchanged.
    let mut c = Config::default();
    assert!(set(&mut c, &[("client-output-buffer-limit", "slave 1 1 1 pubsub 1 1 -1")]).is_err());
    assert_eq!(c, Config::default());
    set(&mut c, &[("client-output-buffer-limit", "slave 1 1 1")]).unwrap();
    assert_eq!(c.client_output_buffer_limit[1], OutputBufferLimit { hard: 1, soft: 1, soft_seconds: 1 });
    // Soft seconds must fit an int.
    assert!(set(&mut c, &[("client-output-buffer-limit", "normal 1 2 4294967297")]).is_err());
}

#[test]
fn hz_is_capped() {
    assert_eq!(text("hz 1000\n").unwrap().hz, 500);
    assert_eq!(text("hz 0\n").unwrap().hz, 1);
    let mut c = Config::default();
    set(&mut c, &[("hz", "1000")]).unwrap();
    assert_eq!(get1(&c, "hz"), "500");
    assert_eq!(
        set(&mut c, &[("hz", "-1")]).unwrap_err(),
        "CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
    );
}

#[test]
fn apply_file_reads_and_names_the_file() {
    let f = TempFile::new("ok.conf", "port 7001\nsave \"\"\n");
    let mut c = Config::default();
    c.apply_file(Path::new(f.path())).unwrap();
    assert_eq!(c.port, 7001);
    assert!(c.save.is_empty());

    let f = TempFile::new("bad.conf", "port 7001\nnope 1\n");
    match Config::default().apply_file(Path::new(f.path())) {
        Err(ConfigError::File { path, line_no: 2, line, .. }) => {
            assert_eq!(path, f.path());
            assert_eq!(line, "nope 1");
        }
        other => panic!("{other:?}"),
    }

    let err = Config::default().apply_file(Path::new("/nonexistent/shardis.conf")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Fatal error, can't open config file '/nonexistent/shardis.conf': No such file or directory"
    );
}

// --- Command line ---------------------------------------------------------

#[test]
fn no_args_is_defaults() {
    assert_eq!(from_args(&[]).unwrap(), Config::default());
}

#[test]
fn flags() {
    let c = from_args(&["--port", "6380", "--save", "", "--bind", "127.0.0.1", "::1", "--loglevel", "debug"]).unwrap();
    assert_eq!(c.port, 6380);
    assert!(c.save.is_empty());
    assert_eq!(c.bind, ["127.0.0.1", "::1"]);
    assert_eq!(c.loglevel, LogLevel::Debug);
    // One argument with spaces is split for multi-argument settings.
    let c = from_args(&["--save", "60 10 30 5", "--bind", "* -::*"]).unwrap();
    assert_eq!(c.save, [(60, 10), (30, 5)]);
    assert_eq!(c.bind, ["*", "-::*"]);
    // Values may start with '-'; names are case-insensitive; --name=value.
    let c = from_args(&["--bind", "*", "-::*", "--PORT", "1", "--requirepass=-secret"]).unwrap();
    assert_eq!(c.bind, ["*", "-::*"]);
    assert_eq!(c.port, 1);
    assert_eq!(c.requirepass.as_deref(), Some("-secret"));
    // A directive always takes its first value, even one starting with --.
    let c = from_args(&["--requirepass", "--weird", "--port", "2"]).unwrap();
    assert_eq!(c.requirepass.as_deref(), Some("--weird"));
    assert_eq!(c.port, 2);
    // Bare --save (last, or followed by another flag) means save "".
    assert!(from_args(&["--save"]).unwrap().save.is_empty());
    let c = from_args(&["--save", "--port", "3"]).unwrap();
    assert!(c.save.is_empty());
    assert_eq!(c.port, 3);
    // Several --save accumulate (first replaces the defaults).
    assert_eq!(from_args(&["--save", "5", "5", "--save", "6 6"]).unwrap().save, [(5, 5), (6, 6)]);
    // Quotes and binary survive the normalisation.
    let c = from_args(&["--requirepass", "a \"b\" 'c'\\"]).unwrap();
    assert_eq!(c.requirepass.as_deref(), Some("a \"b\" 'c'\\"));
    // Name and value in one argument, as redis-server allows.
    assert_eq!(from_args(&["--port 6390"]).unwrap().port, 6390);
}

#[test]
fn flag_value_errors_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--port", "99999"],
            "Invalid command line option '--port 99999': argument must be between 0 and 65535 inclusive",
        ),
        (&["--port", "1", "2"], "Invalid command line option '--port 1 2': wrong number of arguments"),
        (
            &["--maxclients", "-1"],
            "Invalid command line option '--maxclients -1': argument must be between 1 and 4294967295 inclusive",
        ),
        (&["--save", "1"], "Invalid command line option '--save 1': Invalid save parameters"),
        (
            &["--appendonly", "maybe"],
            "Invalid command line option '--appendonly maybe': argument must be 'yes' or 'no'",
        ),
        (
            &["--port", "--maxclients"],
            "Invalid command line option '--port --maxclients': argument couldn't be parsed into an integer",
        ),
    ];
    for (argv, want) in cases {
        match from_args(argv) {
            Err(e @ ConfigError::Invalid(_)) => assert_eq!(e.to_string(), *want),
            other => panic!("{argv:?}: {other:?}"),
        }
    }
}

#[test]
fn clap_errors() {
    use clap::error::ErrorKind;
    let kind = |argv: &[&str]| match from_args(argv) {
        Err(ConfigError::Clap(e)) => e.kind(),
        other => panic!("{argv:?}: {other:?}"),
    };
    assert_eq!(kind(&["--help"]), ErrorKind::DisplayHelp);
    assert_eq!(kind(&["-h"]), ErrorKind::DisplayHelp);
    assert_eq!(kind(&["--version"]), ErrorKind::DisplayVersion);
    assert_eq!(kind(&["-v"]), ErrorKind::DisplayVersion);
    assert_eq!(kind(&["-V"]), ErrorKind::DisplayVersion);
    assert_eq!(kind(&["--foo", "bar"]), ErrorKind::UnknownArgument);
    assert_eq!(kind(&["--port"]), ErrorKind::InvalidValue);
    assert_eq!(kind(&["a.conf", "b.conf"]), ErrorKind::UnknownArgument);
    assert_eq!(kind(&["a.conf", "--config", "b.conf"]), ErrorKind::ArgumentConflict);
    // Did-you-mean on a misspelt setting.
    let Err(ConfigError::Clap(e)) = from_args(&["--prot", "1"]) else { panic!() };
    let msg = e.to_string();
    assert!(msg.contains("--prot") && msg.contains("--port"), "{msg}");
    // The help lists every setting with its doc and default.
    let Err(ConfigError::Clap(e)) = from_args(&["--help"]) else { panic!() };
    let help = e.to_string();
    for s in SETTINGS {
        assert!(help.contains(&format!("--{}", s.name)), "{}", s.name);
    }
    assert!(help.contains("[default: 512mb]"));
}

#[test]
fn precedence_defaults_file_flags() {
    let f = TempFile::new("prec.conf", "port 7000\nmaxclients 5\nsave 100 1\nbind 10.0.0.1\n");
    let c = from_args(&[f.path(), "--port", "7001", "--bind", "127.0.0.1", "::1"]).unwrap();
    assert_eq!(c.port, 7001); // flag beats file
    assert_eq!(c.maxclients, 5); // file beats default
    assert_eq!(c.timeout, 0); // default
    assert_eq!(c.bind, ["127.0.0.1", "::1"]);
    assert_eq!(c.save, [(100, 1)]);
    assert_eq!(c.config_file.as_deref(), Some(Path::new(f.path())));
    // As in redis-server, file and flags are one load: save accumulates,
    // and --save "" clears.
    assert_eq!(from_args(&[f.path(), "--save", "60 10"]).unwrap().save, [(100, 1), (60, 10)]);
    assert!(from_args(&[f.path(), "--save", ""]).unwrap().save.is_empty());
    // --config FILE is the same as the positional file.
    let c = from_args(&["--config", f.path(), "--maxclients", "6"]).unwrap();
    assert_eq!((c.port, c.maxclients), (7000, 6));
    // File errors come back as such.
    let bad = TempFile::new("prec-bad.conf", "port 7000\nbogus\n");
    assert!(matches!(from_args(&[bad.path()]), Err(ConfigError::File { line_no: 2, .. })));
    assert!(matches!(from_args(&["/nonexistent.conf"]), Err(ConfigError::Io(_))));
    // A relative config file path is made absolute.
    let c = from_args(&["--config", f.path()]).unwrap();
    assert!(c.config_file.unwrap().is_absolute());
}

// --- CONFIG GET -----------------------------------------------------------

#[test]
fn get_formats_like_redis() {
    let mut c =
        Config { requirepass: Some("pw".into()), bind: vec!["127.0.0.1".into(), "::1".into()], ..Config::default() };
    assert_eq!(get1(&c, "bind"), "127.0.0.1 ::1");
    assert_eq!(get1(&c, "port"), "6379");
    assert_eq!(get1(&c, "appendonly"), "yes");
    assert_eq!(get1(&c, "appendfsync"), "everysec");
    assert_eq!(get1(&c, "loglevel"), "notice");
    assert_eq!(get1(&c, "proto-max-bulk-len"), "536870912");
    assert_eq!(get1(&c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(get1(&c, "requirepass"), "pw");
    assert_eq!(get1(&c, "logfile"), "");
    assert_eq!(get1(&c, "dir"), "./");
    assert_eq!(get1(&Config::default(), "requirepass"), "");
    c.save.clear();
    assert_eq!(get1(&c, "save"), "");
}

#[test]
fn get_patterns() {
    let c = Config::default();
    let names = |pats: &[&str]| -> Vec<&'static str> {
        let pats: Vec<&[u8]> = pats.iter().map(|p| p.as_bytes()).collect();
        c.get(&pats).into_iter().map(|(n, _)| n).collect()
    };
    assert_eq!(names(&["max*"]), ["maxclients"]);
    assert_eq!(names(&["*MAX-b*"]), ["proto-max-bulk-len"]);
    // An alias is a name of its own for CONFIG GET, as in Redis 7.0.
    assert_eq!(names(&["hash-max-*-entries"]), ["hash-max-listpack-entries", "hash-max-ziplist-entries"]);
    assert_eq!(names(&["zset-max-ziplist-value"]), ["zset-max-ziplist-value"]);
    assert_eq!(names(&["port", "bind"]), ["port", "bind"]);
    assert_eq!(names(&["PORT"]), ["port"]);
    assert_eq!(names(&["port", "port", "p?rt", "*"]).len(), SETTINGS.len() + registry::ALIASES.len());
    assert_eq!(names(&["port", "p?rt"]), ["port"]);
    assert_eq!(names(&["append*"]), ["appendonly", "appendfsync"]);
    assert_eq!(
        names(&["auto-aof-rewrite-*", "*fsync"]),
        ["auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size", "appendfsync"]
    );
    assert_eq!(
        names(&["[hp]*"]),
        [
            "port",
            "proto-max-bulk-len",
            "hash-max-listpack-entries",
            "hash-max-ziplist-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-value",
            "hz",
            "preempt-timer"
        ]
    );
    assert!(names(&["nonexistent"]).is_empty());
    assert!(names(&["nonexist*"]).is_empty());
    assert!(names(&[]).is_empty());
    // A pattern-less name matches exactly, not as a glob with escapes.
    assert!(names(&["por\\t"]).is_empty());
}

// --- CONFIG SET -----------------------------------------------------------

#[test]
fn set_values() {
    let mut c = Config::default();
    set(
        &mut c,
        &[
            ("maxclients", "20"),
            ("TIMEOUT", "5"),
            ("requirepass", "secret"),
            ("appendonly", "NO"),
            ("loglevel", "Debug"),
            ("save", "100 1 200 2"),
            ("proto-max-bulk-len", "2Mb"),
        ],
    )
    .unwrap();
    assert_eq!(c.maxclients, 20);
    assert_eq!(c.timeout, 5);
    assert_eq!(c.requirepass.as_deref(), Some("secret"));
    assert!(!c.appendonly);
    assert_eq!(c.loglevel, LogLevel::Debug);
    assert_eq!(c.save, [(100, 1), (200, 2)]);
    assert_eq!(c.proto_max_bulk_len, 2 << 20);
    assert_eq!(get1(&c, "proto-max-bulk-len"), "2097152");
    // CONFIG SET save replaces, "" clears; requirepass "" removes the password.
    set(&mut c, &[("save", "5 5")]).unwrap();
    assert_eq!(c.save, [(5, 5)]);
    set(&mut c, &[("save", ""), ("requirepass", "")]).unwrap();
    assert!(c.save.is_empty());
    assert_eq!(c.requirepass, None);
    // Redis quirks kept: an empty memory value is 0, a trailing space in save
    // is an empty (= 0) change count.
    set(&mut c, &[("auto-aof-rewrite-min-size", ""), ("save", "100 ")]).unwrap();
    assert_eq!(c.auto_aof_rewrite_min_size, 0);
    assert_eq!(c.save, [(100, 0)]);
    assert!(set(&mut c, &[]).is_ok());
}

#[test]
fn set_error_strings() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("foo", "bar")], "Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("timeout", "5"), ("foo", "bar")], "Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("foo", "bar"), ("port", "1")], "Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("port", "1")], "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"),
        (
            &[("databases", "1"), ("foo", "bar")],
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (
            &[("timeout", "abc"), ("databases", "1")],
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (
            &[("PORT", "1")],
            "CONFIG SET failed (possibly related to argument 'PORT') - can't set immutable config",
        ),
        (&[("logfile", "x")], "CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config"),
        (
            &[("maxclients", "10"), ("maxclients", "20")],
            "CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter",
        ),
        (
            &[("timeout", "1"), ("TIMEOUT", "2")],
            "CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter",
        ),
        (
            &[("maxclients", "abc")],
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &[("MAXCLIENTS", "abc")],
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &[("maxclients", "0")],
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
        ),
        (
            &[("timeout", "-1")],
            "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive",
        ),
        (
            &[("timeout", "+5")],
            "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ),
        (
            &[("tcp-keepalive", "2147483648")],
            "CONFIG SET failed (possibly related to argument 'tcp-keepalive') - argument must be between 0 and 2147483647 inclusive",
        ),
        (
            &[("tcp-keepalive", "99999999999999999999999")],
            "CONFIG SET failed (possibly related to argument 'tcp-keepalive') - argument couldn't be parsed into an integer",
        ),
        (
            &[("appendonly", "maybe")],
            "CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'",
        ),
        (
            &[("loglevel", "loud")],
            "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            &[("loglevel", "notice warning")],
            "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            &[("appendfsync", "x")],
            "CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no",
        ),
        (&[("save", "1")], "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("save", "0 1")], "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("save", "1  2")], "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("save", " 100 1")], "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("save", "100 -1")], "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (
            &[("proto-max-bulk-len", "1k")],
            "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            &[("proto-max-bulk-len", "")],
            "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            &[("proto-max-bulk-len", "abc")],
            "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value",
        ),
        (
            &[("client-output-buffer-limit", "normal 1 2")],
            "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.",
        ),
        (
            &[("client-output-buffer-limit", "normal 1 2 -1")],
            "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            &[("client-output-buffer-limit", "normal -1 2 1")],
            "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            &[("client-output-buffer-limit", "master 1 2 3")],
            "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.",
        ),
        (
            &[("bind", "127.0.0.1 ::1")],
            "CONFIG SET failed (possibly related to argument 'bind') - can't set immutable config",
        ),
    ];
    for (pairs, want) in cases {
        let mut c = Config::default();
        assert_eq!(set(&mut c, pairs).unwrap_err(), *want, "{pairs:?}");
        assert_eq!(c, Config::default(), "{pairs:?} changed the config");
    }
}

#[test]
fn set_is_atomic() {
    let mut c = Config::default();
    let err =
        set(&mut c, &[("maxclients", "20"), ("save", "1 1"), ("timeout", "abc"), ("loglevel", "debug")]).unwrap_err();
    assert!(err.contains("'timeout'"), "{err}");
    assert_eq!(c, Config::default());
    // Each earlier setting alone would have been accepted.
    set(&mut c, &[("maxclients", "20"), ("save", "1 1"), ("loglevel", "debug")]).unwrap();
    assert_eq!((c.maxclients, c.save.clone(), c.loglevel), (20, vec![(1, 1)], LogLevel::Debug));
}

// --- render_conf ------------------------------------------------------------

#[test]
fn render_round_trips() {
    let check = |c: &Config| {
        let conf = c.render_conf();
        let mut back = Config::default();
        back.apply_text(&conf, "rendered").unwrap_or_else(|e| panic!("{e}\n{conf}"));
        assert_eq!(&back, c, "{conf}");
    };
    check(&Config::default());

    let mut c = Config::default();
    c.apply_text(
        "bind * -::*\nport 0\nshards 4\ndir \"/data dir/x\"\ndatabases 1\nmaxclients 4294967295\n\
         requirepass \"p \\\"w\\\" \\x01\"\nloglevel warning\nlogfile \"/var/log/shardis.log\"\n\
         timeout 30\ntcp-keepalive 0\ntcp-backlog 1024\nproto-max-bulk-len 1048577\n\
         client-query-buffer-limit 3gb\nclient-output-buffer-limit normal 1k 2kb 3 pubsub 0 0 0\n\
         appendonly no\nappendfsync no\nsave 900 1\nsave 60 0\nauto-aof-rewrite-percentage 0\n\
         auto-aof-rewrite-min-size 0\nhz 500\nio-memory 1536kb\nspin-before-park 50\npreempt-timer 100\n",
        "custom",
    )
    .unwrap();
    assert_eq!(c.requirepass.as_deref(), Some("p \"w\" \u{1}"));
    check(&c);

    // Empty save and empty bind.
    let mut c = Config::default();
    set(&mut c, &[("save", "")]).unwrap();
    c.apply_text("bind \"\"\n", "test").unwrap();
    let conf = c.render_conf();
    assert!(conf.contains("\nsave \"\"\n") && conf.contains("\nbind \"\"\n"), "{conf}");
    check(&c);
}

#[test]
fn render_format() {
    let conf = Config::default().render_conf();
    for line in [
        "bind 127.0.0.1",
        "port 6379",
        "logfile \"\"",
        "dir \"./\"",
        "requirepass \"\"",
        "proto-max-bulk-len 512mb",
        "client-query-buffer-limit 1gb",
        "client-output-buffer-limit normal 0 0 0",
        "client-output-buffer-limit replica 256mb 64mb 60",
        "client-output-buffer-limit pubsub 32mb 8mb 60",
        "save 3600 1",
        "save 300 100",
        "save 60 10000",
        "appendonly yes",
        "appendfsync everysec",
        "auto-aof-rewrite-min-size 64mb",
        "hz 10",
        "io-memory 0",
    ] {
        assert!(conf.lines().any(|l| l == line), "missing {line:?} in\n{conf}");
    }
    // Every setting is documented.
    for s in SETTINGS {
        assert!(conf.contains(&format!("# {}\n", s.doc)), "{}", s.name);
    }
}
