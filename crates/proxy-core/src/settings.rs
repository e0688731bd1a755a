//! Completion settings: the sampling fields sent to every backend.
//!
//! The layers, later winning (a shallow merge: a top-level key replaces the whole
//! value, as Python's `dict.update`):
//! 1. a preset ([`SettingsPreset`]: `simple`, the default, or `deterministic_mirostat`);
//! 2. the user's settings file, a JSON object: `$CCP_COMPLETION_SETTINGS`, else
//!    `~/.config/chat-completion-proxy/completions_api_settings.json`
//!    ([`settings_file_path`]). A missing file is fine; an unreadable or broken one
//!    is logged as a warning and ignored, never an error. Unlike the reference, no
//!    empty file is created;
//! 3. (in the backend) the backend's own fields, then the caller's per-request
//!    sampling fields ([`crate::backend::SamplingOverrides`]).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{json, Map, Value};

/// The environment variable naming the user's settings file.
pub const SETTINGS_FILE_ENV: &str = "CCP_COMPLETION_SETTINGS";

/// The settings file's name inside `~/.config/chat-completion-proxy/`.
pub const SETTINGS_FILE_NAME: &str = "completions_api_settings.json";

/// The stop string that ends a reply after its first answer object (the close of the
/// two-space-indented `params` and of the object). The last of [`SIMPLE_STOP`] (and of
/// Groq's defaults); it is not sent when a reply may hold several calls (parallel tool
/// calls), see [`SamplingOverrides::removed_stops`](crate::backend::SamplingOverrides::removed_stops).
pub const CALL_END_STOP: &str = "  }\n}\n";

/// The `simple` preset's stop list, in order (MemGPT's `settings/simple.py`).
pub const SIMPLE_STOP: [&str; 14] = [
    "\nUSER:",
    "\nASSISTANT:",
    "\nFUNCTION RETURN:",
    "\nUSER",
    "\nASSISTANT",
    "\nFUNCTION RETURN",
    "\nFUNCTION",
    "\nFUNC",
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "\n### ",
    "\n#",
    CALL_END_STOP,
];

/// A named base set of completion settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SettingsPreset {
    /// Only the stop list (`stop`).
    #[default]
    Simple,
    /// text-generation-webui style deterministic sampling with mirostat 2; its stop
    /// list is under `stopping_strings` (the reference nests it in a second list by
    /// mistake; here it is the flat list).
    DeterministicMirostat,
}

/// A preset name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown completion settings preset `{0}`; available: simple, deterministic_mirostat")]
pub struct UnknownPreset(pub String);

impl FromStr for SettingsPreset {
    type Err = UnknownPreset;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "simple" => Ok(SettingsPreset::Simple),
            "deterministic_mirostat" => Ok(SettingsPreset::DeterministicMirostat),
            other => Err(UnknownPreset(other.to_owned())),
        }
    }
}

impl SettingsPreset {
    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            SettingsPreset::Simple => "simple",
            SettingsPreset::DeterministicMirostat => "deterministic_mirostat",
        }
    }

    /// The preset's settings.
    pub fn settings(self) -> Map<String, Value> {
        let value = match self {
            SettingsPreset::Simple => json!({ "stop": SIMPLE_STOP }),
            SettingsPreset::DeterministicMirostat => json!({
                "max_new_tokens": 250,
                "do_sample": false,
                "temperature": 0,
                "top_p": 0,
                "typical_p": 1,
                "repetition_penalty": 1.18,
                "repetition_penalty_range": 0,
                "encoder_repetition_penalty": 1,
                "top_k": 1,
                "min_length": 0,
                "no_repeat_ngram_size": 0,
                "num_beams": 1,
                "penalty_alpha": 0,
                "length_penalty": 1,
                "early_stopping": false,
                "guidance_scale": 1,
                "negative_prompt": "",
                "seed": -1,
                "add_bos_token": true,
                "stopping_strings": SIMPLE_STOP,
                "truncation_length": 4096,
                "ban_eos_token": false,
                "skip_special_tokens": true,
                "top_a": 0,
                "tfs": 1,
                "epsilon_cutoff": 0,
                "eta_cutoff": 0,
                "mirostat_mode": 2,
                "mirostat_tau": 4,
                "mirostat_eta": 0.1,
            }),
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// Where the user's settings file is: `$CCP_COMPLETION_SETTINGS`, else
/// `~/.config/chat-completion-proxy/completions_api_settings.json`; `None` when
/// neither the variable nor a home directory is known.
pub fn settings_file_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(SETTINGS_FILE_ENV).filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    dirs::home_dir().map(|home| {
        home.join(".config")
            .join("chat-completion-proxy")
            .join(SETTINGS_FILE_NAME)
    })
}

/// Reads a settings file: `None` when it is missing, or (with a warning) unreadable,
/// not JSON, or not a JSON object.
pub fn load_settings_file(path: &Path) -> Option<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(
                "no completion settings file at {}; using the preset",
                path.display()
            );
            return None;
        }
        Err(error) => {
            tracing::warn!(
                "cannot read the completion settings file {} ({error}); using the preset",
                path.display()
            );
            return None;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Some(map),
        Ok(other) => {
            tracing::warn!(
                "the completion settings file {} holds {} instead of a JSON object; ignoring it",
                path.display(),
                json_type(&other)
            );
            None
        }
        Err(error) => {
            tracing::warn!(
                "the completion settings file {} is not valid JSON ({error}); ignoring it",
                path.display()
            );
            None
        }
    }
}

