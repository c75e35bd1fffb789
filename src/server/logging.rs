//! `tracing` setup: Redis's four log levels mapped onto tracing levels, the
//! `logfile` setting, and a reload handle so `CONFIG SET loglevel` applies at
//! once.

use std::sync::OnceLock;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

use crate::config::{Config, LogLevel};

type Handle = reload::Handle<LevelFilter, tracing_subscriber::Registry>;

static RELOAD: OnceLock<Handle> = OnceLock::new();

pub fn level(l: LogLevel) -> LevelFilter {
    match l {
        LogLevel::Debug => LevelFilter::TRACE,
        LogLevel::Verbose => LevelFilter::DEBUG,
        LogLevel::Notice => LevelFilter::INFO,
        LogLevel::Warning => LevelFilter::WARN,
    }
}

/// Installs the global subscriber. Returns an error naming the log file if
/// it cannot be opened.
pub fn init(config: &Config) -> Result<(), String> {
    let (filter, handle) = reload::Layer::new(level(config.loglevel));
    let fmt = tracing_subscriber::fmt::layer().with_target(false).with_thread_names(true);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if config.logfile.is_empty() {
        registry.with(fmt.with_writer(std::io::stdout)).try_init()
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
            .map_err(|e| format!("Can't open the log file {}: {}", config.logfile, e))?;
        registry.with(fmt.with_ansi(false).with_writer(std::sync::Mutex::new(file))).try_init()
    };
    // A second init (tests embedding the server) keeps the first subscriber.
    if result.is_ok() {
        let _ = RELOAD.set(handle);
    }
    Ok(())
}

/// Applies settings that live in the logger (after CONFIG SET).
pub fn apply(config: &Config) {
    if let Some(h) = RELOAD.get() {
        let _ = h.modify(|f| *f = level(config.loglevel));
    }
}
