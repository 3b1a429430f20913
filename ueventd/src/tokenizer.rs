//! The init/ueventd rc tokenizer (AOSP `init/tokenizer.cpp` semantics, DESIGN §6.1):
//! whitespace is space, tab and CR; `#` starts a comment only at a token boundary;
//! `"…"` joins the current token with the quotes removed; escapes `\n \r \t \\` (any
//! other escaped character is copied); backslash-newline continues the line and eats
//! the blanks that follow.
//!
//! Differences from AOSP, all in error reporting: a line with an unterminated quote is
//! reported (AOSP silently stops the file there), a NUL byte is reported (AOSP treats it
//! as the end of the file, as we do), and lines are numbered by where their first token
//! starts, counting newlines inside quotes.

/// One logical line: its 1-based line number and its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Physical line on which the first token starts.
    pub(crate) number: usize,
    /// The tokens (never empty).
    pub(crate) args: Vec<String>,
}

/// A tokenizer problem: line number and message.
pub(crate) type TokenError = (usize, String);

struct State {
    lines: Vec<Line>,
    errors: Vec<TokenError>,
    args: Vec<String>,
    token: Vec<u8>,
    in_token: bool,
    line: usize,
    first_line: usize,
}

impl State {
    fn start_token(&mut self) {
        if !self.in_token {
            self.in_token = true;
            if self.args.is_empty() {
                self.first_line = self.line;
            }
        }
    }

    fn end_token(&mut self) {
        if self.in_token {
            let bytes = std::mem::take(&mut self.token);
            let text = match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            self.args.push(text);
            self.in_token = false;
        }
    }

    fn end_line(&mut self) {
        self.end_token();
        if !self.args.is_empty() {
            self.lines.push(Line {
                number: self.first_line,
                args: std::mem::take(&mut self.args),
            });
        }
    }

    fn discard_line(&mut self) {
        self.token.clear();
        self.in_token = false;
        self.args.clear();
    }
}

/// Splits `text` into logical lines of tokens.
pub(crate) fn tokenize(text: &str) -> (Vec<Line>, Vec<TokenError>) {
    let b = text.as_bytes();
    let mut st = State {
        lines: Vec::new(),
        errors: Vec::new(),
        args: Vec::new(),
        token: Vec::new(),
        in_token: false,
        line: 1,
        first_line: 1,
    };
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            0 => {
                st.errors
                    .push((st.line, "NUL byte: the rest of the file is ignored".into()));
                st.discard_line();
                return (st.lines, st.errors);
            }
            b'\n' => {
                st.end_line();
                st.line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => {
                st.end_token();
                i += 1;
            }
            b'#' if !st.in_token => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' => {
                st.start_token();
                let quote_line = st.line;
                i += 1;
                loop {
                    match b.get(i) {
                        None | Some(0) => {
                            st.errors
                                .push((quote_line, "unterminated quote; line ignored".into()));
                            st.discard_line();
                            if b.get(i).is_some() {
                                st.errors.push((
                                    st.line,
                                    "NUL byte: the rest of the file is ignored".into(),
                                ));
                            }
                            return (st.lines, st.errors);
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&q) => {
                            if q == b'\n' {
                                st.line += 1;
                            }
                            st.token.push(q);
                            i += 1;
                        }
                    }
                }
            }
            b'\\' => {
                st.start_token();
                i += 1;
                match b.get(i) {
                    None => {}
                    Some(b'n') => {
                        st.token.push(b'\n');
                        i += 1;
                    }
                    Some(b'r') => {
                        st.token.push(b'\r');
                        i += 1;
                    }
                    Some(b't') => {
                        st.token.push(b'\t');
                        i += 1;
                    }
                    Some(b'\\') => {
                        st.token.push(b'\\');
                        i += 1;
                    }
                    Some(b'\r') if b.get(i + 1) != Some(&b'\n') => {
                        // AOSP drops a backslash-CR that is not followed by a newline.
                        i += 1;
                    }
                    Some(b'\r') | Some(b'\n') => {
                        if b.get(i) == Some(&b'\r') {
                            i += 1;
                        }
                        // Line continuation: skip the newline and the blanks after it.
                        i += 1;
                        st.line += 1;
                        while matches!(b.get(i), Some(b' ') | Some(b'\t')) {
                            i += 1;
                        }
                    }
                    Some(0) => {}
                    Some(&other) => {
                        st.token.push(other);
                        i += 1;
                    }
                }
            }
            other => {
                st.start_token();
                st.token.push(other);
                i += 1;
            }
        }
    }
    st.end_line();
    (st.lines, st.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<(usize, Vec<&'static str>)> {
        let (lines, errors) = tokenize(text);
        assert!(errors.is_empty(), "{errors:?}");
        lines
            .into_iter()
            .map(|l| {
                (
                    l.number,
                    l.args
                        .into_iter()
                        .map(|s| &*Box::leak(s.into_boxed_str()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn whitespace_and_comments() {
        assert_eq!(
            toks("a b\tc\r\n\n  # comment\nd#notcomment e # comment\n"),
            vec![(1, vec!["a", "b", "c"]), (4, vec!["d#notcomment", "e"])]
        );
    }

    #[test]
    fn quotes_join_the_token() {
        assert_eq!(
            toks("x \"a b\"c d\"\"e \"\"\n"),
            vec![(1, vec!["x", "a bc", "de", ""])]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            toks("a\\nb a\\tb a\\\\b a\\qb a\\rb\n"),
            vec![(1, vec!["a\nb", "a\tb", "a\\b", "aqb", "a\rb"])]
        );
    }

    #[test]
    fn continuation_eats_blanks() {
        assert_eq!(
            toks("/dev/null \\\n    0666 root\\\n  root\nnext\n"),
            vec![
                (1, vec!["/dev/null", "0666", "rootroot"]),
                (4, vec!["next"])
            ]
        );
        assert_eq!(toks("a\\\r\nb\n"), vec![(1, vec!["ab"])]);
        assert_eq!(toks("a\\\rb\n"), vec![(1, vec!["ab"])]);
    }

    #[test]
    fn no_trailing_newline_and_trailing_backslash() {
        assert_eq!(toks("a b"), vec![(1, vec!["a", "b"])]);
        assert_eq!(toks("a\\"), vec![(1, vec!["a"])]);
    }

    #[test]
    fn unterminated_quote_is_reported() {
        let (lines, errors) = tokenize("ok\nbad \"never closed\nmore\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 2);
    }

    #[test]
    fn nul_ends_the_file() {
        let (lines, errors) = tokenize("a\nb\0c\nd\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            errors,
            vec![(2, "NUL byte: the rest of the file is ignored".into())]
        );
    }

    #[test]
    fn quoted_newline_counts_lines() {
        let (lines, _) = tokenize("\"a\nb\"\nc\n");
        assert_eq!(lines[0].args, vec!["a\nb"]);
        assert_eq!(lines[1].number, 3);
    }
}
