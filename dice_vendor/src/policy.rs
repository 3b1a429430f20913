//! DICE policies: constraints a relying party puts on a verified chain, modelled on AVF's
//! DICE policy (`libs/dice/policy`: per chain node a list of constraints, each `exact`
//! match or `greater-or-equal` on an integer), in a small text format.
//!
//! ```text
//! dice-policy 1                      # first statement: format and version
//! certificates 5                     # optional: the chain has exactly 5 certificates
//! node "Microdroid vendor"           # the one certificate with this component name …
//!   component_name exact "Microdroid vendor"
//!   code_hash exact 5f0e…            # hex
//!   authority_hash exact 9a1c…
//!   security_version greater-or-equal 3
//!   mode exact normal                # normal, debug, maintenance, not-initialized
//! node 5                             # … or chain index (1 = the first certificate)
//!   component_name exact "Microdroid payload"
//! ```
//!
//! One statement per line; `#` outside a quoted string starts a comment; tokens are
//! separated by spaces or tabs; a quoted string may contain `\"` and `\\`. Constraint
//! lines belong to the `node` above them. Fields: `component_name` (string),
//! `code_hash`, `authority_hash` (hex, 1–64 bytes), `security_version` (decimal `u64`),
//! `mode`. Operators: `exact` (every field) and `greater-or-equal` (`security_version`
//! only, as AVF allows it only on integers).
//!
//! Differences from AVF's CBOR format (**Ours**): text, not CBOR; a node may be selected by
//! component name as well as by position (a relying party that trusts one component
//! rarely knows its index); the chain length is an optional `certificates` statement
//! rather than implied by the number of node lists; only the five fields above.
//!
//! A policy is checked only against a chain that verified ([`verify_with_policy`]); the
//! first unmet constraint is reported with its line, its node and what the chain had.

use crate::dice::Mode;
use crate::verify::{verify_chain_bytes, ChainSummary, NodeSummary, VerifyError};

/// The only format version.
pub const POLICY_VERSION: u64 = 1;
/// Largest policy accepted, in bytes.
pub const MAX_POLICY_SIZE: usize = 64 * 1024;
/// Most `node` statements in one policy.
pub const MAX_NODES: usize = 64;
/// Most constraints under one `node`.
pub const MAX_CONSTRAINTS_PER_NODE: usize = 16;
/// Longest hash value, in bytes.
pub const MAX_HASH_SIZE: usize = 64;

/// A constrained field of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Config descriptor −70002.
    ComponentName,
    /// Code hash.
    CodeHash,
    /// Authority hash.
    AuthorityHash,
    /// Config descriptor −70005.
    SecurityVersion,
    /// Mode.
    Mode,
}

impl Field {
    /// The field's name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            Field::ComponentName => "component_name",
            Field::CodeHash => "code_hash",
            Field::AuthorityHash => "authority_hash",
            Field::SecurityVersion => "security_version",
            Field::Mode => "mode",
        }
    }

    fn from_name(s: &str) -> Option<Field> {
        [
            Field::ComponentName,
            Field::CodeHash,
            Field::AuthorityHash,
            Field::SecurityVersion,
            Field::Mode,
        ]
        .into_iter()
        .find(|f| f.name() == s)
    }
}

/// How a field is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal (AVF `exactMatchConstraint`).
    Exact,
    /// At least (AVF `geConstraint`).
    GreaterOrEqual,
}

impl Op {
    /// The operator's name in the text format.
    pub fn name(self) -> &'static str {
        match self {
            Op::Exact => "exact",
            Op::GreaterOrEqual => "greater-or-equal",
        }
    }
}

/// A constraint's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A component name.
    Text(String),
    /// A hash.
    Bytes(Vec<u8>),
    /// A security version.
    Uint(u64),
    /// A mode.
    Mode(Mode),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(t) => {
                f.write_str("\"")?;
                for c in t.chars() {
                    match c {
                        '"' | '\\' => write!(f, "\\{c}")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::Bytes(b) => f.write_str(&avb::to_hex(b)),
            Value::Uint(v) => write!(f, "{v}"),
            Value::Mode(m) => f.write_str(m.name()),
        }
    }
}

