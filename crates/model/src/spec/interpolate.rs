//! Compose variable interpolation (`${VAR:-default}` and friends) over an untyped document.
//!
//! This follows compose-go v2, which is what `docker compose` runs, rather than a shell:
//! - the grammar and operator semantics are those of `template/template.go`
//!   (github.com/compose-spec/compose-go, v2): `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
//!   `${VAR:?e}`, `${VAR?e}`, `${VAR:+a}`, `${VAR+a}`, nested templates in the operand, `$$` for a
//!   literal `$`; a `$` that starts neither a name nor `${` is kept as is (`"^REGEX$"`);
//! - the walk is `interpolation/interpolation.go`: every string *value* at every depth, lists and
//!   `x-*` extensions included, but never a mapping key — the compose-spec interpolation chapter
//!   says so, and user-defined keys (`labels`, `environment`) use the `KEY=value` list form when
//!   they need a variable;
//! - afterwards the typed fields in compose-go's `loader/interpolate.go` (`interpolateTypeCastMapping`)
//!   are cast from strings, see [`CAST_PATHS`].
//!
//! Unlike compose-go, which stops at the first error and logs warnings, every problem is collected
//! with its document path, so one request can report all of them.

use serde::Serialize;
use serde_json::{Map, Number, Value};

/// What a sealed variable's value is rendered as by [`interpolate_masked`].
pub const MASK: &str = "********";

/// The result of interpolating a document: the new document plus everything worth telling the
/// user. The document is usable only when `errors` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpolated {
    /// The interpolated document. A string that failed keeps its original text.
    pub value: Value,
    /// Problems that make the document unusable (the caller answers 422).
    pub errors: Vec<InterpolationError>,
    /// Problems compose only warns about (an unset variable becomes `""`).
    pub warnings: Vec<InterpolationWarning>,
}

/// One error, at a document path such as `services.web.ports[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct InterpolationError {
    /// Where in the document, in SDMD's path syntax.
    pub path: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl InterpolationError {
    /// The variable at fault, when there is one.
    pub fn variable(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Template(TemplateError::MissingRequired { variable, .. }) => Some(variable),
            _ => None,
        }
    }
}

/// The kinds of [`InterpolationError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ErrorKind {
    /// The string itself is malformed or a `${VAR:?err}` / `${VAR?err}` was not satisfied.
    #[error(transparent)]
    Template(TemplateError),
    /// A typed field (see [`CAST_PATHS`]) did not hold its type after substitution.
    #[error("failed to cast {value:?} to {expected}: {reason}")]
    TypeCast {
        /// The substituted string.
        value: String,
        /// `integer`, `number` or `boolean`.
        expected: &'static str,
        /// Why the value is not one.
        reason: String,
    },
}

/// An error in one template string, independent of where the string sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateError {
    /// Unterminated `${`, an empty or invalid name, or an unknown operator (`${foo!}`).
    #[error("invalid interpolation format in {template:?}; escape a literal $ as $$")]
    Invalid {
        /// The whole string, as compose reports it.
        template: String,
    },
    /// `${VAR:?message}` with `VAR` unset or empty, or `${VAR?message}` with `VAR` unset.
    #[error("required variable {variable} is missing a value{}", reason(.message))]
    MissingRequired {
        /// The variable.
        variable: String,
        /// The operand, itself interpolated; may be empty.
        message: String,
    },
}

fn reason(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// One warning, at a document path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterpolationWarning {
    /// Where in the document, in SDMD's path syntax.
    pub path: String,
    /// What compose would have warned about.
    pub kind: WarningKind,
}

/// The kinds of [`InterpolationWarning`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WarningKind {
    /// `$VAR` / `${VAR}` with `VAR` unset and no default: substituted with `""`.
    Unset {
        /// The variable.
        variable: String,
    },
    /// A typed boolean written `y`/`yes`/`on`/`n`/`no`/`off`: accepted, but YAML 1.2 has only
    /// `true`/`false`.
    Yaml11Boolean {
        /// The value as written.
        value: String,
    },
}

impl std::fmt::Display for InterpolationWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            WarningKind::Unset { variable } => write!(
                f,
                "{}: the {variable:?} variable is not set, defaulting to a blank string",
                self.path
            ),
            WarningKind::Yaml11Boolean { value } => write!(
                f,
                "{}: {value:?} for a boolean is not supported by YAML 1.2, use true or false",
                self.path
            ),
        }
    }
}

impl InterpolationWarning {
    /// The variable concerned, when there is one.
    pub fn variable(&self) -> Option<&str> {
        match &self.kind {
            WarningKind::Unset { variable } => Some(variable),
            WarningKind::Yaml11Boolean { .. } => None,
        }
    }
}

/// The six operators of a braced expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `:-` — the operand when unset or empty.
    DefaultIfEmpty,
    /// `-` — the operand when unset.
    DefaultIfUnset,
    /// `:?` — an error when unset or empty.
    RequiredNonEmpty,
    /// `?` — an error when unset.
    Required,
    /// `:+` — the operand when set and non-empty, else empty.
    AlternativeIfNonEmpty,
    /// `+` — the operand when set, else empty.
    AlternativeIfSet,
}

impl Operator {
    /// The operator as written, e.g. `:-`.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::DefaultIfEmpty => ":-",
            Self::DefaultIfUnset => "-",
            Self::RequiredNonEmpty => ":?",
            Self::Required => "?",
            Self::AlternativeIfNonEmpty => ":+",
            Self::AlternativeIfSet => "+",
        }
    }
}

