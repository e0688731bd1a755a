//! Properties: the one-pass readers and writers agree with the exact path (escape the
//! control characters, parse with serde_json, write with `dumps`) on every input.

use proptest::prelude::*;
use serde_json::Value;

use super::{dumps, loads, loads_exact, loads_ok, redumps};
use crate::repair::properties::{json_like_text, json_value};

/// What the exact path makes of `text`, as `loads`/`redumps` must.
fn check_agrees(text: &str) -> Result<(), TestCaseError> {
    let exact = loads_exact(text).ok();
    prop_assert_eq!(loads(text).ok(), exact.clone(), "loads of {:?}", text);
    prop_assert_eq!(loads_ok(text), exact.clone(), "loads_ok of {:?}", text);
    for indent in [None, Some(2)] {
        let expected = exact.as_ref().map(|value| dumps(value, indent));
        prop_assert_eq!(redumps(text, indent), expected, "redumps of {:?}", text);
    }
    Ok(())
}

proptest! {
    #[test]
    fn json_text_in_any_layout(value in json_value()) {
        let compact = serde_json::to_string(&value).unwrap_or_default();
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        check_agrees(&compact)?;
        check_agrees(&pretty)?;
        check_agrees(&dumps(&value, Some(2)))?;
    }

    #[test]
    fn arbitrary_json_like_text(text in json_like_text()) {
        check_agrees(&text)?;
    }

    #[test]
    fn raw_control_characters_in_strings(text in "[\\x00-\\x1f a\"{}:,\\[\\]]{0,24}") {
        check_agrees(&text)?;
        check_agrees(&format!("{{\"k\": \"{text}\"}}"))?;
    }
}

#[test]
fn the_exact_path_reads_what_serde_json_reads() {
    let value: Value = serde_json::json!({"a": [1, 2.5, "x\ny"], "b": null});
    assert_eq!(loads_exact(&value.to_string()).ok(), Some(value));
}
