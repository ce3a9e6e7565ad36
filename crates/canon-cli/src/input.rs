//! Reading what the subcommands take: a body from a file or stdin, and
//! `-H 'Name: value'` headers.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::output::UsageError;

/// Reads the body from a file, or from stdin when the path is absent or `-`.
pub(crate) fn read_body(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(path) if path != Path::new("-") => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).context("cannot read standard input")?;
            Ok(body)
        }
    }
}

/// Parses `-H 'Name: value'` arguments into a header map.
pub(crate) fn parse_headers(headers: &[String]) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| UsageError(format!("header `{header}` is not of the form 'Name: value'")))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| UsageError(format!("`{}` is not a valid header name", name.trim())))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| UsageError(format!("the value of header `{name}` is not a valid header value")))?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_and_refuses_malformed_ones() {
        let map = parse_headers(&["Retry-After: 5".into(), "x-request-id:abc".into()]).unwrap();
        assert_eq!(map["retry-after"], "5");
        assert_eq!(map["x-request-id"], "abc");
        for bad in ["no-colon", ": empty-name", "bad name: x"] {
            let error = parse_headers(&[bad.to_owned()]).unwrap_err();
            assert!(error.downcast_ref::<UsageError>().is_some(), "{bad}");
        }
    }
}
