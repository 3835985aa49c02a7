//! Line numbers for error messages about the files users write (identities, config,
//! rules, suppressions, roster checks, JSON reports), counted the way an editor shows
//! them whatever the file's line ends: `\n`, `\r\n` and a lone `\r` each end one line, and
//! a UTF-8 byte-order mark is not a line.
//!
//! Every parser of those files reports positions through [`LineIndex`], so a file saved
//! by Excel (CRLF, often a BOM) and the same file saved on Linux give the same `file:line`.

/// The UTF-8 byte-order mark some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `text` without a leading byte-order mark. Parsers that do not skip one are given the
/// rest; the mark sits before the first line break, so line numbers do not change.
pub fn strip_bom(text: &[u8]) -> &[u8] {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// `text` without a leading byte-order mark, for parsers that take `&str`.
pub fn strip_bom_str(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Where each line of a text starts, so many positions are turned into line numbers
/// without rescanning the text for each.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a [u8],
    /// Byte offset of the first byte of every line after the first.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a [u8]) -> LineIndex<'a> {
        let mut starts = Vec::new();
        for (i, b) in text.iter().enumerate() {
            match b {
                b'\n' => starts.push(i + 1),
                // A `\r` ends a line unless the `\n` of a CRLF pair follows it.
                b'\r' if text.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
        }
        LineIndex { text, starts }
    }

    /// The 1-based line of byte `offset`. An offset past the end is on the last line.
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        // Lines that start at or before `offset`, plus the first.
        self.starts.partition_point(|&s| s <= offset) + 1
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line(offset);
        let start = if line == 1 { 0 } else { self.starts[line - 2] };
        let mut before = &self.text[start..offset];
        if line == 1 {
            before = strip_bom(before);
        }
        // Count characters, not bytes: continuation bytes are not characters.
        let col = before.iter().filter(|b| (**b & 0xC0) != 0x80).count() + 1;
        (line, col)
    }

    /// The 1-based line of the first byte that is not valid UTF-8, when there is one.
    pub fn first_invalid_utf8(&self) -> Option<usize> {
        std::str::from_utf8(self.text)
            .err()
            .map(|e| self.line(e.valid_up_to()))
    }
}

/// The 1-based line of byte `offset` in `text` (one lookup; build a [`LineIndex`] for many).
pub fn line_at(text: &[u8], offset: usize) -> usize {
    LineIndex::new(text).line(offset)
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
        assert_eq!(line_at(b"", 0), 1);
        // The first byte after a line end is on the next line.
        assert_eq!(line_at(b"a\nb", 2), 2);
        assert_eq!(line_at(b"a\n", 1), 1);
    }

    #[test]
    fn a_byte_order_mark_is_not_a_line() {
        let text = b"\xEF\xBB\xBFa\nb";
        assert_eq!(strip_bom(text), b"a\nb");
        assert_eq!(line_at(text, 5), 2);
        assert_eq!(strip_bom_str("\u{feff}x"), "x");
    }

    #[test]
    fn columns_count_characters_after_the_line_start() {
        for text in [
            &b"ab\ncd=\xC3\xA9x"[..],
            b"ab\r\ncd=\xC3\xA9x",
            b"ab\rcd=\xC3\xA9x",
        ] {
            let idx = LineIndex::new(text);
            let x = text.len() - 1;
            assert_eq!(idx.line_col(x), (2, 5), "{text:?}");
        }
        let bom = b"\xEF\xBB\xBFkey";
        assert_eq!(LineIndex::new(bom).line_col(4), (1, 2));
    }

    #[test]
    fn invalid_utf8_is_found_on_its_line() {
        assert_eq!(
            LineIndex::new(b"a\r\nb\r\n\xff").first_invalid_utf8(),
            Some(3)
        );
        assert_eq!(LineIndex::new(b"ok").first_invalid_utf8(), None);
    }
}
