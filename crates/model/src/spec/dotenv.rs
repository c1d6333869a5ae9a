//! `.env` and `env_file` parsing, as compose v2 does it.
//!
//! This mirrors compose-go v2's `dotenv/parser.go` (github.com/compose-spec/compose-go, itself a
//! fork of godotenv): `KEY=VALUE`, `KEY: VALUE`, an optional `export ` prefix, `#` comment lines,
//! blank lines, `'single'` quotes taken literally (only `\'` is unescaped), `"double"` quotes with
//! backslash escapes (`\n`, `\t`, `\"`, `\\`, `\$`, `\0ooo`, …), quoted values spanning lines, an
//! inline ` #` comment after an unquoted value, a bare `KEY` inheriting the lookup's value (or
//! staying absent) and `KEY=` meaning empty. Unquoted and double-quoted values are interpolated
//! with [`super::interpolate`]'s grammar, against the lookup first and then the keys defined above.
//!
//! We do not use `dotenvy`: its quoting, escape and substitution rules differ from compose-go's
//! (no `${VAR:?err}`/`${VAR:+alt}`, no lookup-before-file precedence, different inline comments),
//! and matching compose exactly is the point of this module.

use indexmap::IndexMap;

use super::interpolate::{TemplateError, substitute};

/// A `.env` file that cannot be parsed, with the 1-based line where the statement starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct DotenvError {
    /// 1-based line of the offending statement.
    pub line: usize,
    /// What is wrong.
    pub kind: DotenvErrorKind,
}

/// The kinds of [`DotenvError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotenvErrorKind {
    /// A key holds a character outside letters, digits and `_ . - [ ]`.
    #[error("unexpected character {character:?} in variable name {line_text:?}")]
    UnexpectedCharacter {
        /// The offending character.
        character: char,
        /// The rest of the line, for context.
        line_text: String,
    },
    /// `MY KEY=value`.
    #[error("key cannot contain a space")]
    KeyWithSpace,
    /// A quoted value with no closing quote.
    #[error("unterminated quoted value {0}")]
    UnterminatedQuote(String),
    /// The value's interpolation failed (`${VAR:?err}` unmet, or an invalid `${…}`).
    #[error(transparent)]
    Template(TemplateError),
}

/// Parses a `.env` file into its variables, in file order (a repeated key keeps its first
/// position and its last value).
///
/// `lookup` supplies variables from outside the file: the value of a bare `KEY` line, and the
/// first place `${VAR}` is looked up before the keys already parsed (compose-go's precedence).
pub fn parse(
    src: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, DotenvError> {
    let src = src.strip_prefix('\u{FEFF}').unwrap_or(src);
    let mut parser = Parser {
        src,
        lookup: &lookup,
        out: IndexMap::new(),
    };
    let mut rest = src;
    while let Some(statement) = statement_start(rest) {
        rest = parser.statement(statement)?;
    }
    Ok(parser.out)
}

struct Parser<'a> {
    src: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    out: IndexMap<String, String>,
}

/// Compose-go's `isSpace`: whitespace that does not end a line.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

fn is_key_char(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | '[' | ']') || c.is_alphanumeric()
}

/// Skips blank lines and `#` comment lines; `None` at the end of the input.
fn statement_start(mut src: &str) -> Option<&str> {
    loop {
        src = src.trim_start();
        if src.is_empty() {
            return None;
        }
        if !src.starts_with('#') {
            return Some(src);
        }
        src = &src[src.find('\n')?..];
    }
}

/// `export KEY=…` is `KEY=…`, but `exportKEY=…` and `export=…` are keys of their own.
fn strip_export(s: &str) -> &str {
    match s.strip_prefix("export") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_whitespace()) => {
            rest.trim_start_matches(is_space)
        }
        _ => s,
    }
}