/// Shallow merge: every top-level key of `top` replaces the one in `base`.
pub fn merge_settings(base: &mut Map<String, Value>, top: Map<String, Value>) {
    for (key, value) in top {
        base.insert(key, value);
    }
}

/// The preset with the settings file at `path` (if any) merged on top.
pub fn completion_settings_from(preset: SettingsPreset, path: Option<&Path>) -> Map<String, Value> {
    let mut settings = preset.settings();
    if let Some(user) = path.and_then(load_settings_file) {
        merge_settings(&mut settings, user);
    }
    settings
}

/// The preset with the user's settings file ([`settings_file_path`]) merged on top.
/// The file is read on every call, so edits apply to the next request.
pub fn completion_settings(preset: SettingsPreset) -> Map<String, Value> {
    completion_settings_from(preset, settings_file_path().as_deref())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("ccp-settings-{}-{name}.json", std::process::id()));
        let written = std::fs::write(&path, contents);
        assert!(written.is_ok(), "cannot write {path:?}: {written:?}");
        path
    }

    #[test]
    fn simple_preset_is_the_stop_list_in_order() {
        let settings = SettingsPreset::default().settings();
        assert_eq!(settings.len(), 1);
        assert_eq!(settings.get("stop"), Some(&json!(SIMPLE_STOP)));
        assert_eq!(SIMPLE_STOP.first(), Some(&"\nUSER:"));
        assert_eq!(SIMPLE_STOP.last(), Some(&"  }\n}\n"));
    }

    #[test]
    fn deterministic_mirostat_has_a_flat_stopping_strings_list() {
        let settings = SettingsPreset::DeterministicMirostat.settings();
        assert_eq!(settings.get("stopping_strings"), Some(&json!(SIMPLE_STOP)));
        assert_eq!(settings.get("mirostat_mode"), Some(&json!(2)));
        assert_eq!(settings.get("repetition_penalty"), Some(&json!(1.18)));
        assert_eq!(settings.get("stop"), None);
        assert_eq!(settings.len(), 30);
    }

    #[test]
    fn preset_names_round_trip() {
        for preset in [
            SettingsPreset::Simple,
            SettingsPreset::DeterministicMirostat,
        ] {
            assert_eq!(preset.name().parse::<SettingsPreset>(), Ok(preset));
        }
        assert!("fast".parse::<SettingsPreset>().is_err());
    }

    #[test]
    fn user_file_is_merged_over_the_preset() {
        let path = temp_file("merge", r#"{"temperature": 0.1, "stop": ["X"]}"#);
        let settings = completion_settings_from(SettingsPreset::Simple, Some(&path));
        assert_eq!(
            Value::Object(settings),
            json!({"stop": ["X"], "temperature": 0.1})
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn missing_or_broken_files_leave_the_preset() {
        let preset = SettingsPreset::Simple.settings();
        let missing = std::env::temp_dir().join("ccp-settings-does-not-exist.json");
        assert_eq!(
            completion_settings_from(SettingsPreset::Simple, Some(&missing)),
            preset
        );
        for (name, contents) in [("broken", "{not json"), ("array", "[1, 2]")] {
            let path = temp_file(name, contents);
            assert_eq!(
                completion_settings_from(SettingsPreset::Simple, Some(&path)),
                preset
            );
            let _ = std::fs::remove_file(path);
        }
    }
}