/// One constraint on one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The field.
    pub field: Field,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: Value,
    /// The policy line it came from (1-based; 0 when built in code).
    pub line: usize,
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.field.name(), self.op.name(), self.value)
    }
}

/// Which certificate a `node` statement constrains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// By chain index (1 = the first certificate after the root key).
    Index(usize),
    /// The one certificate with this component name.
    Name(String),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Index(i) => write!(f, "{i}"),
            Selector::Name(n) => write!(f, "{}", Value::Text(n.clone())),
        }
    }
}

/// A `node` statement and its constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRule {
    /// The certificate it applies to.
    pub selector: Selector,
    /// Its constraints, in order.
    pub constraints: Vec<Constraint>,
    /// The line of the `node` statement (0 when built in code).
    pub line: usize,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Required number of certificates, if stated.
    pub certificates: Option<usize>,
    /// The line of the `certificates` statement (0 when absent or built in code).
    pub certificates_line: usize,
    /// The node rules, in order.
    pub nodes: Vec<NodeRule>,
}

/// A policy that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy line {line}: {message}")]
pub struct PolicyParseError {
    /// The line (1-based; 0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A verified chain that does not meet the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy line {line}: {}: {message}", where_(*.node, .component.as_deref()))]
pub struct PolicyMismatch {
    /// The policy line of the unmet statement.
    pub line: usize,
    /// The chain index of the node (`None` for the chain as a whole).
    pub node: Option<usize>,
    /// The node's component name, when known.
    pub component: Option<String>,
    /// The unmet constraint and what the chain had.
    pub message: String,
}

fn where_(node: Option<usize>, component: Option<&str>) -> String {
    match (node, component) {
        (None, _) => "chain".to_owned(),
        (Some(i), Some(name)) => format!("node {i} ({name:?})"),
        (Some(i), None) => format!("node {i}"),
    }
}

/// Why [`verify_with_policy`] refused a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The chain itself does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// It verifies but does not meet the policy.
    #[error(transparent)]
    Mismatch(#[from] PolicyMismatch),
}

/// Splits a line into tokens; quoted strings become one token with quotes removed
/// (`Some(true)` marks them). A `#` outside quotes ends the line.
fn tokenize(line: &str) -> Result<Vec<(String, bool)>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\r' => {
                chars.next();
            }
            '#' => break,
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".to_owned()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => s.push(e),
                            other => {
                                return Err(format!(
                                    "unknown escape \\{} in a quoted string (only \\\" and \\\\)",
                                    other.map(String::from).unwrap_or_default()
                                ))
                            }
                        },
                        Some(c) if c.is_control() => {
                            return Err("control character in a quoted string".to_owned())
                        }
                        Some(c) => s.push(c),
                    }
                }
                match chars.peek() {
                    None | Some(' ' | '\t' | '\r' | '#') => {}
                    Some(_) => return Err("text right after a closing quote".to_owned()),
                }
                tokens.push((s, true));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '\t' | '\r' | '#') {
                        break;
                    }
                    if c == '"' {
                        return Err("quote inside a word".to_owned());
                    }
                    if c.is_control() {
                        return Err("control character".to_owned());
                    }
                    s.push(c);
                    chars.next();
                }
                tokens.push((s, false));
            }
        }
    }
    Ok(tokens)
}

fn parse_uint(s: &str, what: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(format!("{what} {s:?} is not a decimal integer"));
    }
    s.parse()
        .map_err(|_| format!("{what} {s:?} does not fit in 64 bits"))
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::from_name(s).ok_or_else(|| {
        format!("mode {s:?} is not one of normal, debug, maintenance, not-initialized")
    })
}