/// Where a key ends: the index of its `=`, `:` or newline (the last meaning a bare `KEY`).
fn key_end(s: &str) -> Result<Option<(usize, char)>, DotenvErrorKind> {
    for (i, c) in s.char_indices() {
        match c {
            '=' | ':' | '\n' => return Ok(Some((i, c))),
            c if is_space(c) || is_key_char(c) => {}
            c => {
                return Err(DotenvErrorKind::UnexpectedCharacter {
                    character: c,
                    line_text: s.lines().next().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    Ok(None)
}

impl Parser<'_> {
    fn line_of(&self, s: &str) -> usize {
        let offset = self.src.len() - s.len();
        1 + self.src[..offset].matches('\n').count()
    }

    fn fail(&self, at: &str, kind: DotenvErrorKind) -> DotenvError {
        DotenvError {
            line: self.line_of(at),
            kind,
        }
    }

    /// Parses one statement starting at `s`; returns the input after it.
    fn statement<'s>(&mut self, s: &'s str) -> Result<&'s str, DotenvError> {
        let body = strip_export(s);
        let end = key_end(body).map_err(|kind| self.fail(s, kind))?;
        // compose-go turns a final `KEY` without a newline into a value under the empty key;
        // we treat it like any other bare `KEY`.
        let (end, terminator) = end.unwrap_or((body.len(), '\n'));
        let key = body[..end].trim_end();
        if key.contains(' ') {
            return Err(self.fail(s, DotenvErrorKind::KeyWithSpace));
        }
        let after = body.get(end + 1..).unwrap_or_default();
        if terminator == '\n' {
            if let Some(value) = (self.lookup)(key) {
                self.out.insert(key.to_owned(), value);
            }
            return Ok(after);
        }
        let after = after.trim_start_matches(is_space);
        let (value, rest) = self.value(after).map_err(|kind| self.fail(s, kind))?;
        self.out.insert(key.to_owned(), value);
        Ok(rest)
    }

    fn value<'s>(&self, s: &'s str) -> Result<(String, &'s str), DotenvErrorKind> {
        match s.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let (raw, rest) = quoted(s, quote).ok_or_else(|| {
                    DotenvErrorKind::UnterminatedQuote(s.lines().next().unwrap_or_default().into())
                })?;
                if quote == '\'' {
                    return Ok((raw, rest));
                }
                Ok((self.expand(&expand_escapes(&raw))?, rest))
            }
            _ => {
                let (line, rest) = s.split_once('\n').unwrap_or((s, ""));
                // Only ` #` starts a comment: `a#b` is a value, as in compose-go.
                let value = line.split(" #").next().unwrap_or_default().trim_end();
                Ok((self.expand(value)?, rest))
            }
        }
    }

    fn expand(&self, value: &str) -> Result<String, DotenvErrorKind> {
        substitute(value, |name| {
            (self.lookup)(name).or_else(|| self.out.get(name).cloned())
        })
        .map_err(DotenvErrorKind::Template)
    }
}

/// The text between `s`'s opening quote and its closing one, with `\<quote>` unescaped and every
/// other backslash kept for [`expand_escapes`]; plus the input after the closing quote.
fn quoted(s: &str, quote: char) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
            if c != quote {
                out.push('\\');
            }
            out.push(c);
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((out, &s[i + 1..]));
        } else {
            out.push(c);
        }
    }
    None
}

/// Double-quote escapes, as compose-go's `expandEscapes`: the C/XSI-echo set and `\0ooo` octal.
/// `\$` becomes `$$` so interpolation then yields a literal `$`. Anything else keeps its backslash.
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let replacement = match chars.peek() {
            Some('a') => "\u{07}",
            Some('b') => "\u{08}",
            Some('f') => "\u{0C}",
            Some('n') => "\n",
            Some('r') => "\r",
            Some('t') => "\t",
            Some('v') => "\u{0B}",
            Some('\\') => "\\",
            Some('"') => "\"",
            Some('$') => "$$",
            Some('0') => {
                chars.next();
                out.push_str(&octal(&mut chars));
                continue;
            }
            _ => {
                // Not an escape: keep the backslash and look at the next character afresh.
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push_str(replacement);
    }
    out
}

