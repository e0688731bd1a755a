//! A background service for the end-to-end checks (llama-server, the proxy's `serve`):
//! started with its output in a log file, waited on until `/health` answers 200, and
//! always stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

    fn wait_healthy(&mut self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        let health = format!("{}/health", self.url);
        let agent = ureq::Agent::new_with_defaults();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before becoming healthy; see {}",
                    self.name,
                    self.log.display()
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

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
