//! `Authorization: APIKey <key>` and the Gcore page's four 401 causes.
//!
//! | request | `exception_class` | `message` |
//! |---------|-------------------|-----------|
//! | no `Authorization` header, or `APIKey` with nothing after it | `not_authenticated` | `Authentication credentials were not provided.` |
//! | a key that is a live key cut short at its first `$` | `token_not_valid` | `Bad permanent token: {partial}` |
//! | any other unknown key (never made, deleted, expired) | `token_not_valid` | `Token is invalid or expired` |
//! | another scheme (`Bearer`, `Basic`, none) | `token_not_valid` | `Given token not valid for any token type` |
//!
//! The scheme is checked first: a valid key sent as `Bearer` is still
//! refused, as Gcore refuses it.
//!
//! # The cut key
//!
//! A key such as `1234$s3cr3t` typed into a shell in double quotes loses
//! everything from the `$` on: the shell expands `$s3cr3t` to nothing. The
//! emulator keeps, for each key with a `$`, the keyed hash of the part
//! before it (see [`Cloud::is_key_cut_at_dollar`]), so it can tell such a
//! request from one with an unknown key. The message shows only
//! [`partial_key`] of what was sent: at most [`PARTIAL_KEY_CHARS`]
//! characters and never more than half of it, then `...`, so that the
//! body never repeats a secret.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use canon::gcore::{MESSAGE_BAD_PERMANENT_TOKEN, MESSAGE_NO_CREDENTIALS, MESSAGE_TOKEN_INVALID, MESSAGE_WRONG_SCHEME};
use canon::{Code, Status};
use canon_axum::ApiError;
use http::header::AUTHORIZATION;
use http::request::Parts;

use super::error::{ErrorContext, NO_INFO, gcore_status, to_gcore};
use crate::Cloud;
use crate::auth::Principal;
use crate::http::{AppState, blocking};

/// The scheme Gcore's API keys are sent with.
pub const SCHEME: &str = "APIKey";

/// The most characters of a cut key a 401 shows.
pub const PARTIAL_KEY_CHARS: usize = 4;

/// Why a request is not authenticated: the page's four causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials.
    NoCredentials,
    /// A key cut short at a `$`; holds the [`partial_key`] to show.
    CutKey(String),
    /// An unknown, deleted or expired key.
    InvalidOrExpired,
    /// Not the `APIKey` scheme.
    WrongScheme,
}

impl AuthFailure {
    /// The Gcore-shaped 401.
    pub fn status(&self) -> Status {
        let (class, message) = match self {
            AuthFailure::NoCredentials => ("not_authenticated", MESSAGE_NO_CREDENTIALS.to_owned()),
            AuthFailure::CutKey(partial) => ("token_not_valid", format!("{MESSAGE_BAD_PERMANENT_TOKEN}{partial}")),
            AuthFailure::InvalidOrExpired => ("token_not_valid", MESSAGE_TOKEN_INVALID.to_owned()),
            AuthFailure::WrongScheme => ("token_not_valid", MESSAGE_WRONG_SCHEME.to_owned()),
        };
        let mut status = gcore_status(Code::Unauthenticated, class, message, NO_INFO);
        // Each cause has its own reason in canon's table; the class alone
        // would give the first `token_not_valid` row's.
        let reason = canon::gcore::row_for_class(class, status.message()).map(|row| row.reason);
        if let (Some(reason), Some(canon::Detail::ErrorInfo(info))) = (reason, status.details_mut().first_mut()) {
            info.reason = reason.into();
        }
        status
    }
}

/// What of a cut key a 401 may show: the first characters, at most
/// [`PARTIAL_KEY_CHARS`] and at most half of the key, then `...`.
///
/// ```
/// use canon_cloud::http::gcore::auth::partial_key;
///
/// assert_eq!(partial_key("123456"), "123...");
/// assert_eq!(partial_key("ck_0123456789abcdef"), "ck_0...");
/// assert_eq!(partial_key("a"), "...");
/// ```
pub fn partial_key(key: &str) -> String {
    let shown = PARTIAL_KEY_CHARS.min(key.chars().count() / 2);
    let prefix: String = key.chars().take(shown).collect();
    format!("{prefix}...")
}

/// Authenticates a request's `Authorization` header value.
pub fn authenticate(cloud: &Cloud, header: Option<&str>) -> Result<Principal, Status> {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Err(AuthFailure::NoCredentials.status());
    };
    let (scheme, key) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(AuthFailure::WrongScheme.status());
    }
    let key = key.trim();
    if key.is_empty() {
        return Err(AuthFailure::NoCredentials.status());
    }
    match cloud.authenticate(Some(key)) {
        Ok(principal) => Ok(principal),
        Err(error) if error.code() == Code::Unauthenticated => {
            if cloud.is_key_cut_at_dollar(key).map_err(|e| to_gcore(&e, ErrorContext::default()))? {
                Err(AuthFailure::CutKey(partial_key(key)).status())
            } else {
                Err(AuthFailure::InvalidOrExpired.status())
            }
        }
        Err(error) => Err(to_gcore(&error, ErrorContext::default())),
    }
}

/// The authenticated caller of a Gcore request: the extractor runs
/// [`authenticate`] on the `Authorization` header and rejects with the
/// matching 401.
#[derive(Debug, Clone)]
pub struct GcoreAuth(pub Principal);

impl FromRequestParts<AppState> for GcoreAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<GcoreAuth, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let cloud = Arc::clone(&state.cloud);
        let principal = blocking(move || authenticate(&cloud, header.as_deref())).await?.map_err(ApiError::new)?;
        Ok(GcoreAuth(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_keys_never_show_more_than_half() {
        for key in ["", "a", "ab", "abcd", "1234", "abcdefgh", "ck_0123456789abcdef0123"] {
            let partial = partial_key(key);
            let shown = partial.trim_end_matches("...");
            assert!(shown.chars().count() <= PARTIAL_KEY_CHARS, "{key}");
            assert!(shown.chars().count() * 2 <= key.chars().count(), "{key}");
            assert!(key.starts_with(shown));
        }
    }

    #[test]
    fn each_cause_has_its_class_and_reason() {
        let table = [
            (AuthFailure::NoCredentials, "not_authenticated", "CREDENTIALS_MISSING"),
            (AuthFailure::CutKey("12...".into()), "token_not_valid", "TOKEN_TRUNCATED"),
            (AuthFailure::InvalidOrExpired, "token_not_valid", "TOKEN_INVALID_OR_EXPIRED"),
            (AuthFailure::WrongScheme, "token_not_valid", "WRONG_AUTH_SCHEME"),
        ];
        for (failure, class, reason) in table {
            let status = failure.status();
            let info = status.error_info().unwrap();
            assert_eq!((info.metadata["exceptionClass"].as_ref(), info.reason.as_ref()), (class, reason));
            assert_eq!(canon::encode(&status, canon::Encoding::Gcore).http_status, 401);
        }
    }
}