fn parse_value(field: Field, token: &(String, bool)) -> Result<Value, String> {
    let (text, quoted) = token;
    match field {
        Field::ComponentName if *quoted => Ok(Value::Text(text.clone())),
        Field::ComponentName => Err("component_name takes a quoted string".to_owned()),
        _ if *quoted => Err(format!("{} does not take a quoted string", field.name())),
        Field::CodeHash | Field::AuthorityHash => {
            let bytes = avb::from_hex(text)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| format!("{} {text:?} is not hex", field.name()))?;
            if bytes.len() > MAX_HASH_SIZE {
                return Err(format!(
                    "{} is {} bytes, at most {MAX_HASH_SIZE}",
                    field.name(),
                    bytes.len()
                ));
            }
            Ok(Value::Bytes(bytes))
        }
        Field::SecurityVersion => parse_uint(text, "security_version").map(Value::Uint),
        Field::Mode => parse_mode(text).map(Value::Mode),
    }
}

impl Policy {
    /// Parses the text format (see the module documentation).
    pub fn parse(bytes: &[u8]) -> Result<Policy, PolicyParseError> {
        let whole = |message: String| PolicyParseError { line: 0, message };
        if bytes.len() > MAX_POLICY_SIZE {
            return Err(whole(format!(
                "{} bytes, at most {MAX_POLICY_SIZE}",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| whole(format!("not UTF-8 (byte {})", e.valid_up_to())))?;
        let mut policy = Policy::default();
        let mut seen_header = false;
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let err = |message: String| PolicyParseError { line, message };
            let tokens = tokenize(raw).map_err(err)?;
            let Some(((keyword, quoted), args)) = tokens.split_first() else {
                continue;
            };
            if *quoted {
                return Err(err("a statement cannot start with a quoted string".into()));
            }
            if !seen_header {
                match (keyword.as_str(), args) {
                    ("dice-policy", [(v, false)]) => {
                        let v = parse_uint(v, "version").map_err(err)?;
                        if v != POLICY_VERSION {
                            return Err(err(format!(
                                "version {v} is not supported (only {POLICY_VERSION})"
                            )));
                        }
                        seen_header = true;
                        continue;
                    }
                    _ => {
                        return Err(err(format!(
                            "the first statement must be `dice-policy {POLICY_VERSION}`"
                        )))
                    }
                }
            }
            match keyword.as_str() {
                "dice-policy" => return Err(err("a second `dice-policy` statement".into())),
                "certificates" => {
                    let [(n, false)] = args else {
                        return Err(err("`certificates` takes one number".into()));
                    };
                    if policy.certificates.is_some() {
                        return Err(err("a second `certificates` statement".into()));
                    }
                    let n = parse_uint(n, "certificates").map_err(err)?;
                    let n = usize::try_from(n)
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| err(format!("certificates {n} is out of range")))?;
                    policy.certificates = Some(n);
                    policy.certificates_line = line;
                }
                "node" => {
                    let selector = match args {
                        [(name, true)] => Selector::Name(name.clone()),
                        [(index, false)] => {
                            let i = parse_uint(index, "node index").map_err(err)?;
                            let i = usize::try_from(i)
                                .ok()
                                .filter(|&i| i >= 1)
                                .ok_or_else(|| {
                                    err(format!(
                                        "node index {i} is out of range (the first certificate is 1)"
                                    ))
                                })?;
                            Selector::Index(i)
                        }
                        _ => {
                            return Err(err(
                                "`node` takes a chain index or a quoted component name".into(),
                            ))
                        }
                    };
                    if policy.nodes.iter().any(|n| n.selector == selector) {
                        return Err(err(format!("node {selector} is constrained twice")));
                    }
                    if policy.nodes.len() == MAX_NODES {
                        return Err(err(format!("more than {MAX_NODES} nodes")));
                    }
                    policy.nodes.push(NodeRule {
                        selector,
                        constraints: Vec::new(),
                        line,
                    });
                }
                other => {
                    let field = Field::from_name(other)
                        .ok_or_else(|| err(format!("unknown statement or field {other:?}")))?;
                    let Some(node) = policy.nodes.last_mut() else {
                        return Err(err(format!("{other} before any `node` statement")));
                    };
                    let [(op, false), value] = args else {
                        return Err(err(format!(
                            "expected `{other} <exact|greater-or-equal> <value>`"
                        )));
                    };
                    let op = match op.as_str() {
                        "exact" => Op::Exact,
                        "greater-or-equal" if field == Field::SecurityVersion => Op::GreaterOrEqual,
                        "greater-or-equal" => {
                            return Err(err(format!(
                                "greater-or-equal applies to security_version only, not {other}"
                            )))
                        }
                        o => return Err(err(format!("unknown operator {o:?}"))),
                    };
                    let value = parse_value(field, value).map_err(err)?;
                    if node
                        .constraints
                        .iter()
                        .any(|c| c.field == field && c.op == op)
                    {
                        return Err(err(format!(
                            "{other} {} is given twice for this node",
                            op.name()
                        )));
                    }
                    if node.constraints.len() == MAX_CONSTRAINTS_PER_NODE {
                        return Err(err(format!(
                            "more than {MAX_CONSTRAINTS_PER_NODE} constraints for one node"
                        )));
                    }
                    node.constraints.push(Constraint {
                        field,
                        op,
                        value,
                        line,
                    });
                }
            }
        }
        if !seen_header {
            return Err(whole(format!(
                "empty: expected `dice-policy {POLICY_VERSION}`"
            )));
        }
        Ok(policy)
    }

    /// The policy in the text format ([`Policy::parse`] reads it back equal, line numbers
    /// aside).
    pub fn to_text(&self) -> String {
        let mut out = format!("dice-policy {POLICY_VERSION}\n");
        if let Some(n) = self.certificates {
            out.push_str(&format!("certificates {n}\n"));
        }
        for node in &self.nodes {
            out.push_str(&format!("node {}\n", node.selector));
            for c in &node.constraints {
                out.push_str(&format!("  {c}\n"));
            }
        }
        out
    }

    /// Checks a decoded chain (which the caller has verified) against the policy.
    pub fn check(&self, chain: &ChainSummary) -> Result<(), PolicyMismatch> {
        let count = chain.nodes.len();
        if let Some(n) = self.certificates {
            if n != count {
                return Err(PolicyMismatch {
                    line: self.certificates_line,
                    node: None,
                    component: None,
                    message: format!("the chain has {count} certificates, the policy requires {n}"),
                });
            }
        }
        for rule in &self.nodes {
            let (index, node) = select(chain, rule)?;
            for c in &rule.constraints {
                check_constraint(c, node).map_err(|message| PolicyMismatch {
                    line: c.line,
                    node: Some(index),
                    component: node.component_name.clone(),
                    message,
                })?;
            }
        }
        Ok(())
    }
}

fn select<'c>(
    chain: &'c ChainSummary,
    rule: &NodeRule,
) -> Result<(usize, &'c NodeSummary), PolicyMismatch> {
    let fail = |message: String| PolicyMismatch {
        line: rule.line,
        node: None,
        component: None,
        message,
    };
    match &rule.selector {
        Selector::Index(i) => chain.nodes.get(i - 1).map(|n| (*i, n)).ok_or_else(|| {
            fail(format!(
                "no node {i}: the chain has {} certificates",
                chain.nodes.len()
            ))
        }),
        Selector::Name(name) => {
            let mut found = chain
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.component_name.as_deref() == Some(name.as_str()));
            let first = found
                .next()
                .ok_or_else(|| fail(format!("no certificate has component name {name:?}")))?;
            if let Some((second, _)) = found.next() {
                return Err(fail(format!(
                    "component name {name:?} is on nodes {} and {}: ambiguous",
                    first.0 + 1,
                    second + 1
                )));
            }
            Ok((first.0 + 1, first.1))
        }
    }
}

