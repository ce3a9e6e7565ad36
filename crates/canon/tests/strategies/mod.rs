//! proptest strategies for every standard detail type, shared by the
//! round-trip properties of `tests/roundtrip.rs` and by the unit tests of
//! `src/encode.rs` (which include this file with `#[path]`).
//!
//! The caller gives the strategies for the leaves (text, metadata maps,
//! durations, localized messages), because each property holds for its
//! own kind of text: the round trips exclude braces from messages, the
//! encoder's byte-for-byte check wants every character JSON must escape.
//! The names below resolve in both places because the crate's unit tests
//! see the crate itself as `canon` too (`extern crate self as canon` in
//! `lib.rs`, under `cfg(test)`).

use std::collections::BTreeMap;

use canon::details::*;
use canon::{Detail, ProtoDuration};
use proptest::prelude::*;

/// Any standard detail, one type at a time, its fields drawn from the
/// given leaf strategies.
pub(crate) fn standard_detail_with<T, M, D, L>(
    text: fn() -> T,
    map: fn() -> M,
    duration: fn() -> D,
    localized: fn() -> L,
) -> impl Strategy<Value = Detail>
where
    T: Strategy<Value = String> + 'static,
    M: Strategy<Value = BTreeMap<String, String>> + 'static,
    D: Strategy<Value = ProtoDuration> + 'static,
    L: Strategy<Value = LocalizedMessage> + 'static,
{
    prop_oneof![
        (text(), text(), map()).prop_map(|(reason, domain, metadata)| {
            let metadata = metadata.into_iter().map(|(key, value)| (key.into(), value.into())).collect();
            ErrorInfo { reason: reason.into(), domain: domain.into(), metadata }.into()
        }),
        prop::option::of(duration()).prop_map(|retry_delay| RetryInfo { retry_delay }.into()),
        (prop::collection::vec(text(), 0..3), text()).prop_map(|(stack_entries, detail)| DebugInfo {
            stack_entries,
            detail
        }
        .into()),
        prop::collection::vec(
            (text(), text(), text(), text(), text(), map(), any::<i64>(), any::<Option<i64>>()),
            0..3
        )
        .prop_map(|vs| QuotaFailure {
            violations: vs
                .into_iter()
                .map(|(subject, description, api_service, quota_metric, quota_id, quota_dimensions, v, f)| {
                    QuotaViolation {
                        subject,
                        description,
                        api_service,
                        quota_metric,
                        quota_id,
                        quota_dimensions,
                        quota_value: v,
                        future_quota_value: f,
                    }
                })
                .collect()
        }
        .into()),
        prop::collection::vec((text(), text(), text()), 0..3).prop_map(|vs| PreconditionFailure {
            violations: vs
                .into_iter()
                .map(|(r#type, subject, description)| PreconditionViolation { r#type, subject, description })
                .collect()
        }
        .into()),
        prop::collection::vec((text(), text(), text(), prop::option::of(localized())), 0..3).prop_map(|vs| {
            BadRequest {
                field_violations: vs
                    .into_iter()
                    .map(|(field, description, reason, localized_message)| FieldViolation {
                        field,
                        description,
                        reason,
                        localized_message,
                    })
                    .collect(),
            }
            .into()
        }),
        (text(), text()).prop_map(|(request_id, serving_data)| RequestInfo { request_id, serving_data }.into()),
        (text(), text(), text(), text()).prop_map(|(resource_type, resource_name, owner, description)| {
            ResourceInfo { resource_type, resource_name, owner, description }.into()
        }),
        prop::collection::vec((text(), text()), 0..3).prop_map(|links| Help {
            links: links.into_iter().map(|(description, url)| HelpLink { description, url }).collect()
        }
        .into()),
        localized().prop_map(Detail::from),
    ]
}
