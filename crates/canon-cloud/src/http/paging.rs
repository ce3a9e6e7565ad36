//! List paging, in CUDO's two styles.
//!
//! CUDO's lists page either by token (`pageToken`, `pageSize`; the
//! response's `pageToken` is the next page's, empty on the last page:
//! projects, data centers) or by number (`pageNumber` from 1, `pageSize`;
//! the response repeats them with `totalCount`: disks, SSH keys,
//! clusters). Both follow AIP-158 where CUDO says nothing: a missing or
//! zero `pageSize` means [`DEFAULT_PAGE_SIZE`], a larger one than
//! [`MAX_PAGE_SIZE`] is lowered to it, a negative one is
//! INVALID_ARGUMENT, and so is a page token the server did not make.
//!
//! ```
//! use canon_cloud::errors::Errors;
//! use canon_cloud::http::paging::{TokenPageQuery, by_token};
//!
//! let errors = Errors::new("compute.cudo.dev");
//! let query = TokenPageQuery { page_token: None, page_size: Some(2) };
//! let first = by_token((1..=5).collect(), &query, &errors).unwrap();
//! assert_eq!((first.items.clone(), first.next_page_token.as_str()), (vec![1, 2], "2"));
//! let query = TokenPageQuery { page_token: Some(first.next_page_token), page_size: Some(2) };
//! assert_eq!(by_token((1..=5).collect(), &query, &errors).unwrap().items, [3, 4]);
//! ```

use canon::Status;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::errors::Errors;

/// The page size when a request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page size; larger requests are lowered to it.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The query of a list paged by token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TokenPageQuery {
    /// The `pageToken` of the previous page's response; none for the first
    /// page.
    #[serde(default)]
    pub page_token: Option<String>,
    /// The most items to return: 1 to 1000, 100 when absent or 0.
    #[serde(default)]
    #[param(minimum = 0, maximum = 2147483647)]
    pub page_size: Option<i32>,
}

/// The query of a list paged by number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NumberPageQuery {
    /// The page, from 1 (1 when absent or 0).
    #[serde(default)]
    #[param(minimum = 0, maximum = 2147483647)]
    pub page_number: Option<i32>,
    /// The most items per page: 1 to 1000, 100 when absent or 0.
    #[serde(default)]
    #[param(minimum = 0, maximum = 2147483647)]
    pub page_size: Option<i32>,
}

/// One page of a list paged by token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The next page's token; empty on the last page.
    pub next_page_token: String,
    /// The page size used.
    pub page_size: i32,
}

/// One page of a list paged by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The page number used, from 1.
    pub page_number: i32,
    /// The page size used.
    pub page_size: i32,
    /// How many items the whole list has.
    pub total_count: i32,
}

fn page_size(size: Option<i32>, errors: &Errors) -> Result<usize, Status> {
    match size {
        Some(size) if size < 0 => Err(errors.negative("pageSize", size.into())),
        Some(0) | None => Ok(DEFAULT_PAGE_SIZE),
        Some(size) => Ok((size as usize).min(MAX_PAGE_SIZE)),
    }
}

/// The page of `items` a token query asks for.
pub fn by_token<T>(items: Vec<T>, query: &TokenPageQuery, errors: &Errors) -> Result<TokenPage<T>, Status> {
    let size = page_size(query.page_size, errors)?;
    let offset = match query.page_token.as_deref() {
        None | Some("") => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| errors.invalid_field("pageToken", "Not a page token of this list."))?,
    };
    let end = offset.saturating_add(size).min(items.len());
    let next_page_token = if end < items.len() { end.to_string() } else { String::new() };
    let items = items.into_iter().skip(offset).take(end - offset).collect();
    Ok(TokenPage { items, next_page_token, page_size: size as i32 })
}

/// The page of `items` a number query asks for; past the end, an empty
/// page.
pub fn by_number<T>(items: Vec<T>, query: &NumberPageQuery, errors: &Errors) -> Result<NumberPage<T>, Status> {
    let size = page_size(query.page_size, errors)?;
    let number = match query.page_number {
        Some(number) if number < 0 => return Err(errors.negative("pageNumber", number.into())),
        Some(0) | None => 1,
        Some(number) => number,
    };
    let total_count = i32::try_from(items.len()).unwrap_or(i32::MAX);
    let offset = (number as usize - 1).saturating_mul(size);
    let items = items.into_iter().skip(offset).take(size).collect();
    Ok(NumberPage { items, page_number: number, page_size: size as i32, total_count })
}

#[cfg(test)]
mod tests {
    use canon::Code;

    use super::*;

    #[test]
    fn token_pages_walk_the_list_and_end_with_an_empty_token() {
        let errors = Errors::new("d");
        let items: Vec<u32> = (0..250).collect();
        let mut query = TokenPageQuery::default();
        let mut seen = Vec::new();
        loop {
            let page = by_token(items.clone(), &query, &errors).unwrap();
            assert_eq!(page.page_size, 100);
            seen.extend(page.items);
            if page.next_page_token.is_empty() {
                break;
            }
            query.page_token = Some(page.next_page_token);
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn bad_paging_parameters_are_invalid_arguments() {
        let errors = Errors::new("d");
        let table = [
            TokenPageQuery { page_token: Some("x".into()), page_size: None },
            TokenPageQuery { page_token: Some("999".into()), page_size: None },
            TokenPageQuery { page_token: None, page_size: Some(-1) },
        ];
        for query in table {
            let error = by_token(vec![1, 2, 3], &query, &errors).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument, "{query:?}");
        }
        let error = by_number(vec![1], &NumberPageQuery { page_number: Some(-2), page_size: None }, &errors);
        assert_eq!(error.unwrap_err().code(), Code::InvalidArgument);
    }

    #[test]
    fn number_pages_count_from_one_and_clamp_the_size() {
        let errors = Errors::new("d");
        let items: Vec<u32> = (0..5000).collect();
        let page = by_number(items.clone(), &NumberPageQuery { page_number: Some(2), page_size: Some(3) }, &errors);
        let page = page.unwrap();
        assert_eq!((page.items, page.page_number, page.page_size, page.total_count), (vec![3, 4, 5], 2, 3, 5000));
        let page = by_number(items.clone(), &NumberPageQuery { page_number: None, page_size: Some(i32::MAX) }, &errors);
        assert_eq!(page.unwrap().items.len(), MAX_PAGE_SIZE);
        let past = by_number(items, &NumberPageQuery { page_number: Some(i32::MAX), page_size: None }, &errors);
        assert!(past.unwrap().items.is_empty());
    }
}
