//! Scanning JSON text byte by byte while knowing whether a byte is inside a string (a
//! string runs from `"` to the next `"` not escaped with `\`): what the scanners of
//! replies that hold several answers or a code fence need, without a full parse.

/// Whether a scan is inside a JSON string.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StringScan {
    in_string: bool,
    escaped: bool,
}

impl StringScan {
    /// Whether `byte`, the next byte of the text, belongs to a string (its closing quote
    /// does); outside a string nothing changes; call [`open`](Self::open) for a quote
    /// that starts one.
    pub(crate) fn inside(&mut self, byte: u8) -> bool {
        if !self.in_string {
            return false;
        }
        match byte {
            _ if self.escaped => self.escaped = false,
            b'\\' => self.escaped = true,
            b'"' => self.in_string = false,
            _ => {}
        }
        true
    }

    /// A string starts at the quote just read.
    pub(crate) fn open(&mut self) {
        self.in_string = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_quotes_end_strings_only_where_json_ends_them() {
        let text = br#"a"b\"c\\"d"#;
        let mut scan = StringScan::default();
        let inside: Vec<bool> = text
            .iter()
            .map(|&byte| {
                let inside = scan.inside(byte);
                if !inside && byte == b'"' {
                    scan.open();
                }
                inside
            })
            .collect();
        // a " b \ " c \ \ " d: the string opens at the first quote and closes at the
        // quote after the escaped backslash.
        assert_eq!(
            inside,
            [false, false, true, true, true, true, true, true, true, false]
        );
    }
}