fn check_constraint(c: &Constraint, node: &NodeSummary) -> Result<(), String> {
    let found: Option<Value> = match c.field {
        Field::ComponentName => node.component_name.clone().map(Value::Text),
        Field::CodeHash => {
            (!node.code_hash.is_empty()).then(|| Value::Bytes(node.code_hash.clone()))
        }
        Field::AuthorityHash => {
            (!node.authority_hash.is_empty()).then(|| Value::Bytes(node.authority_hash.clone()))
        }
        Field::SecurityVersion => node.security_version.map(Value::Uint),
        Field::Mode => Some(Value::Mode(node.mode)),
    };
    let Some(found) = found else {
        return Err(format!(
            "{c} not met: the certificate has no {}",
            c.field.name()
        ));
    };
    let met = match (c.op, &c.value, &found) {
        (Op::Exact, want, got) => want == got,
        (Op::GreaterOrEqual, Value::Uint(min), Value::Uint(got)) => got >= min,
        _ => false,
    };
    if met {
        Ok(())
    } else {
        Err(format!("{c} not met: found {found}"))
    }
}

/// Verifies `chain_bytes` (a chain, handover or `dice_chain.raw`, as
/// [`verify_chain_bytes`]) and checks it against `policy`.
pub fn verify_with_policy(
    chain_bytes: &[u8],
    policy: &Policy,
) -> Result<ChainSummary, PolicyError> {
    let summary = verify_chain_bytes(chain_bytes)?;
    policy.check(&summary)?;
    Ok(summary)
}

