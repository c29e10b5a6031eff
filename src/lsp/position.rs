//! Byte offsets (what the compiler's spans are) ↔ LSP positions (0-based
//! line, and a character offset counted in UTF-16 code units, the protocol's
//! default position encoding).

use lsp_types::{Position, Range};
use ptc_compiler::diag::render::TextCounts;
use ptc_compiler::ir::Span;

/// Line starts of one text, for converting in both directions.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset where each line starts (line 0 at 0). Lines end at `\n`;
    /// a `\r` before it belongs to the line terminator.
    starts: Vec<usize>,
    len: usize,
    /// Characters before every 4 KiB: a column costs at most that much
    /// counting, however long its line.
    counts: TextCounts,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            len: text.len(),
            counts: TextCounts::new(text),
        }
    }

    /// The LSP position of byte `offset`. Offsets past the end clamp to the
    /// end; an offset inside a multi-byte character counts as its start.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        // invariant: starts[0] == 0 <= offset, so partition_point >= 1.
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character = self.counts.before(text, offset).1 - self.counts.before(text, start).1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    /// The LSP range of a byte span.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range {
            start: self.position(text, span.start),
            end: self.position(text, span.end.max(span.start)),
        }
    }

    /// The byte offset of an LSP position. A character past the end of its
    /// line clamps to the line's end (before `\r\n`), a line past the last
    /// clamps to the end of the text, and a position inside a surrogate
    /// pair counts as the start of that character.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let line = pos.line as usize;
        let Some(&start) = self.starts.get(line) else {
            return text.len();
        };
        let mut end = self.starts.get(line + 1).copied().unwrap_or(text.len());
        let line_text = &text[start..end];
        if line_text.ends_with("\r\n") {
            end -= 2;
        } else if line_text.ends_with('\n') {
            end -= 1;
        }
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            let next = units + c.len_utf16();
            if next > pos.character as usize {
                return start + i;
            }
            units = next;
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn ascii_round_trip() {
        let t = "graph g {\n  x -> y;\n}\n";
        let idx = LineIndex::new(t);
        assert_eq!(idx.position(t, 0), pos(0, 0));
        let x = t.find('x').unwrap();
        assert_eq!(idx.position(t, x), pos(1, 2));
        assert_eq!(idx.offset(t, pos(1, 2)), x);
        assert_eq!(idx.position(t, t.len()), pos(3, 0));
        for o in 0..=t.len() {
            assert_eq!(idx.offset(t, idx.position(t, o)), o, "offset {o}");
        }
    }

    #[test]
    fn utf16_units_for_non_ascii() {
        // 'é' = 2 bytes / 1 unit; '𝄞' = 4 bytes / 2 units (a surrogate pair).
        let t = "// é𝄞\nin a: f32;";
        let idx = LineIndex::new(t);
        let after_e = t.find('𝄞').unwrap();
        assert_eq!(idx.position(t, after_e), pos(0, 4));
        let end_of_line = t.find('\n').unwrap();
        assert_eq!(idx.position(t, end_of_line), pos(0, 6));
        assert_eq!(idx.offset(t, pos(0, 4)), after_e);
        assert_eq!(idx.offset(t, pos(0, 6)), end_of_line);
        // Inside the surrogate pair: the character's start.
        assert_eq!(idx.offset(t, pos(0, 5)), after_e);
        // Inside a multi-byte character's bytes: that character's start.
        assert_eq!(idx.position(t, after_e + 1), pos(0, 4));
        let a = t.find('a').unwrap();
        assert_eq!(idx.position(t, a), pos(1, 3));
        assert_eq!(
            idx.range(t, Span::new(a, a + 1)),
            Range {
                start: pos(1, 3),
                end: pos(1, 4)
            }
        );
    }

    #[test]
    fn clamping_and_crlf() {
        let t = "ab\r\ncd";
        let idx = LineIndex::new(t);
        assert_eq!(idx.offset(t, pos(0, 99)), 2, "clamps before \\r\\n");
        assert_eq!(idx.offset(t, pos(1, 1)), 5);
        assert_eq!(idx.offset(t, pos(7, 0)), t.len());
        assert_eq!(idx.position(t, 999), pos(1, 2));
        let empty = LineIndex::new("");
        assert_eq!(empty.position("", 5), pos(0, 0));
        assert_eq!(empty.offset("", pos(3, 3)), 0);
    }
}
