//! Random JSON objects for tests of the object readers: random keys (some repeated), values of every kind with
//! strings that hold quotes, commas, braces and escapes, numbers `serde_json` rewrites and ones it keeps, nested
//! to four levels, and random white space between every pair of tokens.

/// Keys written as they are; with `escaped_keys`, also keys spelled with escapes, some of them equal to plain ones
/// (`\u0061` is `a`).
pub(crate) fn random_objects(count: usize, escaped_keys: bool) -> Vec<String> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    (0..count)
        .map(|_| {
            let (before, after) = (space(&mut next), space(&mut next));
            format!("{before}{}{after}", object(&mut next, 0, escaped_keys))
        })
        .collect()
}

fn space(next: &mut impl FnMut(u64) -> u64) -> String {
    (0..next(3))
        .map(|_| [" ", "\t", "\n", "\r"][next(4) as usize])
        .collect()
}

fn value(next: &mut impl FnMut(u64) -> u64, depth: u32, escaped_keys: bool) -> String {
    const STRINGS: &[&str] = &[
        r#""""#,
        r#""plain""#,
        r#""a\"b""#,
        r#"", ""#,
        r#""}""#,
        r#""\\""#,
        r#""\u00e9 \n""#,
        r#""{\"k\": 1}""#,
        r#""a\/b""#,
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "-12",
        "3.25",
        "1e300",
        "98765432109876543210",
        "-0",
        "1.50",
        "1E2",
        "0.1",
        "-9223372036854775808",
    ];
    let kinds = if depth >= 4 { 5 } else { 7 };
    match next(kinds) {
        0 => STRINGS[next(STRINGS.len() as u64) as usize].to_owned(),
        1 => NUMBERS[next(NUMBERS.len() as u64) as usize].to_owned(),
        2 => ["true", "false"][next(2) as usize].to_owned(),
        3 => "null".to_owned(),
        4 => STRINGS[1].to_owned(),
        5 => {
            let items: Vec<String> = (0..next(4))
                .map(|_| {
                    let (before, after) = (space(next), space(next));
                    format!("{before}{}{after}", value(next, depth + 1, escaped_keys))
                })
                .collect();
            format!("[{}{}]", items.join(","), space(next))
        }
        _ => object(next, depth + 1, escaped_keys),
    }
}

fn object(next: &mut impl FnMut(u64) -> u64, depth: u32, escaped_keys: bool) -> String {
    const KEYS: &[&str] = &["a", "b", "", "é", "@timestamp", "key with spaces", "k,"];
    const ESCAPED: &[&str] = &[r"\u0061", r"\u00e9", r#"q\"uote"#, r"\/"];
    let members: Vec<String> = (0..next(6))
        .map(|_| {
            let key = if escaped_keys && next(4) == 0 {
                ESCAPED[next(ESCAPED.len() as u64) as usize]
            } else {
                KEYS[next(KEYS.len() as u64) as usize]
            };
            let (s1, s2, s3, s4) = (space(next), space(next), space(next), space(next));
            format!(
                "{s1}\"{key}\"{s2}:{s3}{}{s4}",
                value(next, depth, escaped_keys)
            )
        })
        .collect();
    format!("{{{}{}}}", members.join(","), space(next))
}
