//! GGUF's metadata value types: their codes, sizes and names.

/// A GGUF metadata value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    /// The type with this code.
    pub(super) fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// The size of a value of this type, for the fixed-size ones.
    pub(super) fn fixed_size(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }

    /// The smallest a value of this type can be (a string: its length; an array: its
    /// header), to bound counts against the bytes left.
    pub(super) fn min_size(self) -> u64 {
        match self {
            ValueType::String => 8,
            ValueType::Array => 12,
            other => other.fixed_size().unwrap_or(1),
        }
    }

    /// The type's name, for messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "a u8",
            ValueType::I8 => "an i8",
            ValueType::U16 => "a u16",
            ValueType::I16 => "an i16",
            ValueType::U32 => "a u32",
            ValueType::I32 => "an i32",
            ValueType::F32 => "an f32",
            ValueType::Bool => "a bool",
            ValueType::String => "a string",
            ValueType::Array => "an array",
            ValueType::U64 => "a u64",
            ValueType::I64 => "an i64",
            ValueType::F64 => "an f64",
        }
    }
}
