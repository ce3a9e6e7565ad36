//! The heuristic behind `aip193/message-value-not-in-metadata`: which parts
//! of a message are dynamic, and whether ErrorInfo.metadata holds them.
//!
//! A message is prose with values in it. The heuristic takes as dynamic:
//!
//! 1. **Quoted text**: what stands between `'…'`, `"…"`, `` `…` ``, `‘…’`
//!    or `“…”`, when the opening quote does not follow a letter or digit and
//!    the closing quote is not followed by one. So `project 'proj-123'` gives
//!    `proj-123`, while the apostrophes of `don't` and `users' keys` open
//!    nothing.
//! 2. **Numbers**: a whole word of digits, with an optional sign, decimal
//!    part and `%` (`200`, `1.5`, `80%`), except the HTTP status and the
//!    body's `code`, which a message may repeat.
//! 3. **Ids**: a whole word (split at white space, with the punctuation
//!    around it stripped) that has a digit and also a letter or one of
//!    `-_/:.@`: `clu-abc123`, `gb-bournemouth-1`, a UUID, a date,
//!    `projects/p-1/zones/z`. A short list of ordinary technical words that
//!    look like ids (`IPv4`, `UTF-8`, `5xx`, `base64`, `x86_64`, ...) is
//!    left out.
//!
//! Words without digits (`STATE_ACTIVE`, `machineCount`, `read-only`) are
//! never taken: they are usually vocabulary, and taking them would make the
//! rule noisy. A dynamic part counts as present when some metadata value
//! contains it as a whole token, that is, not inside a longer run of
//! letters and digits (`16` is in `16` and in `limit:16`, not in `160`).

/// Quote pairs: opening and closing characters.
const QUOTES: &[(char, char)] = &[('\'', '\''), ('"', '"'), ('`', '`'), ('‘', '’'), ('“', '”')];

/// Longest quoted text taken as one value; longer quotes are prose.
const MAX_QUOTED_CHARS: usize = 120;

/// Ordinary technical words that contain digits but are not values.
const ORDINARY_WORDS: &[&str] = &[
    "1xx", "2xx", "3xx", "4xx", "5xx", "ipv4", "ipv6", "utf-8", "utf8", "utf-16", "base64", "base32", "sha-1", "sha1",
    "sha-256", "sha256", "sha-512", "sha512", "md5", "oauth2", "http/1.1", "http/2", "http/3", "x86", "x86_64",
    "arm64", "aarch64", "amd64", "k8s", "i18n", "l10n", "s3", "ec2", "2fa", "mfa2",
];

/// Characters that may join the parts of an id.
const ID_JOINERS: &[char] = &['-', '_', '/', ':', '.', '@'];

/// The dynamic parts of a message, in order, without repeats. `ignore`
/// holds numbers not to take (the HTTP status and the body's code).
pub(crate) fn dynamic_parts(message: &str, ignore: &[i64]) -> Vec<String> {
    let chars: Vec<(usize, char)> = message.char_indices().collect();
    let mut parts: Vec<String> = Vec::new();
    let mut push = |part: &str| {
        if !part.is_empty() && !parts.iter().any(|p| p == part) {
            parts.push(part.to_owned());
        }
    };
    // Spans of the message that are outside quotes, as byte ranges.
    let mut outside: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let opens = QUOTES.iter().find(|(open, _)| *open == c).map(|(_, close)| *close);
        let after_word = i > 0 && chars[i - 1].1.is_alphanumeric();
        if let (Some(close), false) = (opens, after_word) {
            if let Some(j) = closing_quote(&chars, i + 1, close) {
                let inner = &message[chars[i + 1].0.min(chars[j].0)..chars[j].0];
                let trimmed = inner.trim();
                if !trimmed.is_empty() && trimmed.chars().count() <= MAX_QUOTED_CHARS {
                    outside.push((start, at));
                    push(trimmed);
                    start = chars[j].0 + chars[j].1.len_utf8();
                }
                // Empty or overlong quotes are skipped whole, so that their
                // closing quote does not open another.
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    outside.push((start, message.len()));
    for (from, to) in outside {
        for word in message[from..to].split_whitespace() {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '%' && c != '+' && c != '-');
            let word = word.trim_end_matches(['-', '+']);
            if let Some(number) = number(word) {
                if !number.parse::<i64>().is_ok_and(|n| ignore.contains(&n)) {
                    push(number);
                }
            } else if is_id(word) {
                push(word);
            }
        }
    }
    parts
}

/// The index of the quote that closes one opened before `from`: the first
/// `close` not followed by a letter or digit, on the same line.
fn closing_quote(chars: &[(usize, char)], from: usize, close: char) -> Option<usize> {
    for j in from..chars.len() {
        let c = chars[j].1;
        if c == '\n' {
            return None;
        }
        if c == close && chars.get(j + 1).is_none_or(|(_, next)| !next.is_alphanumeric()) {
            return Some(j);
        }
    }
    None
}

/// The number a word is, without its `%`, when it is one.
fn number(word: &str) -> Option<&str> {
    let digits = word.strip_suffix('%').unwrap_or(word);
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "1"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(whole) && all_digits(fraction)).then_some(digits)
}