impl crate::expect::ExpectedNode {
    /// A policy that accepts exactly this node, selected by component name: exact
    /// component name, code hash, authority hash and mode, and a security version of at
    /// least this one.
    pub fn to_policy(&self) -> Policy {
        let c = |field, op, value| Constraint {
            field,
            op,
            value,
            line: 0,
        };
        Policy {
            certificates: None,
            certificates_line: 0,
            nodes: vec![NodeRule {
                selector: Selector::Name(self.component_name.clone()),
                constraints: vec![
                    c(
                        Field::ComponentName,
                        Op::Exact,
                        Value::Text(self.component_name.clone()),
                    ),
                    c(
                        Field::CodeHash,
                        Op::Exact,
                        Value::Bytes(self.code_hash.to_vec()),
                    ),
                    c(
                        Field::AuthorityHash,
                        Op::Exact,
                        Value::Bytes(self.authority_hash.to_vec()),
                    ),
                    c(
                        Field::SecurityVersion,
                        Op::GreaterOrEqual,
                        Value::Uint(self.security_version),
                    ),
                    c(Field::Mode, Op::Exact, Value::Mode(self.mode)),
                ],
                line: 0,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::ExpectedNode;
    use crate::handover::Handover;
    use crate::vendor::{derive_vendor_node, VendorMeasurement};

    const KEY: &[u8] = &[9; 16];
    const DIGEST: &[u8] = &[4; 32];

    fn chain(rollback_index: u64) -> Vec<u8> {
        let parent = Handover::parse(&crate::source::sample_handover().unwrap()).unwrap();
        let m = VendorMeasurement {
            public_key_blob: KEY,
            root_digest: DIGEST,
            rollback_index,
        };
        derive_vendor_node(&parent, &m).unwrap().to_bytes().to_vec()
    }

    fn expected(rollback_index: u64) -> ExpectedNode {
        ExpectedNode::vendor(&VendorMeasurement {
            public_key_blob: KEY,
            root_digest: DIGEST,
            rollback_index,
        })
        .unwrap()
    }

    fn mismatch(policy: &str, chain: &[u8]) -> PolicyMismatch {
        match verify_with_policy(chain, &Policy::parse(policy.as_bytes()).unwrap()) {
            Err(PolicyError::Mismatch(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn policy_from_expect_accepts_and_round_trips() {
        let p = expected(3).to_policy();
        let text = p.to_text();
        assert!(text.starts_with("dice-policy 1\nnode \"Microdroid vendor\"\n  component_name exact \"Microdroid vendor\"\n  code_hash exact "), "{text}");
        assert!(text.contains("  security_version greater-or-equal 3\n  mode exact normal\n"));
        let parsed = Policy::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.to_text(), text);
        let summary = verify_with_policy(&chain(3), &parsed).unwrap();
        assert_eq!(summary.nodes.len(), 4);
        // A newer vendor image (higher rollback index) still meets greater-or-equal.
        verify_with_policy(&chain(4), &parsed).unwrap();
    }

    #[test]
    fn rejections_name_the_node_and_the_constraint() {
        let c = chain(3);
        let text = expected(3).to_policy().to_text();
        let m = mismatch(
            &text.replace("greater-or-equal 3", "greater-or-equal 4"),
            &c,
        );
        assert_eq!(m.node, Some(4));
        assert_eq!(m.line, 6);
        assert_eq!(
            m.to_string(),
            "policy line 6: node 4 (\"Microdroid vendor\"): security_version greater-or-equal 4 not met: found 3"
        );
        let other = avb::to_hex(&[0xaa; 64]);
        let auth = avb::to_hex(&expected(3).authority_hash);
        let m = mismatch(&text.replace(&auth, &other), &c);
        assert!(
            m.to_string().starts_with(&format!(
                "policy line 5: node 4 (\"Microdroid vendor\"): authority_hash exact {other} not met: found {auth}"
            )),
            "{m}"
        );
        let m = mismatch("dice-policy 1\ncertificates 5\n", &c);
        assert_eq!(
            m.to_string(),
            "policy line 2: chain: the chain has 4 certificates, the policy requires 5"
        );
        let m = mismatch("dice-policy 1\nnode 7\n", &c);
        assert!(
            m.to_string()
                .contains("no node 7: the chain has 4 certificates"),
            "{m}"
        );
        let m = mismatch("dice-policy 1\nnode \"Microdroid payload\"\n", &c);
        assert!(
            m.to_string().contains("no certificate has component name"),
            "{m}"
        );
        let m = mismatch("dice-policy 1\nnode 1\n  mode exact debug\n", &c);
        assert!(m.to_string().starts_with("policy line 3: node 1"), "{m}");
        assert!(
            m.to_string()
                .ends_with("mode exact debug not met: found normal"),
            "{m}"
        );
        let m = mismatch("dice-policy 1\nnode 4\n  code_hash exact 00\n", &c);
        assert!(m.to_string().contains("code_hash exact 00 not met"), "{m}");
        // A chain that does not verify is refused before the policy is looked at.
        let mut bad = c.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            verify_with_policy(&bad, &expected(3).to_policy()),
            Err(PolicyError::Verify(_))
        ));
    }

    #[test]
    fn index_and_name_selectors_agree() {
        let c = chain(0);
        for sel in ["4", "\"Microdroid vendor\""] {
            let p = format!("dice-policy 1 # v1\n\n# comment\ncertificates 4\nnode {sel}\n\tsecurity_version exact 0 # zero\n  component_name exact \"Microdroid vendor\"\n");
            verify_with_policy(&c, &Policy::parse(p.as_bytes()).unwrap()).unwrap();
        }
    }

    #[test]
    fn adversarial_policies_are_refused_with_a_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty"),
            ("# only a comment\n", 0, "empty"),
            ("node 1\n", 1, "first statement"),
            ("dice-policy 2\n", 1, "not supported"),
            ("dice-policy 01\n", 1, "not a decimal"),
            ("dice-policy 1\ndice-policy 1\n", 2, "second"),
            ("dice-policy 1\nmode exact normal\n", 2, "before any `node`"),
            ("dice-policy 1\nnode 0\n", 2, "out of range"),
            (
                "dice-policy 1\nnode 99999999999999999999\n",
                2,
                "does not fit",
            ),
            ("dice-policy 1\nnode\n", 2, "takes a chain index"),
            ("dice-policy 1\nnode 1 2\n", 2, "takes a chain index"),
            ("dice-policy 1\nnode 1\nnode 1\n", 3, "twice"),
            ("dice-policy 1\nnode \"a\nb\"\n", 2, "unterminated"),
            ("dice-policy 1\nnode \"a\\n\"\n", 2, "unknown escape"),
            ("dice-policy 1\nnode \"a\"b\n", 2, "after a closing quote"),
            ("dice-policy 1\nnode a\"b\"\n", 2, "quote inside"),
            (
                "dice-policy 1\nnode 1\n  code_hash exact xyz\n",
                3,
                "not hex",
            ),
            (
                "dice-policy 1\nnode 1\n  code_hash exact abc\n",
                3,
                "not hex",
            ),
            (
                "dice-policy 1\nnode 1\n  code_hash greater-or-equal 00\n",
                3,
                "security_version only",
            ),
            (
                "dice-policy 1\nnode 1\n  mode exact weird\n",
                3,
                "not one of",
            ),
            (
                "dice-policy 1\nnode 1\n  mode exact \"normal\"\n",
                3,
                "quoted",
            ),
            (
                "dice-policy 1\nnode 1\n  component_name exact bare\n",
                3,
                "quoted string",
            ),
            (
                "dice-policy 1\nnode 1\n  security_version exact -1\n",
                3,
                "not a decimal",
            ),
            (
                "dice-policy 1\nnode 1\n  security_version below 1\n",
                3,
                "unknown operator",
            ),
            (
                "dice-policy 1\nnode 1\n  security_version exact\n",
                3,
                "expected",
            ),
            (
                "dice-policy 1\nnode 1\n  colour exact 1\n",
                3,
                "unknown statement",
            ),
            (
                "dice-policy 1\nnode 1\n  mode exact normal\n  mode exact debug\n",
                4,
                "twice",
            ),
            ("dice-policy 1\ncertificates 0\n", 2, "out of range"),
            (
                "dice-policy 1\ncertificates 1\ncertificates 1\n",
                3,
                "second",
            ),
            ("dice-policy 1\n\"node\" 1\n", 2, "quoted string"),
            ("dice-policy 1\nnode \u{7}\n", 2, "control"),
        ];
        for (text, line, needle) in cases {
            let e = Policy::parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        let long = format!(
            "dice-policy 1\nnode 1\n  code_hash exact {}\n",
            "ab".repeat(65)
        );
        assert!(Policy::parse(long.as_bytes())
            .unwrap_err()
            .message
            .contains("at most 64"));
        assert!(Policy::parse(&[0xff, 0xfe])
            .unwrap_err()
            .message
            .contains("UTF-8"));
        assert!(Policy::parse(&vec![b'#'; MAX_POLICY_SIZE + 1]).is_err());
        let many: String = std::iter::once("dice-policy 1\n".to_owned())
            .chain((1..=MAX_NODES + 1).map(|i| format!("node {i}\n")))
            .collect();
        assert!(Policy::parse(many.as_bytes())
            .unwrap_err()
            .message
            .contains("more than"));
        let mut crowded = "dice-policy 1\nnode 1\n".to_owned();
        for i in 0..=MAX_CONSTRAINTS_PER_NODE {
            crowded.push_str(&format!(
                "  security_version {} {i}\n",
                if i == 0 { "greater-or-equal" } else { "exact" }
            ));
        }
        // Duplicates are caught before the count.
        assert!(Policy::parse(crowded.as_bytes()).is_err());
        // Quoted names with escapes survive a round trip.
        let p = Policy::parse(b"dice-policy 1\nnode \"a \\\"q\\\" \\\\ #x\"\n").unwrap();
        assert_eq!(p.nodes[0].selector, Selector::Name("a \"q\" \\ #x".into()));
        assert_eq!(
            Policy::parse(p.to_text().as_bytes()).unwrap().to_text(),
            p.to_text()
        );
    }
}
