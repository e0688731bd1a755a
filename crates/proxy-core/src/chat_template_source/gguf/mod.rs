//! The chat template in a GGUF file's metadata: `tokenizer.chat_template`, and the
//! special tokens `tokenizer.ggml.tokens[tokenizer.ggml.bos_token_id]` (and `eos`).
//!
//! A small reader of the header and the key/value section only (GGUF versions 2 and 3,
//! little-endian): no crate on crates.io reads GGUF metadata without either binding
//! llama.cpp or reading (mapping) the whole file, and a model file is hundreds of
//! megabytes. This one streams through a `BufReader`, reads the three values it needs
//! and skips the rest (the vocabulary's ~50k strings are walked, not kept), and checks
//! every length against the file's size first, so a corrupt or truncated file is an
//! error, never a huge allocation or a panic. The tensor section is never read.
//!
//! Layout: `"GGUF"`, version `u32`, tensor count `u64`, key/value count `u64`, then
//! each pair: key (`u64` length + UTF-8), value type `u32`, value. A string is a
//! `u64` length + bytes; an array is item type `u32` + count `u64` + items.

use std::fs::File;
use std::io::{BufReader, ErrorKind as IoErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::TemplateSourceError;
use value_type::ValueType;

#[cfg(test)]
mod tests;
mod value_type;

/// The metadata key holding the Jinja chat template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";
/// The metadata key holding the vocabulary (an array of strings).
pub const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
/// The metadata key holding the beginning-of-sequence token's id.
pub const BOS_TOKEN_ID_KEY: &str = "tokenizer.ggml.bos_token_id";
/// The metadata key holding the end-of-sequence token's id.
pub const EOS_TOKEN_ID_KEY: &str = "tokenizer.ggml.eos_token_id";

/// The GGUF spec's bound on a key's length.
const MAX_KEY_LEN: u64 = 65_535;
/// How deep arrays of arrays may nest (real files nest none).
const MAX_ARRAY_DEPTH: u32 = 4;

/// What a GGUF file's metadata says about its chat template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GgufChatTemplate {
    /// `tokenizer.chat_template`.
    pub template: String,
    /// The token at `tokenizer.ggml.bos_token_id`, when both keys are there.
    pub bos_token: Option<String>,
    /// The token at `tokenizer.ggml.eos_token_id`, when both keys are there.
    pub eos_token: Option<String>,
}

/// Where the vocabulary array's items start, and how many there are.
#[derive(Debug, Clone, Copy)]
struct TokensArray {
    start: u64,
    count: u64,
}

/// Reads the chat template and its special tokens from the GGUF file at `path`.
pub(crate) fn read_chat_template(path: &Path) -> Result<GgufChatTemplate, TemplateSourceError> {
    let mut reader = MetadataReader::open(path)?;
    reader.header()?;
    let kv_count = reader.u64("the key/value count")?;
    reader.bound_count(kv_count, 8 + 4 + 1, "key/value pairs")?;
    let mut template = None;
    let mut bos_id = None;
    let mut eos_id = None;
    let mut tokens = None;
    for _ in 0..kv_count {
        let key = reader.key()?;
        let value_type = reader.value_type()?;
        match key.as_str() {
            CHAT_TEMPLATE_KEY => {
                reader.expect(CHAT_TEMPLATE_KEY, value_type, ValueType::String, "a string")?;
                template = Some(reader.string(CHAT_TEMPLATE_KEY, u64::MAX)?);
            }
            BOS_TOKEN_ID_KEY => bos_id = Some(reader.token_id(BOS_TOKEN_ID_KEY, value_type)?),
            EOS_TOKEN_ID_KEY => eos_id = Some(reader.token_id(EOS_TOKEN_ID_KEY, value_type)?),
            TOKENS_KEY => {
                reader.expect(
                    TOKENS_KEY,
                    value_type,
                    ValueType::Array,
                    "an array of strings",
                )?;
                let item_type = reader.value_type()?;
                reader.expect(
                    TOKENS_KEY,
                    item_type,
                    ValueType::String,
                    "an array of strings",
                )?;
                let count = reader.u64("the vocabulary's length")?;
                reader.bound_count(count, 8, "tokens")?;
                tokens = Some(TokensArray {
                    start: reader.pos,
                    count,
                });
                reader.skip_items(ValueType::String, count, 0)?;
            }
            _ => reader.skip_value(value_type, 0)?,
        }
    }
    let template = template.ok_or_else(|| TemplateSourceError::GgufNoTemplate {
        path: path.to_owned(),
    })?;
    let (bos_token, eos_token) = match tokens {
        Some(tokens) => reader.special_tokens(tokens, bos_id, eos_id)?,
        None => (None, None),
    };
    Ok(GgufChatTemplate {
        template,
        bos_token,
        eos_token,
    })
}

