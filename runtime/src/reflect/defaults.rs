//! How descriptors spell default values (`default_value`): what the
//! generator and `DynamicMessage` both read.

/// Undoes the C escaping protoc applies to `bytes` defaults.
pub fn unescape_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes[i] {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' | b'X' => {
                let digits: String = text[i + 1..]
                    .chars()
                    .take(2)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                out.push(u8::from_str_radix(&digits, 16).unwrap_or(0));
                i += digits.len();
            }
            b'0'..=b'7' => {
                let digits: String = text[i..]
                    .chars()
                    .take(3)
                    .take_while(|c| ('0'..='7').contains(c))
                    .collect();
                out.push(u8::from_str_radix(&digits, 8).unwrap_or(0));
                i += digits.len() - 1;
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// A `float`/`double` default: a number, `inf`, `-inf` or `nan`.
pub fn parse_float_default(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::unescape_bytes;

    #[test]
    fn unescapes_c_escapes() {
        assert_eq!(unescape_bytes(r"a\001\x7f\n\\"), b"a\x01\x7f\n\\");
        assert_eq!(unescape_bytes(r"\0"), b"\0");
    }
}
