//! `shardis [FILE.conf] [--setting value ...]`

use shardis::config::{Config, ConfigError};

/// Counts allocated bytes for `INFO memory`.
#[global_allocator]
static ALLOC: shardis::alloc::Counting = shardis::alloc::Counting;

fn main() {
    shardis::alloc::mark_installed();
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
