//! The GGUF reader against files written here: with and without a template, v2 and
//! v3, truncated, wrong magic and version, corrupt lengths.

use super::*;
use crate::chat_template_source::test_files::TestDir;

/// A GGUF metadata value, as the writer writes it.
enum Meta {
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(&'static str),
    Strings(Vec<String>),
    U64s(Vec<u64>),
    Nested(Vec<Vec<u8>>),
}

/// Writes a GGUF file: the header with `version`, the pairs, then a fake tensor blob.
fn gguf(version: u32, pairs: &[(&str, Meta)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, text: &str) {
        out.extend((text.len() as u64).to_le_bytes());
        out.extend(text.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend(version.to_le_bytes());
    out.extend(1u64.to_le_bytes());
    out.extend((pairs.len() as u64).to_le_bytes());
    for (key, value) in pairs {
        string(&mut out, key);
        match value {
            Meta::U32(v) => {
                out.extend(4u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Meta::I32(v) => {
                out.extend(5u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Meta::F32(v) => {
                out.extend(6u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Meta::Bool(v) => {
                out.extend(7u32.to_le_bytes());
                out.push(u8::from(*v));
            }
            Meta::Str(text) => {
                out.extend(8u32.to_le_bytes());
                string(&mut out, text);
            }
            Meta::Strings(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(8u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    string(&mut out, item);
                }
            }
            Meta::U64s(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(10u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    out.extend(item.to_le_bytes());
                }
            }
            Meta::Nested(arrays) => {
                out.extend(9u32.to_le_bytes());
                out.extend(9u32.to_le_bytes());
                out.extend((arrays.len() as u64).to_le_bytes());
                for array in arrays {
                    out.extend(0u32.to_le_bytes());
                    out.extend((array.len() as u64).to_le_bytes());
                    out.extend(array);
                }
            }
        }
    }
    out.extend([0xAB; 64]);
    out
}

const TEMPLATE: &str =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";

/// A vocabulary of `n` tokens where 1 is `<|im_start|>` and 2 is `<|im_end|>`.
fn vocabulary(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i {
            1 => "<|im_start|>".to_owned(),
            2 => "<|im_end|>".to_owned(),
            _ => format!("tok{i}"),
        })
        .collect()
}

/// The pairs a converted chat model has, in the converter's order (ids after tokens).
fn chat_model_pairs() -> Vec<(&'static str, Meta)> {
    vec![
        ("general.architecture", Meta::Str("llama")),
        ("llama.context_length", Meta::U32(8192)),
        ("llama.rope.freq_base", Meta::F32(10000.0)),
        ("tokenizer.ggml.model", Meta::Str("gpt2")),
        (TOKENS_KEY, Meta::Strings(vocabulary(5000))),
        ("tokenizer.ggml.token_type", Meta::U64s(vec![1; 5000])),
        (BOS_TOKEN_ID_KEY, Meta::U32(1)),
        (EOS_TOKEN_ID_KEY, Meta::U32(2)),
        ("tokenizer.ggml.add_bos_token", Meta::Bool(false)),
        (CHAT_TEMPLATE_KEY, Meta::Str(TEMPLATE)),
    ]
}

#[test]
fn a_v3_file_gives_its_template_and_the_tokens_at_its_ids() {
    // Setup
    let dir = TestDir::new("gguf-v3");
    let path = dir.write("model.gguf", gguf(3, &chat_model_pairs()));

    // Exec
    let read = read_chat_template(&path).unwrap();

    // Check
    assert_eq!(
        read,
        GgufChatTemplate {
            template: TEMPLATE.to_owned(),
            bos_token: Some("<|im_start|>".to_owned()),
            eos_token: Some("<|im_end|>".to_owned()),
        }
    );
}

#[test]
fn a_v2_file_reads_the_same_and_ids_may_come_before_the_vocabulary() {
    // Setup: signed ids, written before the tokens
    let dir = TestDir::new("gguf-v2");
    let pairs = vec![
        (CHAT_TEMPLATE_KEY, Meta::Str(TEMPLATE)),
        (EOS_TOKEN_ID_KEY, Meta::I32(1)),
        ("general.nested", Meta::Nested(vec![vec![1, 2, 3], vec![]])),
        (TOKENS_KEY, Meta::Strings(vocabulary(3))),
    ];
    let path = dir.write("model.gguf", gguf(2, &pairs));

    // Exec
    let read = read_chat_template(&path).unwrap();

    // Check: no bos id, so no bos token
    assert_eq!(read.template, TEMPLATE);
    assert_eq!(read.bos_token, None);
    assert_eq!(read.eos_token.as_deref(), Some("<|im_start|>"));
}

#[test]
fn a_file_without_a_template_says_so_and_names_the_key() {
    let dir = TestDir::new("gguf-none");
    let mut pairs = chat_model_pairs();
    pairs.retain(|(key, _)| *key != CHAT_TEMPLATE_KEY);
    let path = dir.write("base.gguf", gguf(3, &pairs));

    let error = read_chat_template(&path).unwrap_err();

    assert_eq!(
        error,
        TemplateSourceError::GgufNoTemplate { path: path.clone() }
    );
    let message = error.to_string();
    assert!(message.contains("`tokenizer.chat_template`"), "{message}");
    assert!(message.contains("base.gguf"), "{message}");
    assert!(message.contains("--chat-template-file"), "{message}");
}

#[test]
fn every_truncation_of_a_file_is_an_error_never_a_panic() {
    // Setup: a small file cut at every length before its metadata ends
    let dir = TestDir::new("gguf-cut");
    let bytes = gguf(
        3,
        &[
            (TOKENS_KEY, Meta::Strings(vocabulary(4))),
            (BOS_TOKEN_ID_KEY, Meta::U32(1)),
            (CHAT_TEMPLATE_KEY, Meta::Str("{{ x }}")),
        ],
    );
    let metadata_end = bytes.len() - 64;
    for cut in 0..metadata_end {
        let path = dir.write("cut.gguf", &bytes[..cut]);

        // Exec
        let result = read_chat_template(&path);

        // Check
        assert!(
            matches!(result, Err(TemplateSourceError::GgufTruncated { .. })),
            "cut at {cut}: {result:?}"
        );
    }
    let path = dir.write("whole.gguf", &bytes[..metadata_end]);
    assert!(
        read_chat_template(&path).is_ok(),
        "the metadata alone is enough"
    );
}

#[test]
fn a_wrong_magic_or_version_is_refused_by_name() {
    let dir = TestDir::new("gguf-magic");
    let mut safetensors = gguf(3, &chat_model_pairs());
    safetensors[..4].copy_from_slice(b"\x08\x00\x00\x00");
    let path = dir.write("model.safetensors", &safetensors);
    let error = read_chat_template(&path).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::NotGguf { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(r#"starts with "\x08\x00\x00\x00""#),
        "{error}"
    );

    for version in [1, 4, 0x0300_0000] {
        let path = dir.write("old.gguf", gguf(version, &chat_model_pairs()));
        let error = read_chat_template(&path).unwrap_err();
        assert_eq!(
            error,
            TemplateSourceError::UnsupportedGgufVersion {
                path: path.clone(),
                version
            }
        );
    }
}

#[test]
fn lengths_and_counts_beyond_the_file_are_errors_not_allocations() {
    let dir = TestDir::new("gguf-huge");
    // A key/value count no file of this size can hold.
    let mut bytes = gguf(3, &chat_model_pairs());
    bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    let path = dir.write("count.gguf", &bytes);
    let error = read_chat_template(&path).unwrap_err();
    assert!(
        error.to_string().contains("key/value pairs at byte 24"),
        "{error}"
    );
    assert!(
        matches!(error, TemplateSourceError::GgufTruncated { .. }),
        "{error:?}"
    );

    // A template length of 2^60 bytes.
    let mut bytes = gguf(3, &[(CHAT_TEMPLATE_KEY, Meta::Str("{{ x }}"))]);
    let length_at = 24 + 8 + CHAT_TEMPLATE_KEY.len() + 4;
    bytes[length_at..length_at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let path = dir.write("length.gguf", &bytes);
    let error = read_chat_template(&path).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::GgufTruncated { .. }),
        "{error:?}"
    );

    // A vocabulary claiming more tokens than the file has bytes.
    let mut bytes = gguf(3, &[(TOKENS_KEY, Meta::Strings(vocabulary(3)))]);
    let count_at = 24 + 8 + TOKENS_KEY.len() + 4 + 4;
    bytes[count_at..count_at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let path = dir.write("tokens.gguf", &bytes);
    let error = read_chat_template(&path).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::GgufTruncated { .. }),
        "{error:?}"
    );
}

#[test]
fn bad_types_and_ids_name_the_key() {
    let dir = TestDir::new("gguf-types");
    let path = dir.write("t.gguf", gguf(3, &[(CHAT_TEMPLATE_KEY, Meta::U32(7))]));
    assert_eq!(
        read_chat_template(&path).unwrap_err(),
        TemplateSourceError::GgufWrongType {
            path: path.clone(),
            key: CHAT_TEMPLATE_KEY,
            expected: "a string",
            found: "a u32",
        }
    );

    let pairs = vec![
        (TOKENS_KEY, Meta::Strings(vocabulary(3))),
        (EOS_TOKEN_ID_KEY, Meta::U32(3)),
        (CHAT_TEMPLATE_KEY, Meta::Str(TEMPLATE)),
    ];
    let path = dir.write("id.gguf", gguf(3, &pairs));
    let error = read_chat_template(&path).unwrap_err().to_string();
    assert!(
        error.contains("`tokenizer.ggml.eos_token_id` is 3, but the vocabulary has 3 tokens"),
        "{error}"
    );

    let pairs = vec![
        (BOS_TOKEN_ID_KEY, Meta::I32(-1)),
        (CHAT_TEMPLATE_KEY, Meta::Str(TEMPLATE)),
    ];
    let path = dir.write("negative.gguf", gguf(3, &pairs));
    let error = read_chat_template(&path).unwrap_err().to_string();
    assert!(error.contains("is negative"), "{error}");

    let mut bytes = gguf(3, &[("general.name", Meta::Str("x"))]);
    let type_at = 24 + 8 + "general.name".len();
    bytes[type_at..type_at + 4].copy_from_slice(&13u32.to_le_bytes());
    let path = dir.write("type.gguf", &bytes);
    let error = read_chat_template(&path).unwrap_err().to_string();
    assert!(error.contains("unknown value type 13"), "{error}");
}

#[test]
fn a_missing_file_is_unreadable_naming_it() {
    let dir = TestDir::new("gguf-missing");
    let path = dir.path().join("absent.gguf");
    let error = read_chat_template(&path).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::Unreadable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("absent.gguf"), "{error}");
}
