//! Proto comments to rustdoc lines.

/// Turns a proto comment into rustdoc lines that render as written and never
/// become doctests: indented blocks are fenced as `text`, and brackets are
/// escaped so they are not read as intra-doc links.
pub fn sanitize(comment: &str) -> Vec<String> {
    let lines: Vec<&str> = comment.trim_end().lines().collect();
    if lines.iter().all(|l| l.trim().is_empty()) {
        return Vec::new();
    }
    // protoc keeps the space after `//`; drop one common leading space.
    let strip = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.starts_with(' '));
    #[derive(PartialEq)]
    enum State {
        Text,
        Fenced,
        Indented,
    }
    let mut state = State::Text;
    // (line, is prose): prose is escaped once the whole comment is known,
    // because a markdown link may span lines.
    let mut out: Vec<(String, bool)> = Vec::new();
    // Content column of the list item being continued, if any.
    let mut list_indent: Option<usize> = None;
    for raw in lines {
        let line = if strip {
            raw.strip_prefix(' ').unwrap_or(raw)
        } else {
            raw
        };
        let blank = line.trim().is_empty();
        let indented = line.starts_with("    ") || line.starts_with('\t');
        let fence = line.trim_start().starts_with("```");
        if state == State::Indented && !blank && !indented {
            out.push((" ```".to_string(), false));
            state = State::Text;
        }
        match state {
            State::Fenced if fence => {
                out.push((" ```".to_string(), false));
                state = State::Text;
            }
            State::Fenced | State::Indented => {
                let text = if blank {
                    String::new()
                } else {
                    format!(" {}", strip_indent(line))
                };
                out.push((text, false))
            }
            State::Text if fence => {
                // A fence in the comment: keep it, but never let it be Rust.
                out.push((" ```text".to_string(), false));
                state = State::Fenced;
            }
            State::Text if indented && !blank => {
                out.push((" ```text".to_string(), false));
                out.push((format!(" {}", strip_indent(line)), false));
                state = State::Indented;
            }
            State::Text if blank => {
                list_indent = None;
                out.push((String::new(), true))
            }
            State::Text => {
                let leading = line.len() - line.trim_start().len();
                let line = match (list_item_indent(line), list_indent) {
                    (Some(indent), _) => {
                        list_indent = Some(indent);
                        line.to_string()
                    }
                    // Indent continuation lines under their list item, as
                    // markdown (and clippy) expect.
                    (None, Some(indent)) if leading < indent => {
                        format!("{}{}", " ".repeat(indent - leading), line)
                    }
                    _ => line.to_string(),
                };
                out.push((format!(" {}", wrap_urls(&line)), true))
            }
        }
    }
    if state != State::Text {
        out.push((" ```".to_string(), false));
    }
    escape_prose(out)
}

/// Escapes brackets in runs of prose lines, keeping `[text](url)` links.
fn escape_prose(lines: Vec<(String, bool)>) -> Vec<String> {
    let mut result = Vec::with_capacity(lines.len());
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, result: &mut Vec<String>| {
        if !run.is_empty() {
            result.extend(
                escape_brackets(&run.join("\n"))
                    .split('\n')
                    .map(str::to_string),
            );
            run.clear();
        }
    };
    for (line, prose) in lines {
        if prose {
            run.push(line);
        } else {
            flush(&mut run, &mut result);
            result.push(line);
        }
    }
    flush(&mut run, &mut result);
    result
}

/// `[` and `]` become `\[` and `\]` (so rustdoc does not read them as
/// intra-doc links), except around a markdown link `[text](url)`.
fn escape_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['[', ']', '<']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('<') {
            // `<https://…>` is an autolink; any other `<word>` would be
            // read as an HTML tag.
            if !after.starts_with("http://") && !after.starts_with("https://") {
                out.push('\\');
            }
            out.push('<');
            rest = after;
            continue;
        }
        if tail.starts_with('[')
            && let Some(close) = tail.find(']')
        {
            let inner = &tail[1..close];
            if tail[close + 1..].starts_with('(') && !inner.contains('[') {
                out.push_str(&tail[..close + 2]);
                rest = &tail[close + 2..];
                continue;
            }
        }
        out.push('\\');
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// The content column of a markdown list item (`- x`, `* x`, `1. x`).
fn list_item_indent(line: &str) -> Option<usize> {
    let leading = line.len() - line.trim_start().len();
    let rest = &line[leading..];
    let marker = if rest.starts_with(['-', '*', '+']) {
        1
    } else {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with(['.', ')']) {
            return None;
        }
        digits + 1
    };
    rest[marker..]
        .starts_with(' ')
        .then_some(leading + marker + 1)
}

fn strip_indent(line: &str) -> &str {
    line.strip_prefix("    ")
        .or_else(|| line.strip_prefix('\t'))
        .unwrap_or(line)
}

/// Bare URLs become `<…>` autolinks (rustdoc warns about bare ones).
fn wrap_urls(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if (word.starts_with("http://") || word.starts_with("https://")) && !word.contains('<') {
            let trimmed = word.trim_end_matches(['.', ',', ')', ';', ':']);
            out.push('<');
            out.push_str(trimmed);
            out.push('>');
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plain_comment() {
        assert_eq!(sanitize(" Get user by ID\n"), [" Get user by ID"]);
    }

    #[test]
    fn indented_blocks_become_text_fences() {
        let doc = sanitize(" Example:\n\n     foo(bar);\n     baz();\n\n Done [x].\n");
        assert_eq!(
            doc,
            [
                " Example:",
                "",
                " ```text",
                " foo(bar);",
                " baz();",
                "",
                " ```",
                " Done \\[x\\]."
            ]
        );
    }

    #[test]
    fn list_continuations_are_indented() {
        assert_eq!(
            sanitize(" - MUST treat\n documented.\n"),
            [" - MUST treat", "   documented."]
        );
        assert_eq!(
            sanitize(" 1. one\n two\n\n three"),
            [" 1. one", "    two", "", " three"]
        );
    }

    #[test]
    fn markdown_links_survive_other_brackets_are_escaped() {
        assert_eq!(
            sanitize(" See [semantic\n versioning](http://semver.org) and a[0]."),
            [
                " See [semantic",
                " versioning](http://semver.org) and a\\[0\\]."
            ]
        );
    }

    #[test]
    fn angle_brackets_are_not_html() {
        assert_eq!(
            sanitize(" The format is <package>.<type>"),
            [" The format is \\<package>.\\<type>"]
        );
        assert_eq!(sanitize(" See https://a.b"), [" See <https://a.b>"]);
    }

    #[test]
    fn urls_are_autolinked() {
        assert_eq!(sanitize(" See https://x.io/a."), [" See <https://x.io/a>."]);
    }
}