/// Streams through a GGUF file's metadata, keeping its position and size so every
/// length is checked before it is read or skipped.
struct MetadataReader {
    inner: BufReader<File>,
    path: PathBuf,
    pos: u64,
    len: u64,
}

impl MetadataReader {
    fn open(path: &Path) -> Result<Self, TemplateSourceError> {
        let unreadable = |error: std::io::Error| TemplateSourceError::Unreadable {
            path: path.to_owned(),
            detail: error.to_string(),
        };
        let file = File::open(path).map_err(unreadable)?;
        let len = file.metadata().map_err(unreadable)?.len();
        Ok(MetadataReader {
            inner: BufReader::new(file),
            path: path.to_owned(),
            pos: 0,
            len,
        })
    }

    /// The magic and the version (2 or 3); the tensor count is read past.
    fn header(&mut self) -> Result<(), TemplateSourceError> {
        if self.len < 4 {
            return Err(self.truncated("the GGUF magic", 4));
        }
        let magic: [u8; 4] = self.bytes("the GGUF magic")?;
        if &magic != b"GGUF" {
            return Err(TemplateSourceError::NotGguf {
                path: self.path.clone(),
                found: format!("\"{}\"", magic.escape_ascii()),
            });
        }
        let version = self.u32("the GGUF version")?;
        if !(2..=3).contains(&version) {
            return Err(TemplateSourceError::UnsupportedGgufVersion {
                path: self.path.clone(),
                version,
            });
        }
        self.u64("the tensor count")?;
        Ok(())
    }

    fn io_error(&self, error: &std::io::Error) -> TemplateSourceError {
        TemplateSourceError::Unreadable {
            path: self.path.clone(),
            detail: error.to_string(),
        }
    }

    fn truncated(&self, what: &str, needed: u64) -> TemplateSourceError {
        TemplateSourceError::GgufTruncated {
            path: self.path.clone(),
            what: what.to_owned(),
            offset: self.pos,
            needed,
            len: self.len,
        }
    }

    fn corrupt(&self, offset: u64, detail: String) -> TemplateSourceError {
        TemplateSourceError::GgufCorrupt {
            path: self.path.clone(),
            offset,
            detail,
        }
    }

