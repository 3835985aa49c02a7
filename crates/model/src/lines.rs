//! Line numbers for error messages about the files users write (JSON reports,
//! suppressions), counted the way an editor shows them whatever the file's line ends.

/// The UTF-8 byte-order mark some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `text` without a leading byte-order mark. Parsers that do not skip one are given the
/// rest; the mark sits before the first line break, so line numbers do not change.
pub fn strip_bom(text: &[u8]) -> &[u8] {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// The 1-based line of byte `offset` in `text`: `\n`, `\r\n` and a lone `\r` each end a
/// line. An offset past the end is on the last line.
pub fn line_at(text: &[u8], offset: usize) -> usize {
    let before = &text[..offset.min(text.len())];
    let mut line = 1;
    for (i, b) in before.iter().enumerate() {
        match b {
            b'\n' => line += 1,
            // A `\r` ends a line unless the `\n` of a CRLF pair follows it.
            b'\r' if text.get(i + 1) != Some(&b'\n') => line += 1,
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_end_counts_once() {
        assert_eq!(line_at(b"a\nb\nc", 4), 3);
        assert_eq!(line_at(b"a\r\nb\r\nc", 6), 3);
        // The offset of a `\n` of a CRLF pair: still the line the pair ends.
        assert_eq!(line_at(b"a\r\nb", 2), 1);
        assert_eq!(line_at(b"a\rb\rc", 4), 3);
        assert_eq!(line_at(b"abc", 99), 1);
    }

    #[test]
    fn a_byte_order_mark_is_not_a_line() {
        let text = b"\xEF\xBB\xBFa\nb";
        assert_eq!(strip_bom(text), b"a\nb");
        assert_eq!(line_at(text, 5), 2);
    }
}