/// Whether a word looks like an id: a digit, and a letter or a joiner.
fn is_id(word: &str) -> bool {
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    let has_other = word.chars().any(|c| c.is_alphabetic() || ID_JOINERS.contains(&c));
    has_digit && has_other && !ORDINARY_WORDS.contains(&word.to_ascii_lowercase().as_str())
}

/// Whether `part` occurs in `value` as a whole token.
pub(crate) fn contains_token(value: &str, part: &str) -> bool {
    let mut from = 0;
    while let Some(offset) = value[from..].find(part) {
        let start = from + offset;
        let end = start + part.len();
        let before_ok = value[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = value[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        from = start + value[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quoted_text_numbers_and_ids() {
        let table: &[(&str, &[&str])] = &[
            (
                "Machine type 'gpu-a100-x99' is not available in data center gb-bournemouth-1.",
                &["gpu-a100-x99", "gb-bournemouth-1"],
            ),
            ("machineCount 200 exceeds the maximum of 128.", &["200", "128"]),
            ("Cluster must be in STATE_ACTIVE before resizing.", &[]),
            ("Cluster 'clu-missing99' not found in project 'proj-123'.", &["clu-missing99", "proj-123"]),
            ("dataCenterIdal control plane temporarily unavailable. Retry later.", &[]),
            ("An internal error occurred. Try again or contact support if it persists.", &[]),
            ("Don't retry: the users' keys expired.", &[]),
            ("Disk \"data-1\" is 80% full, see `vol/7`.", &["data-1", "vol/7", "80"]),
            ("Names '' and 'x-1' differ.", &["x-1"]),
            (
                "Instance 726ecfcc-7fd0-4e30-a86e-7892524aa483 could not be found",
                &["726ecfcc-7fd0-4e30-a86e-7892524aa483"],
            ),
            ("Only IPv4 and UTF-8 over HTTP/2 on 5xx; retry in 1.5 s or -3 s.", &["1.5", "-3"]),
            ("Quota ‘gpus’ is “full”", &["gpus", "full"]),
            ("Not found (HTTP 404).", &[]),
            ("The read-only disk cannot grow.", &[]),
            ("A 'quote that never closes", &[]),
        ];
        for (message, expected) in table {
            assert_eq!(dynamic_parts(message, &[404]), *expected, "{message}");
        }
    }

    #[test]
    fn matches_whole_tokens_only() {
        let table = [
            ("16", "16", true),
            ("limit:16", "16", true),
            ("160", "16", false),
            ("projects/proj-123/zones/a", "proj-123", true),
            ("proj-1234", "proj-123", false),
            ("x-proj-123", "proj-123", true),
            ("", "a", false),
            ("éa", "a", false),
        ];
        for (value, part, expected) in table {
            assert_eq!(contains_token(value, part), expected, "{part} in {value}");
        }
    }
}
