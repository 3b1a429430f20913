//! The rc tokenizer (AOSP `init/tokenizer.cpp` semantics, our code).
//!
//! - whitespace is space, tab and CR; a newline ends a logical line;
//! - `#` starts a comment only at a token boundary (inside a token it is a plain character);
//! - `"…"` quotes join the current token, the quotes themselves are removed and nothing
//!   inside is an escape;
//! - escapes `\n \r \t \\`; any other escaped character is copied without the backslash;
//! - backslash-newline (or backslash-CR-LF) continues the line and eats following blanks,
//!   joining the token being read;
//! - an unterminated quote is a syntax error (AOSP silently drops the rest of the file);
//!   the tokenizer reports it and drops that line.
//!
//! **Ours:** a logical line is reported with the line number where it *starts*; an empty
//! token left only by a continuation (`foo \` + blank line) is dropped, while `""` yields a
//! real empty argument.

/// One logical line: its starting line number (1-based) and its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Line number where the logical line starts.
    pub line: u32,
    /// The tokens, quotes and escapes resolved.
    pub args: Vec<String>,
}

/// A tokenizer error with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// Line number where the offending logical line starts.
    pub line: u32,
    /// What was wrong.
    pub message: String,
}

/// Splits `data` into logical lines of tokens. Never panics; the work is linear in the
/// input size.
pub fn tokenize(data: &[u8]) -> (Vec<Line>, Vec<TokenError>) {
    let mut t = Tokenizer {
        data,
        pos: 0,
        line: 1,
    };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut start = 1u32;
    let mut bad = false;
    loop {
        match t.peek() {
            None => {
                flush(&mut lines, &mut args, start, bad);
                return (lines, errors);
            }
            Some(b' ' | b'\t' | b'\r') => t.pos += 1,
            Some(b'\n') => {
                t.pos += 1;
                flush(&mut lines, &mut args, start, bad);
                bad = false;
                t.line = t.line.saturating_add(1);
                start = t.line;
            }
            Some(b'#') => {
                while let Some(c) = t.peek() {
                    if c == b'\n' {
                        break;
                    }
                    t.pos += 1;
                }
            }
            Some(_) => {
                if args.is_empty() {
                    start = t.line;
                }
                match t.token() {
                    Ok(Some(tok)) => args.push(tok),
                    Ok(None) => {}
                    Err(message) => {
                        errors.push(TokenError {
                            line: start,
                            message,
                        });
                        bad = true;
                    }
                }
            }
        }
    }
}

fn flush(lines: &mut Vec<Line>, args: &mut Vec<String>, line: u32, bad: bool) {
    let args = std::mem::take(args);
    if !bad && !args.is_empty() {
        lines.push(Line { line, args });
    }
}

struct Tokenizer<'a> {
    data: &'a [u8],
    pos: usize,
    line: u32,
}

