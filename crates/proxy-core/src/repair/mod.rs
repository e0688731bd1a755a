//! Recovering a JSON value from a model's malformed output.
//!
//! PLACEHOLDER INTERFACE — implementation in progress.

use serde_json::Value;

/// Why no JSON value could be recovered from a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// Every strategy failed.
    #[error("no JSON value could be recovered from the text: {reason}")]
    NoJson {
        /// What the last strategy found wrong.
        reason: String,
    },
}

/// Recovers the JSON value a model meant to write.
pub fn repair_json(text: &str) -> Result<Value, RepairError> {
    crate::python_json::loads(text).map_err(|e| RepairError::NoJson {
        reason: e.to_string(),
    })
}
