//! `shardis [FILE.conf] [--setting value ...]`

use shardis::config::{Config, ConfigError};

/// Counts allocated bytes for `INFO memory`.
#[global_allocator]
static ALLOC: shardis::alloc::Counting = shardis::alloc::Counting;

fn main() {
    shardis::alloc::mark_installed();
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--repair-log") {
        repair_log(&args[1..]);
    }
    let config = match Config::from_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(ConfigError::Clap(e)) => e.exit(),
        Err(e) => {
            eprintln!("{}", e);
            std::process::exit(1);
        }
    };
    if let Err(e) = shardis::server::logging::init(&config) {
        eprintln!("{}", e);
        std::process::exit(1);
    }
    let logs_to_file = !config.logfile.is_empty();
    if let Err(e) = shardis::server::run(config) {
        if logs_to_file {
            tracing::error!("{}", e);
        }
        eprintln!("shardis: {}", e);
        // Shard threads may still be running (or stuck): leave without joining them.
        std::process::exit(1);
    }
}

/// `shardis --repair-log FILE`: cuts a damaged log segment at its first bad
/// record (what follows it is lost), like `redis-check-aof --fix`.
fn repair_log(args: &[std::ffi::OsString]) -> ! {
    let [path] = args else {
        eprintln!("usage: shardis --repair-log <dir>/shard-<i>/log-<epoch>.seg");
        std::process::exit(2);
    };
    match shardis::persist::recover::repair(std::path::Path::new(path)) {
        Ok(msg) => {
            println!("{}", msg);
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("shardis: {}", e);
            std::process::exit(1);
        }
    }
}
