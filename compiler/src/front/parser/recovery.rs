//! Error recovery: describing a failed item parse as a diagnostic, and
//! finding where parsing resumes.

use super::{Driver, Level, Rule, MAX_SYNTAX_ERRORS};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Ident, Span};

/// The first word (or character) at `pos`, its span, and a description for
/// "found ..." messages.
fn token_at(src: &str, pos: usize) -> (String, Span) {
    let rest = &src[pos..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), Span::new(pos, pos));
    };
    if c.is_alphanumeric() || c == '_' {
        let len: usize = rest
            .char_indices()
            .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        return (format!("`{}`", &rest[..len]), Span::new(pos, pos + len));
    }
    if rest.starts_with("->") {
        return ("`->`".to_string(), Span::new(pos, pos + 2));
    }
    let desc = if c.is_control() || c == '\u{FFFD}' {
        format!("the character {:?}", c)
    } else {
        format!("`{c}`")
    };
    (desc, Span::new(pos, pos + c.len_utf8()))
}

/// A user-facing name for what a grammar rule stands for.
fn friendly(rule: Rule) -> &'static str {
    match rule {
        Rule::semi => "`;`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lbracket | Rule::shape => "`[`",
        Rule::rbracket => "`]`",
        Rule::lparen | Rule::args => "`(`",
        Rule::rparen => "`)`",
        Rule::langle => "`<`",
        Rule::rangle => "`>`",
        Rule::arrow => "`->`",
        Rule::dot => "`.`",
        Rule::eq => "`=`",
        Rule::ident => "a name",
        Rule::number => "a number",
        Rule::string | Rule::string_inner => {
            "a string in double quotes, such as \"kernels/k.comp\""
        }
        Rule::type_expr | Rule::elem_type | Rule::vec_type | Rule::kw_vec => {
            "a type such as `f32[16]`"
        }
        Rule::kw_struct => "`struct`",
        Rule::kw_graph => "`graph`",
        Rule::kw_priority => "`priority`",
        Rule::kw_input => "`input`",
        Rule::kw_output => "`output`",
        Rule::kw_from => "`from`",
        Rule::kw_to => "`to`",
        Rule::kw_ptask => "`ptask`",
        Rule::kw_kernel => "`kernel`",
        Rule::kw_in => "`in`",
        Rule::kw_sticky => "`sticky`",
        Rule::kw_out => "`out`",
        Rule::kw_param => "`param`",
        Rule::kw_grid => "`grid`",
        Rule::kw_const => "`const`",
        Rule::kw_import => "`import`",
        Rule::kw_spec => "`spec`",
        Rule::kw_define => "`define`",
        Rule::kw_entry => "`entry`",
        Rule::expr | Rule::expr_token | Rule::unsigned => "a value such as `16` or `W * 2`",
        Rule::op_add | Rule::op_sub | Rule::op_mul | Rule::op_div | Rule::op_rem => "an operator",
        Rule::tparam => "a template parameter such as `n: u32 = 16`",
        Rule::tparams => "`(`",
        Rule::inst_arg => "an argument such as `n: 16`",
        Rule::inst_args => "`(`",
        Rule::instance => "`ptask NAME = TEMPLATE(...)`",
        Rule::const_decl => "`const`",
        Rule::import_decl => "`import`",
        Rule::template_head => "`ptask`",
        Rule::clause => "`from` or `to`",
        Rule::endpoint => "a source or sink such as `file(\"x.npy\")`",
        Rule::literal => "a number or a string",
        Rule::arg => "an argument such as `fps: 30`",
        Rule::port_ref => "a port such as `x` or `ptask.port`",
        Rule::field => "a field such as `x: f32`",
        Rule::port_stmt => "a port declaration",
        Rule::graph_port => "`input` or `output`",
        Rule::ptask_head => "`ptask`",
        Rule::channel => "a channel",
        Rule::struct_decl => "`struct`",
        Rule::graph_head => "`graph`",
        Rule::kernel_stmt
        | Rule::spec_stmt
        | Rule::define_stmt
        | Rule::entry_stmt
        | Rule::param_stmt
        | Rule::grid_stmt
        | Rule::prio_stmt
        | Rule::ptask_stmt
        | Rule::graph_item
        | Rule::top_item
        | Rule::trivia
        | Rule::keyword
        | Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::ident_char => "a declaration",
    }
}