    /// `needed` more bytes are in the file.
    fn need(&self, needed: u64, what: &str) -> Result<(), TemplateSourceError> {
        match self.pos.checked_add(needed) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.truncated(what, needed)),
        }
    }

    /// `count` items of at least `min_size` bytes each fit in the rest of the file (a
    /// count past the end is a truncated or corrupt file, like a length).
    fn bound_count(
        &self,
        count: u64,
        min_size: u64,
        what: &str,
    ) -> Result<(), TemplateSourceError> {
        self.need(count.saturating_mul(min_size), &format!("{count} {what}"))
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], TemplateSourceError> {
        self.need(N as u64, what)?;
        let mut buffer = [0; N];
        self.read_into(&mut buffer, what)?;
        Ok(buffer)
    }

    fn read_into(&mut self, buffer: &mut [u8], what: &str) -> Result<(), TemplateSourceError> {
        self.inner.read_exact(buffer).map_err(|error| {
            if error.kind() == IoErrorKind::UnexpectedEof {
                self.truncated(what, buffer.len() as u64)
            } else {
                self.io_error(&error)
            }
        })?;
        self.pos += buffer.len() as u64;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, TemplateSourceError> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, TemplateSourceError> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    fn skip(&mut self, count: u64, what: &str) -> Result<(), TemplateSourceError> {
        self.need(count, what)?;
        let mut left = count;
        while left > 0 {
            let step = left.min(i64::MAX as u64);
            self.inner
                .seek_relative(step as i64)
                .map_err(|error| self.io_error(&error))?;
            left -= step;
        }
        self.pos += count;
        Ok(())
    }

    fn value_type(&mut self) -> Result<ValueType, TemplateSourceError> {
        let offset = self.pos;
        let code = self.u32("a value type")?;
        ValueType::from_code(code)
            .ok_or_else(|| self.corrupt(offset, format!("unknown value type {code}")))
    }

    /// A string's length, checked against the file.
    fn string_len(&mut self, what: &str) -> Result<u64, TemplateSourceError> {
        let len = self.u64(what)?;
        self.need(len, what)?;
        Ok(len)
    }

    /// A string of at most `max` bytes.
    fn string(&mut self, what: &str, max: u64) -> Result<String, TemplateSourceError> {
        let offset = self.pos;
        let len = self.u64(what)?;
        if len > max {
            return Err(self.corrupt(offset, format!("{what} {len} bytes long (at most {max})")));
        }
        self.need(len, what)?;
        let start = self.pos;
        let size = usize::try_from(len).map_err(|_| self.truncated(what, len))?;
        let mut buffer = vec![0; size];
        self.read_into(&mut buffer, what)?;
        String::from_utf8(buffer).map_err(|_| self.corrupt(start, format!("{what} is not UTF-8")))
    }

    fn key(&mut self) -> Result<String, TemplateSourceError> {
        self.string("a key", MAX_KEY_LEN)
    }

    fn expect(
        &self,
        key: &'static str,
        found: ValueType,
        wanted: ValueType,
        expected: &'static str,
    ) -> Result<(), TemplateSourceError> {
        if found == wanted {
            Ok(())
        } else {
            Err(TemplateSourceError::GgufWrongType {
                path: self.path.clone(),
                key,
                expected,
                found: found.name(),
            })
        }
    }

    /// A token id: any non-negative integer type (converters write a `u32`).
    fn token_id(
        &mut self,
        key: &'static str,
        value_type: ValueType,
    ) -> Result<u64, TemplateSourceError> {
        let offset = self.pos;
        let id = match value_type {
            ValueType::U8 => Some(u64::from(self.bytes::<1>(key)?[0])),
            ValueType::U16 => Some(u64::from(u16::from_le_bytes(self.bytes(key)?))),
            ValueType::U32 => Some(u64::from(u32::from_le_bytes(self.bytes(key)?))),
            ValueType::U64 => Some(u64::from_le_bytes(self.bytes(key)?)),
            ValueType::I8 => u64::try_from(i8::from_le_bytes(self.bytes(key)?)).ok(),
            ValueType::I16 => u64::try_from(i16::from_le_bytes(self.bytes(key)?)).ok(),
            ValueType::I32 => u64::try_from(i32::from_le_bytes(self.bytes(key)?)).ok(),
            ValueType::I64 => u64::try_from(i64::from_le_bytes(self.bytes(key)?)).ok(),
            other => {
                return Err(TemplateSourceError::GgufWrongType {
                    path: self.path.clone(),
                    key,
                    expected: "an integer",
                    found: other.name(),
                })
            }
        };
        id.ok_or_else(|| self.corrupt(offset, format!("`{key}` is negative")))
    }

    fn skip_value(&mut self, value_type: ValueType, depth: u32) -> Result<(), TemplateSourceError> {
        match value_type {
            ValueType::String => {
                let len = self.string_len("a string")?;
                self.skip(len, "a string")
            }
            ValueType::Array => {
                let offset = self.pos;
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.corrupt(
                        offset,
                        format!("arrays nested more than {MAX_ARRAY_DEPTH} deep"),
                    ));
                }
                let item_type = self.value_type()?;
                let count = self.u64("an array's length")?;
                self.bound_count(count, item_type.min_size(), "array items")?;
                self.skip_items(item_type, count, depth + 1)
            }
            fixed => self.skip(fixed.fixed_size().unwrap_or(0), fixed.name()),
        }
    }

    fn skip_items(
        &mut self,
        item_type: ValueType,
        count: u64,
        depth: u32,
    ) -> Result<(), TemplateSourceError> {
        if let Some(size) = item_type.fixed_size() {
            // `bound_count` checked `count` against the file, so this cannot overflow.
            return self.skip(count.saturating_mul(size), "an array");
        }
        for _ in 0..count {
            self.skip_value(item_type, depth)?;
        }
        Ok(())
    }

    /// The tokens at `bos_id` and `eos_id` in the vocabulary (walked again from its
    /// start: the ids come after it in the files converters write).
    fn special_tokens(
        &mut self,
        tokens: TokensArray,
        bos_id: Option<u64>,
        eos_id: Option<u64>,
    ) -> Result<(Option<String>, Option<String>), TemplateSourceError> {
        let wanted = [(BOS_TOKEN_ID_KEY, bos_id), (EOS_TOKEN_ID_KEY, eos_id)];
        for (key, id) in wanted {
            if let Some(id) = id.filter(|id| *id >= tokens.count) {
                return Err(self.corrupt(
                    tokens.start,
                    format!(
                        "`{key}` is {id}, but the vocabulary has {} tokens",
                        tokens.count
                    ),
                ));
            }
        }
        let Some(last) = bos_id.max(eos_id) else {
            return Ok((None, None));
        };
        self.inner
            .seek(SeekFrom::Start(tokens.start))
            .map_err(|error| self.io_error(&error))?;
        self.pos = tokens.start;
        let (mut bos, mut eos) = (None, None);
        for index in 0..=last {
            if Some(index) == bos_id || Some(index) == eos_id {
                let token = self.string("a token", u64::MAX)?;
                if Some(index) == bos_id {
                    bos = Some(token.clone());
                }
                if Some(index) == eos_id {
                    eos = Some(token);
                }
            } else {
                let len = self.string_len("a token")?;
                self.skip(len, "a token")?;
            }
        }
        Ok((bos, eos))
    }
}