/// A variable reference found by [`references`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Where in the document, in SDMD's path syntax.
    pub path: String,
    /// The variable name.
    pub variable: String,
    /// The operator, if braced with one.
    pub operator: Option<Operator>,
    /// The operand as written (uninterpolated), if there is an operator.
    pub operand: Option<String>,
    /// Whether the reference sits inside another one's operand, so it is only looked up when
    /// that operand is used.
    pub nested: bool,
}

impl Reference {
    /// Whether leaving the variable undefined is reported (a warning for a bare reference, an
    /// error for `?`/`:?`), as opposed to handled by a default or alternative.
    pub fn needs_definition(&self) -> bool {
        matches!(
            self.operator,
            None | Some(Operator::Required | Operator::RequiredNonEmpty)
        )
    }
}

/// Interpolates every string value of `doc`, then casts the typed fields listed in [`CAST_PATHS`].
///
/// `lookup` answers a variable's value; `None` means unset, which differs from `Some("")`.
pub fn interpolate(doc: &Value, lookup: impl Fn(&str) -> Option<String>) -> Interpolated {
    Walker::new(&lookup, None).run(doc)
}

/// Like [`interpolate`], but renders the value of every variable for which `sealed` is true as
/// [`MASK`], for showing the effective document without revealing secrets.
///
/// Operators still decide as the real value would: an empty sealed value stays empty (so `:-`
/// still falls back) and only a non-empty one is masked. A typed field whose string reads a
/// sealed variable is left a string rather than failing its cast.
pub fn interpolate_masked(
    doc: &Value,
    lookup: impl Fn(&str) -> Option<String>,
    sealed: impl Fn(&str) -> bool,
) -> Interpolated {
    Walker::new(&lookup, Some(&sealed)).run(doc)
}

/// Interpolates one string outside any document; unset variables silently become `""`.
pub fn substitute(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut eval = Eval::new(&lookup, None);
    let out = eval.expand(template)?;
    match eval.required.into_iter().next() {
        Some(err) => Err(err),
        None => Ok(out),
    }
}

/// Every variable `doc` references, with its path, in document order, nested operands included.
/// Strings with invalid syntax are skipped: [`interpolate`] reports them.
pub fn references(doc: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    visit_strings(doc, &mut Vec::new(), &mut |path, s| {
        // Most strings reference nothing: no parse, no path.
        if !s.contains('$') {
            return;
        }
        if let Ok(pieces) = parse(s) {
            collect_refs(&pieces, &path_string(path), false, &mut out);
        }
    });
    out
}

