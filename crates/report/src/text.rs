//! Making untrusted text (names from customer tenants) safe for each format.

/// Characters that reorder text on screen (bidirectional embeddings, overrides and
/// isolates): a name holding them could make a table cell read differently from what it
/// contains.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// One line of plain text: line breaks and tabs become spaces, other control characters
/// (ESC of an ANSI sequence, C1 controls) and bidirectional controls become `�`.
pub(crate) fn one_line(s: &str) -> String {
    // Most text is printable ASCII, which has nothing to replace: copied whole rather
    // than rebuilt a character at a time (reports write millions of such lines).
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || is_bidi_control(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// At most `max` characters, the last replaced by `…` when cut. Full names stay in the
/// CSV and JSON; the terminal keeps tables readable.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A name for display, with a placeholder for an empty one.
pub(crate) fn display_name(s: &str) -> String {
    let clean = one_line(s);
    if clean.trim().is_empty() {
        "(no name)".to_owned()
    } else {
        clean
    }
}

/// An environment for display: its name, or a placeholder when the environment is
/// missing from the snapshot (`environment_unknown`).
pub(crate) fn environment_label(name: &str) -> String {
    let clean = one_line(name);
    if clean.trim().is_empty() {
        "(unknown environment)".to_owned()
    } else {
        clean
    }
}

/// An environment type for display.
pub(crate) fn environment_type_label(t: &str) -> String {
    let clean = one_line(t);
    if clean.trim().is_empty() {
        "unknown".to_owned()
    } else {
        clean
    }
}

/// Escapes text for inline markdown: characters that start emphasis, links, code, HTML,
/// tables or headings are backslash-escaped, line breaks become spaces. CommonMark lets
/// any ASCII punctuation be escaped, so the escaped text renders exactly as the original.
pub(crate) fn markdown_inline(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len() + 8);
    for (i, c) in line.chars().enumerate() {
        match c {
            '\\' | '|' | '*' | '_' | '[' | ']' | '`' | '<' | '>' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            // A `#` only starts a heading at the beginning of a line; names may sit
            // there when a renderer reflows text, so escape it when it leads.
            '#' if i == 0 => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    out
}

/// Text as a markdown code span, for ids. Falls back to escaped text if the value holds
/// a backtick, which a code span cannot hold safely.
pub(crate) fn markdown_code(s: &str) -> String {
    let line = one_line(s);
    if line.is_empty() {
        return "(none)".to_owned();
    }
    if line.contains('`') {
        markdown_inline(&line)
    } else {
        format!("`{line}`")
    }
}

/// A CSV cell that spreadsheets will not evaluate as a formula: a leading `=`, `+`, `-`,
/// `@`, tab or carriage return gets a `'` in front (OWASP's CSV-injection advice).
pub(crate) fn csv_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// Prose folded at word boundaries to lines of at most `width` characters (a word longer
/// than that stands on its own line); `None` leaves it as one line.
pub(crate) fn wrap(text: &str, width: Option<u16>) -> String {
    let Some(width) = width.map(usize::from) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if line_len > 0 && line_len + 1 + n > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_neutralises_controls() {
        assert_eq!(one_line("a\nb\tc"), "a b c");
        assert_eq!(one_line("\u{1b}[31mred"), "\u{FFFD}[31mred");
        assert_eq!(one_line("abc\u{202E}fed"), "abc\u{FFFD}fed");
        assert_eq!(one_line("販売 📊"), "販売 📊");
    }

    #[test]
    fn shorten_counts_characters_not_bytes() {
        assert_eq!(shorten("販売販売販売", 4), "販売販…");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 0), "…");
    }

    #[test]
    fn wrap_folds_at_words() {
        assert_eq!(wrap("aa bb cc", Some(5)), "aa bb\ncc");
        assert_eq!(wrap("aaaaaaa b", Some(3)), "aaaaaaa\nb");
        assert_eq!(wrap("aa  bb", None), "aa  bb");
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(
            markdown_inline("Invoice_approval *v2* | [draft] <b> `x`"),
            "Invoice\\_approval \\*v2\\* \\| \\[draft\\] \\<b\\> \\`x\\`"
        );
        assert_eq!(markdown_inline("# Budget #2"), "\\# Budget #2");
        assert_eq!(markdown_inline("a\\b"), "a\\\\b");
        assert_eq!(markdown_code("a`b"), "a\\`b");
        assert_eq!(markdown_code("abc"), "`abc`");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(bad).starts_with('\''), "{bad:?}");
        }
        for ok in ["Sales", "", "1234567", "gui;powershell", "'quoted"] {
            assert_eq!(csv_cell(ok), ok);
        }
    }
}