/// Joins alternatives: "a", "a or b", "a, b or c".
fn one_of(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

const KEYWORDS: &[&str] = &[
    "struct", "graph", "priority", "input", "output", "from", "to", "ptask", "kernel", "in",
    "sticky", "out", "param", "grid", "const", "import", "spec", "define", "entry",
];

/// What the item starting with `word` is called in messages.
fn item_context(word: &str, level: Level) -> &'static str {
    match word {
        "struct" => "the struct declaration",
        "graph" => "the graph header",
        "input" => "the `input` declaration",
        "output" => "the `output` declaration",
        "ptask" if level == Level::Top => "the template header",
        "ptask" => "the ptask header",
        "kernel" => "the `kernel` statement",
        "in" | "sticky" | "out" => "the port declaration",
        "param" => "the `param` declaration",
        "grid" => "the `grid` statement",
        "const" => "the `const` declaration",
        "import" => "the `import` declaration",
        "spec" => "the `spec` declaration",
        "define" => "the `define` statement",
        "entry" => "the `entry` statement",
        "priority" if level == Level::Ptask => "the `priority` statement",
        "priority" => "the graph header",
        _ => "the channel",
    }
}

impl Driver<'_> {
    /// Reports a failed item parse and moves to where parsing can resume.
    /// Returns the position of the error.
    pub(super) fn fail(
        &mut self,
        e: pest::error::Error<Rule>,
        item_start: usize,
        level: Level,
    ) -> usize {
        let rel = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let at = (item_start + rel).min(self.src.len());
        let d = self.describe(&e, item_start, at, level);
        self.push(d);
        self.pos = if self.errors > MAX_SYNTAX_ERRORS {
            // Stop: each further error would cost a scan of the rest.
            self.src.len()
        } else {
            self.resume_point(item_start, at, level)
        };
        at
    }

    fn describe(
        &self,
        e: &pest::error::Error<Rule>,
        item_start: usize,
        at: usize,
        level: Level,
    ) -> Diagnostic {
        let src = self.src;
        let rest = &src[at..];
        let (found, found_span) = token_at(src, at);
        // Unterminated block comment: everything after it is a comment.
        if rest.starts_with("/*") {
            self.unterminated.set(true);
            return Diagnostic::new(Code::Syntax, "unterminated block comment")
                .primary(Span::new(at, at + 2), "this comment is never closed")
                .help("close it with `*/` (block comments do not nest)");
        }
        if rest.starts_with('"') {
            let line_end = rest.find('\n').unwrap_or(rest.len());
            if !rest[1..line_end].contains('"') {
                return Diagnostic::new(Code::Syntax, "unterminated string")
                    .primary(Span::new(at, at + 1), "this string is never closed")
                    .help("strings end with `\"` on the same line");
            }
        }
        let (first_word, _) = token_at(src, item_start);
        let first_word = first_word.trim_matches('`').to_string();
        let ctx = item_context(&first_word, level);

        let positives: Vec<Rule> = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            pest::error::ErrorVariant::CustomError { message } => {
                return Diagnostic::new(Code::Syntax, format!("cannot parse this: {message}"))
                    .primary(found_span, "here");
            }
        };

        let mut help = None;
        let message;
        let label;
        if at == item_start {
            // Nothing of the item matched: say what may stand here.
            let (what, options): (&str, &[&str]) = match level {
                Level::Top => (
                    "`struct`, `const`, `import`, a ptask template or `graph`",
                    &["struct", "const", "import", "graph"],
                ),
                Level::Graph => (
                    "`input`, `output`, `ptask`, a channel such as `a -> b.port;`, or `}`",
                    &["input", "output", "ptask"],
                ),
                Level::Ptask => (
                    "`kernel`, `in`, `sticky`, `out`, `param`, `spec`, `define`, `entry`, `grid`, `priority` or `}`",
                    &[
                        "kernel", "in", "sticky", "out", "param", "spec", "define", "entry", "grid",
                        "priority",
                    ],
                ),
            };
            message = format!("expected {what}, found {found}");
            label = "unexpected here".to_string();
            let word = found.trim_matches('`');
            if let Some(s) = crate::valid::suggest(word, options.iter().copied()) {
                help = Some(format!("did you mean `{s}`?"));
            } else if level == Level::Top && ["input", "output"].contains(&word) {
                help = Some(
                    "ports, ptasks and channels go inside a `graph NAME { ... }` block".into(),
                );
            } else if level == Level::Graph
                && ["in", "out", "sticky", "kernel", "param"].contains(&word)
            {
                help = Some(format!(
                    "`{word}` belongs inside a `ptask NAME {{ ... }}` block; graph ports are `input` and `output`"
                ));
            } else if level == Level::Ptask && ["input", "output", "ptask"].contains(&word) {
                help = Some(format!(
                    "`{word}` belongs in the graph body; is a `}}` missing before it?"
                ));
            }
        } else if level == Level::Graph
            && !KEYWORDS.contains(&first_word.as_str())
            && src[item_start..at].trim_end() == first_word
            && !rest.starts_with('.')
            && !rest.starts_with("->")
        {
            // `inptu x: ...`: a misspelt keyword parsed as the start of a channel.
            if let Some(s) = crate::valid::suggest(&first_word, ["input", "output", "ptask"]) {
                return Diagnostic::new(Code::Syntax, format!("unknown keyword `{first_word}`"))
                    .primary(
                        Span::new(item_start, item_start + first_word.len()),
                        "not a keyword",
                    )
                    .help(format!("did you mean `{s}`?"));
            }
            message = format!("expected `.` or `->` in the channel, found {found}");
            label = "expected `->` here".into();
        } else {
            let mut names: Vec<&str> = Vec::new();
            for r in &positives {
                let f = match *r {
                    Rule::clause => "`from`",
                    other => friendly(other),
                };
                if !names.contains(&f) {
                    names.push(f);
                }
                if *r == Rule::clause && !names.contains(&"`to`") {
                    names.push("`to`");
                }
            }
            let wants_semi = positives.contains(&Rule::semi);
            let prep = if wants_semi { "after" } else { "in" };
            message = format!("expected {} {prep} {ctx}, found {found}", one_of(&names));
            label = if names.len() == 1 {
                format!("expected {} here", names[0])
            } else {
                "unexpected here".to_string()
            };
            let word = found.trim_matches('`');
            if positives.contains(&Rule::ident) && KEYWORDS.contains(&word) {
                help = Some(format!(
                    "`{word}` is a keyword and cannot be used as a name"
                ));
            }
        }
        if help.is_none() && (rest.starts_with("*/") || src[..at].trim_end().ends_with("*/")) {
            help = Some("block comments do not nest: the first `*/` ends the comment".into());
        }
        if help.is_none()
            && rest
                .chars()
                .next()
                .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
        {
            help = Some("names are ASCII: letters, digits and `_`".into());
        }
        let mut d = Diagnostic::new(Code::Syntax, message).primary(found_span, label);
        if let Some(h) = help {
            d = d.help(h);
        }
        d
    }

    /// Where to continue after an item starting at `start` failed at `at`.
    fn resume_point(&self, start: usize, at: usize, level: Level) -> usize {
        let src = self.src;
        let bytes = src.as_bytes();
        if src[at..].starts_with("/*") {
            return src.len();
        }
        // A token on a new line after a partial item: the item most likely
        // lacks its terminator; resume at the token.
        if at > start && at < src.len() {
            let before = &src[start..at];
            let trimmed = before.trim_end_matches([' ', '\t', '\r']);
            if trimmed.ends_with('\n') {
                return at;
            }
            if src[at..].starts_with('}') && level != Level::Top {
                return at;
            }
        }
        // Scan from the item's start so that braces it opened are matched.
        let mut i = start;
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = src[i..].find('\n').map_or(src.len(), |n| i + n);
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = src[i + 2..].find("*/").map_or(src.len(), |n| i + 2 + n + 2);
                    continue;
                }
                b'"' => {
                    let line_end = src[i + 1..].find('\n').map_or(src.len(), |n| i + 1 + n);
                    i = src[i + 1..line_end]
                        .find('"')
                        .map_or(line_end, |n| i + 1 + n + 1);
                    continue;
                }
                b';' if depth == 0 => return i + 1,
                b'{' => depth += 1,
                b'}' => {
                    if depth == 0 {
                        if level == Level::Top {
                            // A stray `}` at the top level: skip it.
                            i += 1;
                            continue;
                        }
                        // Closes the enclosing block: let the caller see it.
                        return if i > start { i } else { i + 1 };
                    }
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        src.len()
    }
}

/// The word (ASCII identifier characters) at `pos`, and its end.
pub(super) fn first_word(src: &str, pos: usize) -> (&str, usize) {
    let rest = &src[pos..];
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (&rest[..len], pos + len)
}

/// The identifier after the first word at `pos` (`ptask NAME`), if any.
pub(super) fn second_word(src: &str, pos: usize) -> Option<Ident> {
    let (w, end) = first_word(src, pos);
    if w.is_empty() {
        return None;
    }
    let rest = &src[end..];
    let skip = rest.len() - rest.trim_start().len();
    let start = end + skip;
    let (name, nend) = first_word(src, start);
    let ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    ok.then(|| Ident {
        name: name.to_string(),
        span: Span::new(start, nend),
    })
}

/// The `{` that opens a block after a broken header at `from`, if one
/// comes before any `;` or `}`.
pub(super) fn open_brace_after(src: &str, from: usize) -> Option<usize> {
    for (i, b) in src.as_bytes()[from.min(src.len())..].iter().enumerate() {
        match b {
            b'{' => return Some(from + i),
            b';' | b'}' => return None,
            _ => {}
        }
    }
    None
}
