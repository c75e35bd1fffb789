//! One server per data directory: an exclusive `flock` on `<dir>/shardis.lock`,
//! held for the life of the process (the kernel drops it if we die).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::StartError;

pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn take(dir: &Path) -> Result<Lock, StartError> {
        let path = dir.join("shardis.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StartError(format!("Can't open the lock file {}: {}", path.display(), e)))?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(StartError(format!(
                "Another shardis is already using the data directory {} (lock file {} is held)",
                dir.display(),
                path.display()
            )));
        }
        let _ = file.set_len(0);
        let _ = std::fs::write(&path, format!("{}\n", std::process::id()));
        Ok(Lock { _file: file })
    }
}
