//! Writes a parsed pattern in `regex-lite` syntax.
//!
//! Every byte `b` of the subject is matched as the char U+00bb (see
//! [`super::subject`]), so a literal byte becomes that char and a class
//! becomes a class of such chars. All groups are written non-capturing.

use std::fmt::Write;

use super::ast::{ByteSet, Node};

/// The `regex-lite` pattern equivalent to `node`.
pub(crate) fn emit(node: &Node) -> String {
    let mut out = String::new();
    write_node(&mut out, node);
    out
}

fn write_node(out: &mut String, node: &Node) {
    match node {
        Node::Empty => {}
        Node::Literal(b) => write_byte(out, *b),
        Node::Class(set) => write_class(out, set),
        Node::Start => out.push('^'),
        Node::EndStrict => out.push_str(r"\z"),
        // Exact under the rule enforced by the parser: only end anchors
        // may follow a `$`.
        Node::EndNewline(_) => out.push_str(r"(?:\n?\z)"),
        Node::WordBoundary(true) => out.push_str(r"\b"),
        Node::WordBoundary(false) => out.push_str(r"\B"),
        Node::Group(inner) => {
            out.push_str("(?:");
            write_node(out, inner);
            out.push(')');
        }
        Node::Concat(items) => items.iter().for_each(|i| write_node(out, i)),
        Node::Alt(branches) => {
            out.push_str("(?:");
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_node(out, b);
            }
            out.push(')');
        }
        Node::Repeat { node, min, max } => {
            out.push_str("(?:");
            write_node(out, node);
            out.push(')');
            // Writing to a String cannot fail.
            let _ = match (min, max) {
                (0, None) => write!(out, "*"),
                (1, None) => write!(out, "+"),
                (0, Some(1)) => write!(out, "?"),
                (n, None) => write!(out, "{{{n},}}"),
                (n, Some(m)) if n == m => write!(out, "{{{n}}}"),
                (n, Some(m)) => write!(out, "{{{n},{m}}}"),
            };
        }
    }
}

fn write_byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'/' || b == b'_' {
        out.push(char::from(b));
    } else {
        let _ = write!(out, r"\x{{{b:02X}}}");
    }
}

fn write_class(out: &mut String, set: &ByteSet) {
    if set.is_empty() {
        // regex-lite's documented never-matching class.
        out.push_str(r"[^\s\S]");
        return;
    }
    out.push('[');
    for (lo, hi) in set.ranges() {
        let _ = write!(out, r"\x{{{lo:02X}}}");
        if hi != lo {
            let _ = write!(out, r"-\x{{{hi:02X}}}");
        }
    }
    out.push(']');
}