/// After `\0`: up to three digits. Exactly three octal digits up to `\0377` are that byte's
/// character; anything else is left as compose-go leaves it, `\` followed by the digits.
fn octal(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut digits = String::new();
    while digits.len() < 3 {
        match chars.peek() {
            Some(d) if d.is_ascii_digit() => {
                digits.push(*d);
                chars.next();
            }
            _ => break,
        }
    }
    match u8::from_str_radix(&digits, 8) {
        Ok(byte) if digits.len() == 3 => char::from(byte).to_string(),
        _ => format!("\\{digits}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "FROM_ENV" => Some("env value".into()),
            "OVERRIDE" => Some("from lookup".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    /// Parses `input` against [`env`] and compares the ordered result, or the error's text.
    fn check(input: &str, expected: Result<&[(&str, &str)], &str>) {
        let got = parse(input, env)
            .map(|map| map.into_iter().collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        let expected = expected
            .map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .map_err(str::to_owned);
        assert_eq!(got, expected, "input: {input:?}");
    }

    #[test]
    fn plain_values_spacing_and_yaml_style() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("FOO=bar", &[("FOO", "bar")]),
            ("FOO =bar", &[("FOO", "bar")]),
            ("FOO= bar", &[("FOO", "bar")]),
            ("FOO=bar ", &[("FOO", "bar")]),
            (" KEY =value", &[("KEY", "value")]),
            ("\tKEY=value", &[("KEY", "value")]),
            ("FOO=foobar=", &[("FOO", "foobar=")]),
            ("FOO.BAR=foobar", &[("FOO.BAR", "foobar")]),
            (
                "a[1]=c\na.propertyKey=d",
                &[("a[1]", "c"), ("a.propertyKey", "d")],
            ),
            (
                "árvíztűrő-TÜKÖR=ÁRVÍZ-tükör",
                &[("árvíztűrő-TÜKÖR", "ÁRVÍZ-tükör")],
            ),
            ("OPTION_A: 1", &[("OPTION_A", "1")]),
            ("OPTION_A: Foo=bar", &[("OPTION_A", "Foo=bar")]),
            ("OPTION_A=1:B", &[("OPTION_A", "1:B")]),
            (
                "OPTION_A=postgres://localhost:5432/database?sslmode=disable",
                &[(
                    "OPTION_A",
                    "postgres://localhost:5432/database?sslmode=disable",
                )],
            ),
            (
                "ONE=1\nTWO='2'\nTHREE = \"3\"",
                &[("ONE", "1"), ("TWO", "2"), ("THREE", "3")],
            ),
            ("KEY=", &[("KEY", "")]),
            ("KEY=\nNEXT=1", &[("KEY", ""), ("NEXT", "1")]),
            ("FOO=a\\tb", &[("FOO", "a\\tb")]),
            ("\u{FEFF}BOM=1", &[("BOM", "1")]),
            ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
            ("A=1\nB=2\nA=3", &[("A", "3"), ("B", "2")]),
            (r#"="value""#, &[("", "value")]),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn export_prefix() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("export OPTION_A=2", &[("OPTION_A", "2")]),
            (r"export OPTION_B='\n'", &[("OPTION_B", "\\n")]),
            ("export exportFoo=2", &[("exportFoo", "2")]),
            ("exportFOO=2", &[("exportFOO", "2")]),
            ("export_FOO =2", &[("export_FOO", "2")]),
            ("export.FOO= 2", &[("export.FOO", "2")]),
            ("export\tOPTION_A=2", &[("OPTION_A", "2")]),
            ("  export OPTION_A=2", &[("OPTION_A", "2")]),
            ("\texport OPTION_A=2", &[("OPTION_A", "2")]),
            (r#"export OPTION_A="export A""#, &[("OPTION_A", "export A")]),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn comments_and_blank_lines() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("\n", &[]),
            ("\r\n", &[]),
            ("\t\t ", &[]),
            ("# Comment", &[]),
            ("\t # comment", &[]),
            ("# a\n\nA=1\n  # b\nB=2 # c\n", &[("A", "1"), ("B", "2")]),
            ("FOO=bar # this is foo", &[("FOO", "bar")]),
            ("FOO=bar #this is foo", &[("FOO", "bar")]),
            ("FOO=bar #", &[("FOO", "bar")]),
            (
                "FOO=123#not-an-inline-comment",
                &[("FOO", "123#not-an-inline-comment")],
            ),
            (r#"FOO="bar#baz""#, &[("FOO", "bar#baz")]),
            (r##"FOO="bar#baz"#"##, &[("FOO", "bar#baz")]),
            (r#"FOO="bar#baz" # comment"#, &[("FOO", "bar#baz")]),
            ("FOO='bar#baz' # comment", &[("FOO", "bar#baz")]),
            (
                r#"FOO="bar#baz#bang" # comment"#,
                &[("FOO", "bar#baz#bang")],
            ),
            ("FOO='ba#r'", &[("FOO", "ba#r")]),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn quotes_and_escapes() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (r#"FOO="bar""#, &[("FOO", "bar")]),
            ("FOO='bar'", &[("FOO", "bar")]),
            (r#"FOO="escaped\"bar""#, &[("FOO", "escaped\"bar")]),
            (r#"FOO="\"quoted\"""#, &[("FOO", "\"quoted\"")]),
            (r#"FOO="'d'""#, &[("FOO", "'d'")]),
            (r"FOO='it\'s'", &[("FOO", "it's")]),
            (r"FOO='lit\n$X ${Y:?no}'", &[("FOO", r"lit\n$X ${Y:?no}")]),
            (r#"FOO="bar\nbaz""#, &[("FOO", "bar\nbaz")]),
            (r#"FOO="a\tb""#, &[("FOO", "a\tb")]),
            (
                r#"KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z""#,
                &[("KEY", "Z\u{07}Z\u{08}Z\u{0C}Z\nZ\rZ\tZ\u{0B}Z\\ZSZ")],
            ),
            (r#"FOO="bar\n\ b\az""#, &[("FOO", "bar\n\\ b\u{07}z")]),
            (r#"FOO="bar\\\n\ b\az""#, &[("FOO", "bar\\\n\\ b\u{07}z")]),
            (r#"FOO="bar\\r\ b\az""#, &[("FOO", "bar\\r\\ b\u{07}z")]),
            (r#"FOO="bar\nbaz\\""#, &[("FOO", "bar\nbaz\\")]),
            (r#"KEY="\0123""#, &[("KEY", "S")]),
            (r#"KEY="\012""#, &[("KEY", "\\12")]),
            (r#"KEY="\x07""#, &[("KEY", "\\x07")]),
            (r#"KEY="\u12e4""#, &[("KEY", "\\u12e4")]),
            (r#"KEY="\c""#, &[("KEY", "\\c")]),
            ("FOO=\"\"\nBAR=''", &[("FOO", ""), ("BAR", "")]),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn multiline_quoted_values() {
        check(
            "OPTION_J='first line\nsecond line'\nOPTION_K=\"third line\nand so on\"\nZ=last",
            Ok(&[
                ("OPTION_J", "first line\nsecond line"),
                ("OPTION_K", "third line\nand so on"),
                ("Z", "last"),
            ]),
        );
        check(
            "TEST_URLS=\"stratum+tcp://a:3333\nstratum+tcp://b:443\"",
            Ok(&[("TEST_URLS", "stratum+tcp://a:3333\nstratum+tcp://b:443")]),
        );
    }

    #[test]
    fn interpolation() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("FOO=test\nBAR=$FOO", &[("FOO", "test"), ("BAR", "test")]),
            (
                "FOO=test\nBAR=${FOO}bar",
                &[("FOO", "test"), ("BAR", "testbar")],
            ),
            ("BAR=$FOO", &[("BAR", "")]),
            (
                "FOO=test\nBAR=\"quote $FOO\"",
                &[("FOO", "test"), ("BAR", "quote test")],
            ),
            ("BAR='quote $FOO'", &[("BAR", "quote $FOO")]),
            (r#"FOO="foo\$BAR""#, &[("FOO", "foo$BAR")]),
            (r#"FOO="foo\${BAR}""#, &[("FOO", "foo${BAR}")]),
            (
                "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
                &[("FOO", "test"), ("BAR", "foo${FOO} test")],
            ),
            ("A=$$literal", &[("A", "$literal")]),
            ("A=${FROM_ENV}", &[("A", "env value")]),
            ("TEST=$FROM_ENV", &[("TEST", "env value")]),
            ("A=${EMPTY:-Default Value}", &[("A", "Default Value")]),
            ("A=${EMPTY-Default Value}", &[("A", "")]),
            ("A=${UNSET_VAR-Default Value}", &[("A", "Default Value")]),
            ("A=${FROM_ENV:-Default Value}", &[("A", "env value")]),
            ("A=${EMPTY?Test error}", &[("A", "")]),
            ("A=${FROM_ENV:?Test error}", &[("A", "env value")]),
            // The lookup wins over the file's own earlier keys, as in compose-go.
            (
                "OVERRIDE=file\nB=${OVERRIDE}",
                &[("OVERRIDE", "file"), ("B", "from lookup")],
            ),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn bare_keys_inherit_from_lookup() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("FROM_ENV\n", &[("FROM_ENV", "env value")]),
            ("FROM_ENV", &[("FROM_ENV", "env value")]),
            ("VARIABLE_NOT_FOUND\n", &[]),
            (
                "FROM_ENV\nfoo=bar\nMISSING\nbar=baz",
                &[("FROM_ENV", "env value"), ("foo", "bar"), ("bar", "baz")],
            ),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
    }

    #[test]
    fn errors_carry_the_line_number() {
        let cases: &[(&str, &str)] = &[
            (
                "lol$wut",
                r#"line 1: unexpected character '$' in variable name "lol$wut""#,
            ),
            (
                "A=1\n%!(EXTRA string)=foo",
                r#"line 2: unexpected character '%' in variable name "%!(EXTRA string)=foo""#,
            ),
            ("A=1\n\n# c\nMY KEY=1", "line 4: key cannot contain a space"),
            (r#"KEY=""#, r#"line 1: unterminated quoted value ""#),
            (
                r#"KEY="value"#,
                r#"line 1: unterminated quoted value "value"#,
            ),
            (
                "KEY=\"value\\\"",
                "line 1: unterminated quoted value \"value\\\"",
            ),
            (
                r#"KEY="value'"#,
                r#"line 1: unterminated quoted value "value'"#,
            ),
            ("KEY='", "line 1: unterminated quoted value '"),
            ("KEY='value", "line 1: unterminated quoted value 'value"),
            (
                r"KEY='value\'",
                r"line 1: unterminated quoted value 'value\'",
            ),
            (
                r#"KEY='value""#,
                r#"line 1: unterminated quoted value 'value""#,
            ),
            (
                "A=1\nB=\"multi\nline\"\nC=${UNSET_VAR:?Test error}",
                "line 4: required variable UNSET_VAR is missing a value: Test error",
            ),
            (
                "A=${EMPTY:?}",
                "line 1: required variable EMPTY is missing a value",
            ),
            (
                "A=\"${UNSET_VAR?Test error}\"",
                "line 1: required variable UNSET_VAR is missing a value: Test error",
            ),
            (
                "A=${oops",
                r#"line 1: invalid interpolation format in "${oops"; escape a literal $ as $$"#,
            ),
        ];
        for (input, expected) in cases {
            check(input, Err(expected));
        }
    }
}