fn collect_refs(pieces: &[Piece<'_>], path: &str, nested: bool, out: &mut Vec<Reference>) {
    for piece in pieces {
        if let Piece::Var { name, op } = piece {
            out.push(Reference {
                path: path.to_owned(),
                variable: (*name).to_owned(),
                operator: op.as_ref().map(|o| o.operator),
                operand: op.as_ref().map(|o| o.raw.to_owned()),
                nested,
            });
            if let Some(o) = op {
                collect_refs(&o.operand, path, true, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Template grammar. Parsing first and evaluating second keeps the operand lazy (compose-go v2
// only interpolates a default when it is used) and lets `references` share the grammar.

#[derive(Debug)]
enum Piece<'a> {
    Text(&'a str),
    Var {
        name: &'a str,
        op: Option<Operand<'a>>,
    },
}

#[derive(Debug)]
struct Operand<'a> {
    operator: Operator,
    raw: &'a str,
    operand: Vec<Piece<'a>>,
}

/// Marker for a syntax error; the caller knows which string it was parsing.
struct Invalid;

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn name_end(b: &[u8], start: usize) -> usize {
    let len = b[start..]
        .iter()
        .take_while(|c| **c == b'_' || c.is_ascii_alphanumeric())
        .count();
    start + len
}

fn parse(s: &str) -> Result<Vec<Piece<'_>>, Invalid> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut text_start, mut i) = (0, 0);
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if text_start < i {
            out.push(Piece::Text(&s[text_start..i]));
        }
        i = match b.get(i + 1) {
            Some(b'$') => {
                out.push(Piece::Text(&s[i..i + 1]));
                i + 2
            }
            Some(b'{') => {
                let (piece, end) = parse_braced(s, i + 2)?;
                out.push(piece);
                end
            }
            Some(c) if is_name_start(*c) => {
                let end = name_end(b, i + 1);
                out.push(Piece::Var {
                    name: &s[i + 1..end],
                    op: None,
                });
                end
            }
            // Not a reference (`$}`, `$1`, a trailing `$`): compose keeps it literally.
            _ => {
                out.push(Piece::Text(&s[i..i + 1]));
                i + 1
            }
        };
        text_start = i;
    }
    if text_start < b.len() {
        out.push(Piece::Text(&s[text_start..]));
    }
    Ok(out)
}

/// Parses what follows `${`; returns the piece and the index just past its closing `}`.
fn parse_braced(s: &str, start: usize) -> Result<(Piece<'_>, usize), Invalid> {
    let b = s.as_bytes();
    if !b.get(start).copied().is_some_and(is_name_start) {
        return Err(Invalid);
    }
    let end = name_end(b, start);
    let name = &s[start..end];
    if b.get(end) == Some(&b'}') {
        return Ok((Piece::Var { name, op: None }, end + 1));
    }
    let (operator, operand_start) = operator_at(b, end).ok_or(Invalid)?;
    let close = matching_brace(b, operand_start).ok_or(Invalid)?;
    let raw = &s[operand_start..close];
    let op = Operand {
        operator,
        raw,
        operand: parse(raw)?,
    };
    Ok((Piece::Var { name, op: Some(op) }, close + 1))
}

fn operator_at(b: &[u8], i: usize) -> Option<(Operator, usize)> {
    let colon = b.get(i) == Some(&b':');
    let at = if colon { i + 1 } else { i };
    let operator = match (colon, b.get(at)?) {
        (true, b'-') => Operator::DefaultIfEmpty,
        (false, b'-') => Operator::DefaultIfUnset,
        (true, b'?') => Operator::RequiredNonEmpty,
        (false, b'?') => Operator::Required,
        (true, b'+') => Operator::AlternativeIfNonEmpty,
        (false, b'+') => Operator::AlternativeIfSet,
        _ => return None,
    };
    Some((operator, at + 1))
}

/// The `}` closing an operand: compose-go v2 balances every `{`/`}` inside it, so
/// `${A:-${B:-x}}` and `${A:-{json}}` both close at the last brace.
fn matching_brace(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in b.iter().enumerate().skip(from) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Evaluation of one string.

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;
type Sealed<'a> = Option<&'a dyn Fn(&str) -> bool>;

struct Eval<'a> {
    lookup: Lookup<'a>,
    sealed: Sealed<'a>,
    unset: Vec<String>,
    required: Vec<TemplateError>,
    masked: bool,
}

impl<'a> Eval<'a> {
    fn new(lookup: Lookup<'a>, sealed: Sealed<'a>) -> Self {
        Self {
            lookup,
            sealed,
            unset: Vec::new(),
            required: Vec::new(),
            masked: false,
        }
    }

    fn expand(&mut self, template: &str) -> Result<String, TemplateError> {
        let pieces = parse(template).map_err(|Invalid| TemplateError::Invalid {
            template: template.to_owned(),
        })?;
        let mut out = String::with_capacity(template.len());
        self.eval(&pieces, &mut out);
        Ok(out)
    }

    fn value(&mut self, name: &str) -> Option<String> {
        let value = (self.lookup)(name)?;
        let sealed = self.sealed.is_some_and(|sealed| sealed(name));
        if sealed && !value.is_empty() {
            self.masked = true;
            return Some(MASK.to_owned());
        }
        Some(value)
    }

    fn eval(&mut self, pieces: &[Piece<'_>], out: &mut String) {
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var { name, op: None } => match self.value(name) {
                    Some(v) => out.push_str(&v),
                    None => self.unset.push((*name).to_owned()),
                },
                Piece::Var { name, op: Some(op) } => self.eval_operator(name, op, out),
            }
        }
    }

    fn eval_operator(&mut self, name: &str, op: &Operand<'_>, out: &mut String) {
        let value = self.value(name);
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let use_operand = match op.operator {
            Operator::DefaultIfEmpty => !non_empty,
            Operator::DefaultIfUnset => value.is_none(),
            Operator::RequiredNonEmpty | Operator::Required => {
                let missing = match op.operator {
                    Operator::Required => value.is_none(),
                    _ => !non_empty,
                };
                if missing {
                    let mut message = String::new();
                    self.eval(&op.operand, &mut message);
                    self.required.push(TemplateError::MissingRequired {
                        variable: name.to_owned(),
                        message,
                    });
                }
                false
            }
            // An alternative never shows the variable's own value: when it does not apply the
            // value is unset or empty, and compose substitutes exactly that.
            Operator::AlternativeIfNonEmpty => non_empty,
            Operator::AlternativeIfSet => value.is_some(),
        };
        if use_operand {
            self.eval(&op.operand, out);
        } else if !matches!(
            op.operator,
            Operator::AlternativeIfNonEmpty | Operator::AlternativeIfSet
        ) {
            out.push_str(value.as_deref().unwrap_or_default());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The document walk.

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_string(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn visit_strings<'a>(v: &'a Value, path: &mut Vec<Seg<'a>>, f: &mut dyn FnMut(&[Seg<'a>], &str)) {
    match v {
        Value::String(s) => f(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                visit_strings(item, path, f);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Seg::Key(k));
                visit_strings(item, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

struct Walker<'a> {
    lookup: Lookup<'a>,
    sealed: Sealed<'a>,
    errors: Vec<InterpolationError>,
    warnings: Vec<InterpolationWarning>,
}

impl<'a> Walker<'a> {
    fn new(lookup: Lookup<'a>, sealed: Sealed<'a>) -> Self {
        Self {
            lookup,
            sealed,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self, doc: &Value) -> Interpolated {
        let value = self.walk(doc, &mut Vec::new());
        Interpolated {
            value,
            errors: self.errors,
            warnings: self.warnings,
        }
    }

    fn walk<'d>(&mut self, v: &'d Value, path: &mut Vec<Seg<'d>>) -> Value {
        match v {
            Value::String(s) => self.string(s, path),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    out.push(self.walk(item, path));
                    path.pop();
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, item) in map {
                    path.push(Seg::Key(k));
                    out.insert(k.clone(), self.walk(item, path));
                    path.pop();
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn string(&mut self, s: &str, path: &[Seg<'_>]) -> Value {
        // Most strings hold no `$`: nothing to expand, and no path to spell out.
        if !s.contains('$') {
            return match cast_for(path) {
                Some(cast) => self.cast(cast, s.to_owned(), path),
                None => Value::String(s.to_owned()),
            };
        }
        let p = path_string(path);
        let mut eval = Eval::new(self.lookup, self.sealed);
        let expanded = eval.expand(s);
        self.warnings
            .extend(eval.unset.into_iter().map(|variable| InterpolationWarning {
                path: p.clone(),
                kind: WarningKind::Unset { variable },
            }));
        let mut failures = eval.required;
        let out = expanded.unwrap_or_else(|invalid| {
            failures.push(invalid);
            String::new()
        });
        if !failures.is_empty() {
            self.errors
                .extend(failures.into_iter().map(|kind| InterpolationError {
                    path: p.clone(),
                    kind: ErrorKind::Template(kind),
                }));
            return Value::String(s.to_owned());
        }
        match cast_for(path) {
            // A masked value is not the real one, so its type says nothing.
            Some(cast) if !eval.masked => self.cast(cast, out, path),
            _ => Value::String(out),
        }
    }

    fn cast(&mut self, cast: Cast, s: String, path: &[Seg<'_>]) -> Value {
        match cast.apply(&s) {
            Ok((value, yaml11)) => {
                if yaml11 {
                    self.warnings.push(InterpolationWarning {
                        path: path_string(path),
                        kind: WarningKind::Yaml11Boolean { value: s },
                    });
                }
                value
            }
            Err(reason) => {
                self.errors.push(InterpolationError {
                    path: path_string(path),
                    kind: ErrorKind::TypeCast {
                        value: s.clone(),
                        expected: cast.name(),
                        reason,
                    },
                });
                Value::String(s)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Type casts.

/// The type a field is cast to after interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// A decimal integer, optionally signed (Go's `strconv.Atoi`/`ParseInt`).
    Integer,
    /// A decimal floating-point number (Go's `strconv.ParseFloat`).
    Number,
    /// `true`/`false`, case-insensitive; YAML 1.1's `y|yes|on|n|no|off` with a warning.
    Boolean,
    /// A file mode: octal when written with a leading `0` (`0440`) or `0o`, as compose reads
    /// the unquoted YAML `mode: 0440`; see [`super::objects::parse_mode`].
    FileMode,
}

impl Cast {
    fn name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::FileMode => "file mode",
        }
    }

    /// The cast value, and whether it was a YAML 1.1 boolean spelling.
    fn apply(self, s: &str) -> Result<(Value, bool), String> {
        match self {
            Self::Integer => s
                .parse::<i64>()
                .map(|n| (Value::from(n), false))
                .map_err(|e| e.to_string()),
            Self::Number => {
                let f = s.parse::<f64>().map_err(|e| e.to_string())?;
                // JSON has no NaN or infinity, which Go's ParseFloat would accept.
                let n = Number::from_f64(f).ok_or_else(|| "not a finite number".to_owned())?;
                Ok((Value::Number(n), false))
            }
            Self::FileMode => super::objects::parse_mode(&Value::String(s.to_owned()))
                .map(|m| (Value::from(m), false)),
            Self::Boolean => match s.to_ascii_lowercase().as_str() {
                "true" => Ok((Value::Bool(true), false)),
                "false" => Ok((Value::Bool(false), false)),
                "y" | "yes" | "on" => Ok((Value::Bool(true), true)),
                "n" | "no" | "off" => Ok((Value::Bool(false), true)),
                _ => Err(format!("invalid boolean: {s}")),
            },
        }
    }
}

/// A segment of a [`CAST_PATHS`] pattern: a literal key, `*` (any key or index) or `[]` (any
/// list index), as in compose-go's `tree.Path`.
pub type PathPattern = &'static [&'static str];

/// The fields compose-go v2 casts after interpolation (`interpolateTypeCastMapping` in
/// `loader/interpolate.go`), so `init: ${INIT:-true}` is the boolean `true` and
/// `deploy.replicas: ${N:-2}` the integer `2`. Only string values at these paths are cast; a
/// value that is already typed is left alone. Compose v2 no longer casts `ports[].published`
/// (it may be a range such as `"8000-8010"`), nor byte sizes and durations, which are parsed
/// from strings later.
pub const CAST_PATHS: &[(PathPattern, Cast)] = &[
    (&["services", "*", "configs", "[]", "mode"], Cast::FileMode),
    (&["services", "*", "cpu_count"], Cast::Integer),
    (&["services", "*", "cpu_percent"], Cast::Number),
    (&["services", "*", "cpu_period"], Cast::Integer),
    (&["services", "*", "cpu_quota"], Cast::Integer),
    (&["services", "*", "cpu_rt_period"], Cast::Integer),
    (&["services", "*", "cpu_rt_runtime"], Cast::Integer),
    (&["services", "*", "cpus"], Cast::Number),
    (&["services", "*", "cpu_shares"], Cast::Integer),
    (&["services", "*", "init"], Cast::Boolean),
    (&["services", "*", "deploy", "replicas"], Cast::Integer),
    (
        &["services", "*", "deploy", "update_config", "parallelism"],
        Cast::Integer,
    ),
    (
        &[
            "services",
            "*",
            "deploy",
            "update_config",
            "max_failure_ratio",
        ],
        Cast::Number,
    ),
    (
        &["services", "*", "deploy", "rollback_config", "parallelism"],
        Cast::Integer,
    ),
    (
        &[
            "services",
            "*",
            "deploy",
            "rollback_config",
            "max_failure_ratio",
        ],
        Cast::Number,
    ),
    (
        &["services", "*", "deploy", "restart_policy", "max_attempts"],
        Cast::Integer,
    ),
    (
        &[
            "services",
            "*",
            "deploy",
            "placement",
            "max_replicas_per_node",
        ],
        Cast::Integer,
    ),
    (&["services", "*", "healthcheck", "retries"], Cast::Integer),
    (&["services", "*", "healthcheck", "disable"], Cast::Boolean),
    (&["services", "*", "oom_kill_disable"], Cast::Boolean),
    (&["services", "*", "oom_score_adj"], Cast::Integer),
    (&["services", "*", "pids_limit"], Cast::Integer),
    (&["services", "*", "ports", "[]", "target"], Cast::Integer),
    (&["services", "*", "privileged"], Cast::Boolean),
    (&["services", "*", "read_only"], Cast::Boolean),
    (&["services", "*", "scale"], Cast::Integer),
    (&["services", "*", "secrets", "[]", "mode"], Cast::FileMode),
    (&["services", "*", "stdin_open"], Cast::Boolean),
    (&["services", "*", "tty"], Cast::Boolean),
    (&["services", "*", "ulimits", "*"], Cast::Integer),
    (&["services", "*", "ulimits", "*", "hard"], Cast::Integer),
    (&["services", "*", "ulimits", "*", "soft"], Cast::Integer),
    (
        &["services", "*", "volumes", "[]", "read_only"],
        Cast::Boolean,
    ),
    (
        &["services", "*", "volumes", "[]", "volume", "nocopy"],
        Cast::Boolean,
    ),
    (&["networks", "*", "external"], Cast::Boolean),
    (&["networks", "*", "internal"], Cast::Boolean),
    (&["networks", "*", "attachable"], Cast::Boolean),
    (&["networks", "*", "enable_ipv6"], Cast::Boolean),
    (&["volumes", "*", "external"], Cast::Boolean),
    (&["secrets", "*", "external"], Cast::Boolean),
    (&["configs", "*", "external"], Cast::Boolean),
];

fn cast_for(path: &[Seg<'_>]) -> Option<Cast> {
    // Every pattern is 3 to 6 segments long and starts at a top-level section.
    if !(3..=6).contains(&path.len())
        || !matches!(
            path[0],
            Seg::Key("services" | "networks" | "volumes" | "secrets" | "configs")
        )
    {
        return None;
    }
    CAST_PATHS
        .iter()
        .find(|(pattern, _)| matches_pattern(path, pattern))
        .map(|(_, cast)| *cast)
}

fn matches_pattern(path: &[Seg<'_>], pattern: PathPattern) -> bool {
    path.len() == pattern.len()
        && path
            .iter()
            .zip(pattern)
            .all(|(seg, pat)| match (seg, *pat) {
                (_, "*") | (Seg::Index(_), "[]") => true,
                (Seg::Key(k), pat) => *k == pat,
                (Seg::Index(_), _) => false,
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// compose-go's template test fixture (`FOO=first`, `BAR=` empty), plus a few of our own.
    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("first".into()),
            "BAR" | "SEALED_EMPTY" => Some(String::new()),
            "N" => Some("3".into()),
            "YES" => Some("yes".into()),
            "TOKEN" | "SEALED" => Some("hunter2".into()),
            _ => None,
        }
    }

    /// The report as one comparable value; empty lists are left out so cases stay short.
    fn report(result: &Interpolated) -> Value {
        let mut out = json!({ "value": result.value });
        let errors: Vec<String> = result.errors.iter().map(ToString::to_string).collect();
        let warnings: Vec<String> = result.warnings.iter().map(ToString::to_string).collect();
        if !errors.is_empty() {
            out["errors"] = json!(errors);
        }
        if !warnings.is_empty() {
            out["warnings"] = json!(warnings);
        }
        out
    }

    /// Interpolates `input` against [`env`] and compares the whole report.
    fn check(input: &Value, expected: &Value) {
        assert_eq!(
            &report(&interpolate(input, env)),
            expected,
            "input: {input}"
        );
    }

    /// A one-string document `{"x": template}` that interpolates to `value`.
    fn ok(template: &str, value: &str) -> (Value, Value) {
        (json!({ "x": template }), json!({ "value": { "x": value } }))
    }

    /// Like [`ok`], with one warning per unset variable.
    fn unset(template: &str, value: &str, vars: &[&str]) -> (Value, Value) {
        let warnings: Vec<String> = vars
            .iter()
            .map(|v| format!("x: the {v:?} variable is not set, defaulting to a blank string"))
            .collect();
        let expected = json!({ "value": { "x": value }, "warnings": warnings });
        (json!({ "x": template }), expected)
    }

    /// A one-string document that fails with these messages, keeping its original text.
    fn fails(template: &str, messages: &[&str]) -> (Value, Value) {
        let errors: Vec<String> = messages.iter().map(|m| format!("x: {m}")).collect();
        let expected = json!({ "value": { "x": template }, "errors": errors });
        (json!({ "x": template }), expected)
    }

    fn invalid(template: &str) -> (Value, Value) {
        let message =
            format!("invalid interpolation format in {template:?}; escape a literal $ as $$");
        fails(template, &[&message])
    }

    fn run(cases: &[(Value, Value)]) {
        for (input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn compose_go_template_cases() {
        run(&[
            ok("$${foo}", "${foo}"),
            ok("foo", "foo"),
            // A `$` that starts no reference is kept (TestUnescaped).
            ok("a $ string", "a $ string"),
            ok("^REGEX$", "^REGEX$"),
            ok("$}", "$}"),
            ok("$", "$"),
            ok("$1.50", "$1.50"),
            ok("$FOO-bar", "first-bar"),
            unset("This ${missing} var", "This  var", &["missing"]),
            ok("This ${BAR} var", "This  var"),
            ok("This $FOO var", "This first var"),
            ok("This ${FOO} var", "This first var"),
            ok("ok ${missing:-def}", "ok def"),
            ok("ok ${missing-def}", "ok def"),
            ok("ok ${BAR:-def}", "ok def"),
            ok("ok ${FOO:-def}", "ok first"),
            ok("ok ${BAR-def}", "ok "),
            ok("ok ${UNSET_VAR:+presence_value}", "ok "),
            ok("ok ${UNSET_VAR+presence_value}", "ok "),
            ok("ok ${FOO:+presence_value}", "ok presence_value"),
            ok("ok ${FOO+presence_value}", "ok presence_value"),
            ok("ok ${BAR+presence_value}", "ok presence_value"),
            ok("ok ${BAR:+presence_value}", "ok "),
            ok("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
            ok("ok ${FOO:?err}", "ok first"),
            ok("ok ${FOO?err}", "ok first"),
            ok("ok ${BAR?err}", "ok "),
        ]);
    }

    #[test]
    fn invalid_templates() {
        run(&[
            invalid("${"),
            invalid("${}"),
            invalid("${ }"),
            invalid("${ foo}"),
            invalid("${foo }"),
            invalid("${foo!}"),
            invalid("${FOO:x}"),
            invalid("ok ${FOO:-unterminated"),
            invalid("${1abc}"),
            // Shell features compose does not support are errors, not silently literal.
            invalid("${VARIABLE/foo/bar}"),
            invalid("${#FOO}"),
        ]);
    }

    #[test]
    fn surrounding_text_does_not_change_the_operator() {
        run(&[
            ok("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ok("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
            ok("-ok ${FOO:-defaultValue}", "-ok first"),
            ok(":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            ok(":-ok ${BAR-defaultValue}", ":-ok "),
            ok(":?ok ${BAR-defaultValue}", ":?ok "),
            ok(":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            ok(":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ok("+ok ${BAR-defaultValue}", "+ok "),
            ok("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            // The first operator after the name wins (TestPrecedence).
            ok("${UNSET_VAR-myerror?msg}", "myerror?msg"),
            ok("${FOO?bar-baz}", "first"),
            ok(
                "${BAR:-default_value_for_empty_var}",
                "default_value_for_empty_var",
            ),
            ok(
                "${UNSET_VAR-default_value_for_unset_var}",
                "default_value_for_unset_var",
            ),
            ok("${UNSET-va:-lu:?e}", "va:-lu:?e"),
            ok("${FOO+va:+lue}", "va:+lue"),
        ]);
    }

    #[test]
    fn nested_operands() {
        run(&[
            ok("ok ${UNSET_VAR-$FOO}", "ok first"),
            ok("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ok("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ok("ok ${BAR:-$FOO}", "ok first"),
            ok("ok ${BAR:-${FOO}}", "ok first"),
            ok("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ok("ok ${BAR+$FOO}", "ok first"),
            ok("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
            // The compose-spec examples.
            ok("${VARIABLE:-${FOO}}", "first"),
            ok("${VARIABLE:-${FOO:-default}}", "first"),
            ok("${VARIABLE:-${UNSET:-default}}", "default"),
            ok("${A:-${B:-${C:-deep}}}!", "deep!"),
            unset("${A:-${B}}", "", &["B"]),
            // Braces inside an operand are balanced, so JSON-ish defaults work.
            ok(r#"${UNSET:-{"a":{"b":1}}}"#, r#"{"a":{"b":1}}"#),
            ok("${UNSET:-$${not_a_var}}", "${not_a_var}"),
            // An operand is only evaluated when used, so its errors are not raised otherwise.
            ok("${FOO:-${MISSING:?never}}", "first"),
            ok("${UNSET:+${MISSING:?never}}", ""),
        ]);
    }

    #[test]
    fn dollar_dollar_escapes() {
        run(&[
            ok(
                "$$VAR_NOT_INTERPOLATED_BY_COMPOSE",
                "$VAR_NOT_INTERPOLATED_BY_COMPOSE",
            ),
            ok("$$$FOO", "$first"),
            ok("$$$$", "$$"),
            ok("cost: $$5", "cost: $5"),
            ok("sh -c 'echo $${HOME}'", "sh -c 'echo ${HOME}'"),
        ]);
    }

    #[test]
    fn required_variables() {
        let msg = "required variable UNSET_VAR is missing a value";
        run(&[
            fails(
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                &[&format!("{msg}: Mandatory Variable Unset")],
            ),
            fails(
                "not ok ${BAR:?Mandatory Variable Empty}",
                &["required variable BAR is missing a value: Mandatory Variable Empty"],
            ),
            fails("not ok ${UNSET_VAR:?}", &[msg]),
            fails(
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                &[&format!("{msg}: Mandatory Variable Unset")],
            ),
            fails("not ok ${UNSET_VAR?}", &[msg]),
            fails(
                "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
                &[&format!("{msg}: Mandatory Variable first")],
            ),
            fails(
                "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
                &[&format!("{msg}: Mandatory Variable first")],
            ),
            fails("${UNSET_VAR?bar-baz}", &[&format!("{msg}: bar-baz")]),
            // The compose-spec example `${VARIABLE?$FOO}`.
            fails(
                "${VARIABLE?$FOO}",
                &["required variable VARIABLE is missing a value: first"],
            ),
            // Every unmet requirement in a string is reported, not just the first.
            fails(
                "${A:?need a}/${B?need b}",
                &[
                    "required variable A is missing a value: need a",
                    "required variable B is missing a value: need b",
                ],
            ),
        ]);
    }

    #[test]
    fn whole_documents() {
        let cases = [
            (
                json!({
                    "name": "app-${N}",
                    "x-common": {"image": "img:${TAG:-latest}", "list": ["$FOO", {"deep": "${N}"}]},
                    "services": {"web": {
                        "image": "repo/web:${TAG-dev}",
                        "command": ["echo", "$$HOME", "${FOO}"],
                        "environment": {"${FOO}": "${BAR:-empty}", "N": 7, "NULL": null},
                        "labels": ["${FOO}=${N}"],
                        "ports": ["${PORT:-8080}:80", "${UNSET_PORT}:81"]
                    }}
                }),
                json!({
                    "value": {
                        "name": "app-3",
                        "x-common": {"image": "img:latest", "list": ["first", {"deep": "3"}]},
                        "services": {"web": {
                            "image": "repo/web:dev",
                            "command": ["echo", "$HOME", "first"],
                            // Keys are never interpolated; the list form is.
                            "environment": {"${FOO}": "empty", "N": 7, "NULL": null},
                            "labels": ["first=3"],
                            "ports": ["8080:80", ":81"]
                        }}
                    },
                    "warnings": [
                        "services.web.ports[1]: the \"UNSET_PORT\" variable is not set, defaulting to a blank string"
                    ]
                }),
            ),
            (
                json!({"services": {
                    "web": {"image": "${IMAGE:?set IMAGE}", "ports": ["80", "${P:?}"],
                            "environment": {"FOO": "${X}", "BAD": "${"}},
                    "db": {"image": "${DB?}"}
                }}),
                json!({
                    "value": {"services": {
                        "web": {"image": "${IMAGE:?set IMAGE}", "ports": ["80", "${P:?}"],
                                "environment": {"FOO": "", "BAD": "${"}},
                        "db": {"image": "${DB?}"}
                    }},
                    "errors": [
                        "services.web.image: required variable IMAGE is missing a value: set IMAGE",
                        "services.web.ports[1]: required variable P is missing a value",
                        "services.web.environment.BAD: invalid interpolation format in \"${\"; escape a literal $ as $$",
                        "services.db.image: required variable DB is missing a value"
                    ],
                    "warnings": [
                        "services.web.environment.FOO: the \"X\" variable is not set, defaulting to a blank string"
                    ]
                }),
            ),
        ];
        for (input, expected) in &cases {
            check(input, expected);
        }
    }

    #[test]
    fn typed_fields_are_cast() {
        let cases = [
            (
                json!({"services": {"web": {
                    "init": "${INIT:-true}",
                    "read_only": "${YES}",
                    "privileged": "False",
                    "tty": true,
                    "deploy": {"replicas": "${N:-2}", "update_config": {"max_failure_ratio": "0.5"}},
                    "cpus": "${CPUS:-1.5}",
                    "scale": "-1",
                    "healthcheck": {"retries": "${RETRIES:-3}", "disable": "off"},
                    "ports": [{"target": "${T:-80}", "published": "${P:-8000-8010}"}],
                    "ulimits": {"nofile": {"soft": "1024", "hard": "${H:-2048}"}, "nproc": "65535"},
                    "volumes": [{"type": "volume", "read_only": "true", "volume": {"nocopy": "false"}}],
                    "environment": {"REPLICAS": "${N}"}
                }},
                "networks": {"front": {"external": "true"}},
                "volumes": {"data": {"external": "${EXT:-false}"}},
                "x-init": "true"}),
                json!({
                    "value": {"services": {"web": {
                        "init": true,
                        "read_only": true,
                        "privileged": false,
                        "tty": true,
                        "deploy": {"replicas": 3, "update_config": {"max_failure_ratio": 0.5}},
                        "cpus": 1.5,
                        "scale": -1,
                        "healthcheck": {"retries": 3, "disable": false},
                        // v2 leaves `published` a string: it may be a range.
                        "ports": [{"target": 80, "published": "8000-8010"}],
                        "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 65535},
                        "volumes": [{"type": "volume", "read_only": true, "volume": {"nocopy": false}}],
                        "environment": {"REPLICAS": "3"}
                    }},
                    "networks": {"front": {"external": true}},
                    "volumes": {"data": {"external": false}},
                    "x-init": "true"},
                    "warnings": [
                        "services.web.read_only: \"yes\" for a boolean is not supported by YAML 1.2, use true or false",
                        "services.web.healthcheck.disable: \"off\" for a boolean is not supported by YAML 1.2, use true or false"
                    ]
                }),
            ),
            (
                json!({"services": {"web": {
                    "init": "maybe",
                    "deploy": {"replicas": "${N:-2}x"},
                    "cpus": "lots",
                    "healthcheck": {"retries": "1.5"}
                }}}),
                json!({
                    "value": {"services": {"web": {
                        "init": "maybe",
                        "deploy": {"replicas": "3x"},
                        "cpus": "lots",
                        "healthcheck": {"retries": "1.5"}
                    }}},
                    "errors": [
                        "services.web.init: failed to cast \"maybe\" to boolean: invalid boolean: maybe",
                        "services.web.deploy.replicas: failed to cast \"3x\" to integer: invalid digit found in string",
                        "services.web.cpus: failed to cast \"lots\" to number: invalid float literal",
                        "services.web.healthcheck.retries: failed to cast \"1.5\" to integer: invalid digit found in string"
                    ]
                }),
            ),
        ];
        for (input, expected) in &cases {
            check(input, expected);
        }
    }

    #[test]
    fn diagnostics_name_their_variable() {
        let result = interpolate(
            &json!({"services": {"web": {"image": "${IMG:?}", "user": "$WHO"}}}),
            env,
        );
        let errors: Vec<_> = result
            .errors
            .iter()
            .map(|e| (e.path.as_str(), e.variable()))
            .collect();
        let warnings: Vec<_> = result
            .warnings
            .iter()
            .map(|w| (w.path.as_str(), w.variable()))
            .collect();
        assert_eq!(errors, [("services.web.image", Some("IMG"))]);
        assert_eq!(warnings, [("services.web.user", Some("WHO"))]);
    }

    #[test]
    fn masking_hides_sealed_values_but_keeps_semantics() {
        let doc = json!({"services": {"web": {
            "environment": ["PASSWORD=${SEALED}", "USER=${FOO}", "E=${SEALED_EMPTY:-fallback}"],
            "command": "login --token=$TOKEN --alt=${SEALED:+set}",
            "deploy": {"replicas": "${SEALED}"}
        }}});
        let sealed = |name: &str| name.starts_with("SEALED") || name == "TOKEN";
        let result = interpolate_masked(&doc, env, sealed);
        assert_eq!(
            result.value,
            json!({"services": {"web": {
                "environment": ["PASSWORD=********", "USER=first", "E=fallback"],
                "command": "login --token=******** --alt=set",
                "deploy": {"replicas": "********"}
            }}})
        );
        assert_eq!(result.errors, []);
        // Unmasked, the same document shows the values (and the cast then fails honestly).
        let plain = interpolate(&doc, env);
        assert_eq!(
            plain.value["services"]["web"]["environment"][0],
            json!("PASSWORD=hunter2")
        );
        assert_eq!(plain.errors.len(), 1);
    }

    #[test]
    fn references_lists_every_variable_with_its_path() {
        let doc = json!({
            "x-a": "$docker:${project:-cli}",
            "services": {"web": {
                "image": "${IMG:?need image}",
                "ports": ["8080", "${HOST_PORT:-${FALLBACK}}:80"],
                "command": "$${ESCAPED} ${ALT:+x} ${SET+y} ${HARD-z}",
                "broken": "${"
            }}
        });
        let got: Vec<_> = references(&doc)
            .into_iter()
            .map(|r| {
                (
                    r.path.clone(),
                    r.variable.clone(),
                    r.operator.map(Operator::symbol),
                    r.operand.clone(),
                    r.nested,
                    r.needs_definition(),
                )
            })
            .collect();
        let s = |v: &str| v.to_owned();
        assert_eq!(
            got,
            vec![
                (s("x-a"), s("docker"), None, None, false, true),
                (
                    s("x-a"),
                    s("project"),
                    Some(":-"),
                    Some(s("cli")),
                    false,
                    false
                ),
                (
                    s("services.web.image"),
                    s("IMG"),
                    Some(":?"),
                    Some(s("need image")),
                    false,
                    true
                ),
                (
                    s("services.web.ports[1]"),
                    s("HOST_PORT"),
                    Some(":-"),
                    Some(s("${FALLBACK}")),
                    false,
                    false
                ),
                (
                    s("services.web.ports[1]"),
                    s("FALLBACK"),
                    None,
                    None,
                    true,
                    true
                ),
                (
                    s("services.web.command"),
                    s("ALT"),
                    Some(":+"),
                    Some(s("x")),
                    false,
                    false
                ),
                (
                    s("services.web.command"),
                    s("SET"),
                    Some("+"),
                    Some(s("y")),
                    false,
                    false
                ),
                (
                    s("services.web.command"),
                    s("HARD"),
                    Some("-"),
                    Some(s("z")),
                    false,
                    false
                ),
            ]
        );
    }

    #[test]
    fn substitute_one_string() {
        assert_eq!(substitute("${FOO}-${N:-1}", env), Ok("first-3".to_owned()));
        assert_eq!(substitute("${NOPE}", env), Ok(String::new()));
        assert_eq!(
            substitute("${NOPE:?why}", env),
            Err(TemplateError::MissingRequired {
                variable: "NOPE".into(),
                message: "why".into()
            })
        );
    }

    #[test]
    fn every_cast_pattern_is_well_formed() {
        for (pattern, _) in CAST_PATHS {
            let (first, rest) = pattern.split_first().expect("non-empty");
            assert!(!matches!(*first, "*" | "[]"), "{pattern:?}");
            assert!(rest.iter().all(|seg| !seg.is_empty()), "{pattern:?}");
        }
    }
}
