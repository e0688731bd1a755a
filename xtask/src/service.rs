//! A background service for the end-to-end checks (llama-server, the proxy's `serve`):
//! started with its output in a log file, waited on until `/health` answers 200, and
//! always stopped when dropped.

use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A running service.
pub struct Service {
    name: &'static str,
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Where its output goes.
    pub log: PathBuf,
}

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Service {
    /// Starts `command` (which must listen on `port`), logging to `log`, and waits up to
    /// `limit` for `GET /health` to answer 200.
    pub fn start(
        name: &'static str,
        command: &mut Command,
        port: u16,
        log: &Path,
        limit: Duration,
    ) -> Result<Self> {
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        println!(
            "xtask: starting {name} on port {port} (log: {})",
            log.display()
        );
        let child = command
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let mut service = Service {
            name,
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        service.wait_healthy(limit)?;
        Ok(service)
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (a graceful stop: the proxy finishes, profilers write their
    /// files) and waits up to `limit` for the exit; past it, the service is killed.
    pub fn interrupt_and_wait(mut self, limit: Duration) -> Result<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status()?;
        if !sent.success() {
            bail!("cannot send SIGINT to {} (pid {pid})", self.name);
        }
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "{} did not stop within {} s of SIGINT (it is killed now)",
            self.name,
            limit.as_secs()
        )
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, …) to the service, as an operator's
    /// `kill -SIGNAL` would; after `KILL` the process is reaped.
    pub fn signal(&mut self, signal: &str) -> Result<()> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()?;
        if !sent.success() {
            bail!("cannot send SIG{signal} to {} (pid {pid})", self.name);
        }
        if signal == "KILL" {
            self.child.wait()?;
        }
        Ok(())
    }

    fn wait_healthy(&mut self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        let health = format!("{}/health", self.url);
        let agent = ureq::Agent::new_with_defaults();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} {} before becoming healthy.\nLast lines of {}:\n{}",
                    self.name,
                    describe_exit(status),
                    self.log.display(),
                    log_tail(&self.log, 20)
                );
            }
            if agent
                .get(&health)
                .call()
                .is_ok_and(|response| response.status() == 200)
            {
                println!(
                    "xtask: {} healthy after {:.1?}",
                    self.name,
                    started.elapsed()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!(
            "{} did not answer {health} within {limit:?}; see {}",
            self.name,
            self.log.display()
        )
    }
}

/// How a process ended, in words: the signal's name and what it usually means, or the
/// exit code.
pub fn describe_exit(status: ExitStatus) -> String {
    let Some(signal) = status.signal() else {
        return format!("exited ({status})");
    };
    let meaning = match signal {
        4 => {
            "SIGILL: the binary uses instructions this CPU refuses; it was built for \
             another CPU. Delete its build (the cache folder named in the log path) and \
             run again to rebuild it for a portable baseline"
        }
        6 => "SIGABRT: it aborted itself; the log says why",
        7 => "SIGBUS: a bad memory access, often a truncated or changed file it had mapped (the model?)",
        9 => "SIGKILL: something killed it, often the kernel's out-of-memory killer (see `dmesg`)",
        11 => "SIGSEGV: it crashed on a bad memory access; the log may say where",
        15 => "SIGTERM: something asked it to stop",
        _ => "see `man 7 signal`",
    };
    format!("was killed by signal {signal} ({meaning})")
}

/// The last `lines` lines of a log file (or why it cannot be read).
pub fn log_tail(log: &Path, lines: usize) -> String {
    match std::fs::read(log) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let tail = all[all.len().saturating_sub(lines)..].join("\n");
            if tail.is_empty() {
                "(the log is empty)".to_owned()
            } else {
                tail
            }
        }
        Err(error) => format!("(cannot read the log: {error})"),
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_named_in_words() {
        let sigill = describe_exit(ExitStatus::from_raw(4));
        assert!(sigill.contains("signal 4 (SIGILL"), "{sigill}");
        assert!(sigill.contains("instructions this CPU refuses"), "{sigill}");
        let code = describe_exit(ExitStatus::from_raw(3 << 8));
        assert_eq!(code, "exited (exit status: 3)");
    }

    #[test]
    fn a_service_killed_before_it_is_healthy_is_reported_with_its_signal_and_log() {
        let dir = std::env::temp_dir().join(format!("xtask-sigill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("crash.log");
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo loading model; echo tinygemm_kernel_amx; kill -ILL $$",
        ]);
        let error = Service::start(
            "fake-server",
            &mut command,
            free_port().unwrap(),
            &log,
            Duration::from_secs(20),
        )
        .err()
        .map(|error| format!("{error:#}"))
        .unwrap();
        assert!(
            error.contains("fake-server was killed by signal 4 (SIGILL"),
            "{error}"
        );
        assert!(error.contains("instructions this CPU refuses"), "{error}");
        assert!(
            error.contains("loading model\ntinygemm_kernel_amx"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_tail_is_its_last_lines() {
        let dir = std::env::temp_dir().join(format!("xtask-log-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("server.log");
        std::fs::write(&log, "one\ntwo\nthree\nfour\n").unwrap();
        assert_eq!(log_tail(&log, 2), "three\nfour");
        assert_eq!(log_tail(&log, 10), "one\ntwo\nthree\nfour");
        std::fs::write(&log, "").unwrap();
        assert_eq!(log_tail(&log, 2), "(the log is empty)");
        assert!(log_tail(&dir.join("absent.log"), 2).starts_with("(cannot read the log"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