impl Tokenizer<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.data.get(self.pos.checked_add(off)?).copied()
    }

    /// Reads one token starting at a non-blank character. `Ok(None)` for an empty token
    /// made only of a continuation.
    fn token(&mut self) -> Result<Option<String>, String> {
        let mut buf: Vec<u8> = Vec::new();
        let mut quoted = false;
        loop {
            match self.peek() {
                None | Some(b'\n') => break,
                Some(b' ' | b'\t' | b'\r') => {
                    self.pos += 1;
                    break;
                }
                Some(b'"') => {
                    quoted = true;
                    self.pos += 1;
                    loop {
                        match self.peek() {
                            None => return Err("unterminated quoted string".into()),
                            Some(b'"') => {
                                self.pos += 1;
                                break;
                            }
                            Some(c) => {
                                if c == b'\n' {
                                    self.line = self.line.saturating_add(1);
                                }
                                buf.push(c);
                                self.pos += 1;
                            }
                        }
                    }
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => break,
                        Some(b'n') => self.escape(&mut buf, b'\n'),
                        Some(b'r') => self.escape(&mut buf, b'\r'),
                        Some(b't') => self.escape(&mut buf, b'\t'),
                        Some(b'\\') => self.escape(&mut buf, b'\\'),
                        Some(b'\r') => {
                            if self.peek_at(1) == Some(b'\n') {
                                self.pos += 1;
                                self.continuation();
                            } else {
                                // A lone escaped CR is dropped, as AOSP does.
                                self.pos += 1;
                            }
                        }
                        Some(b'\n') => self.continuation(),
                        Some(c) => self.escape(&mut buf, c),
                    }
                }
                Some(c) => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
        if buf.is_empty() && !quoted {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    fn escape(&mut self, buf: &mut Vec<u8>, c: u8) {
        buf.push(c);
        self.pos += 1;
    }

    /// At a `\n` after a backslash: counts the line and eats the following blanks.
    fn continuation(&mut self) {
        self.pos += 1;
        self.line = self.line.saturating_add(1);
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(u32, Vec<String>)> {
        let (lines, errs) = tokenize(s.as_bytes());
        assert!(errs.is_empty(), "{errs:?}");
        lines.into_iter().map(|l| (l.line, l.args)).collect()
    }

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_and_blanks() {
        assert_eq!(
            toks("on boot\n  setprop a  1\r\n\tstart x"),
            vec![
                (1, v(&["on", "boot"])),
                (2, v(&["setprop", "a", "1"])),
                (3, v(&["start", "x"]))
            ]
        );
    }

    #[test]
    fn comments_only_at_token_boundary() {
        assert_eq!(
            toks("# c\nwrite /a b#c # comment\n   # indented\nx"),
            vec![(2, v(&["write", "/a", "b#c"])), (4, v(&["x"]))]
        );
    }

    #[test]
    fn quotes_join_and_keep_blanks() {
        assert_eq!(
            toks("write /p \"0 2147483647\"\nsetprop a \"\"\nx a\"b c\"d"),
            vec![
                (1, v(&["write", "/p", "0 2147483647"])),
                (2, v(&["setprop", "a", ""])),
                (3, v(&["x", "ab cd"]))
            ]
        );
    }

    #[test]
    fn no_escapes_inside_quotes() {
        assert_eq!(toks(r#"x "a\nb""#), vec![(1, v(&["x", r"a\nb"]))]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            toks(r"x a\tb a\nb a\\b a\$b a\ b"),
            vec![(1, v(&["x", "a\tb", "a\nb", "a\\b", "a$b", "a b"]))]
        );
    }

    #[test]
    fn continuation_joins_and_counts_lines() {
        assert_eq!(
            toks("exec -- /bin/x \\\n    arg1 \\\n\targ2\nnext"),
            vec![
                (1, v(&["exec", "--", "/bin/x", "arg1", "arg2"])),
                (4, v(&["next"]))
            ]
        );
        // Inside a token the continuation joins the pieces and eats the indentation.
        assert_eq!(toks("a foo\\\n   bar"), vec![(1, v(&["a", "foobar"]))]);
        // CR-LF continuation.
        assert_eq!(
            toks("a b \\\r\n c\r\nd"),
            vec![(1, v(&["a", "b", "c"])), (3, v(&["d"]))]
        );
        // A continuation before a blank line leaves no empty token.
        assert_eq!(toks("a \\\n\nb"), vec![(1, v(&["a"])), (3, v(&["b"]))]);
    }

    #[test]
    fn unterminated_quote_is_an_error_and_drops_the_line() {
        let (lines, errs) = tokenize(b"ok 1\nbad \"open\nmore");
        assert_eq!(
            lines,
            vec![Line {
                line: 1,
                args: v(&["ok", "1"])
            }]
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 2);
    }

    #[test]
    fn trailing_backslash_at_eof() {
        assert_eq!(toks("a b\\"), vec![(1, v(&["a", "b"]))]);
        assert_eq!(toks("a \\"), vec![(1, v(&["a"]))]);
    }

    #[test]
    fn invalid_utf8_is_lossy_not_fatal() {
        let (lines, errs) = tokenize(b"a \xff\xfe b");
        assert!(errs.is_empty());
        assert_eq!(lines[0].args.len(), 3);
    }
}
