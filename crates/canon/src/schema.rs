//! The schemas of the standard details as data, and a checker that walks a
//! detail's JSON against them.
//!
//! The same walk serves two purposes. The decoder uses it on the slow path,
//! when a detail failed the strict parse: it repairs the detail into a
//! conforming reading and records what it had to repair. The linter uses it
//! to report everything that breaks or bends proto3 JSON, including things
//! a parser accepts but a writer should not produce (an int64 written as a
//! number).

use std::fmt;

use serde_json::{Map, Value};

use crate::details::DetailKind;
use crate::duration::ProtoDuration;

/// What a schema problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The detail is not a JSON object.
    NotAnObject,
    /// A field the type does not have.
    UnknownField,
    /// A field whose JSON type is wrong, such as an array where the proto
    /// has a string.
    WrongType,
    /// A Duration string that does not parse.
    InvalidDuration,
    /// An int64 that is not a whole number in range.
    InvalidInt64,
    /// An int64 written as a JSON number. Parsers accept it, writers should
    /// use a string; this one does not break the schema.
    Int64AsNumber,
}

/// One way a detail's JSON departs from its type's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    kind: ProblemKind,
    pointer: String,
    message: String,
}

impl SchemaProblem {
    pub(crate) fn new(pointer: &str, message: &str) -> SchemaProblem {
        SchemaProblem { kind: ProblemKind::WrongType, pointer: pointer.to_owned(), message: message.to_owned() }
    }

    /// What the problem is.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// A JSON pointer into the detail, such as `/metadata/availableMachineTypes`.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// A one-line explanation.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a strict proto3 JSON parser rejects the detail because of it.
    pub fn breaks_schema(&self) -> bool {
        self.kind != ProblemKind::Int64AsNumber
    }
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// The JSON shape of one proto field.
#[derive(Clone, Copy)]
enum FieldType {
    Text,
    TextList,
    TextMap,
    Int64,
    OptionalInt64,
    Duration,
    Message(&'static [Field]),
    Messages(&'static [Field]),
}

/// One proto field: its lowerCamelCase JSON name, proto name and shape.
struct Field {
    json: &'static str,
    proto: &'static str,
    ty: FieldType,
}

const fn field(json: &'static str, proto: &'static str, ty: FieldType) -> Field {
    Field { json, proto, ty }
}

use FieldType::*;

static LOCALIZED_MESSAGE: &[Field] = &[field("locale", "locale", Text), field("message", "message", Text)];
static ERROR_INFO: &[Field] =
    &[field("reason", "reason", Text), field("domain", "domain", Text), field("metadata", "metadata", TextMap)];
static RETRY_INFO: &[Field] = &[field("retryDelay", "retry_delay", Duration)];
static DEBUG_INFO: &[Field] = &[field("stackEntries", "stack_entries", TextList), field("detail", "detail", Text)];
static QUOTA_VIOLATION: &[Field] = &[
    field("subject", "subject", Text),
    field("description", "description", Text),
    field("apiService", "api_service", Text),
    field("quotaMetric", "quota_metric", Text),
    field("quotaId", "quota_id", Text),
    field("quotaDimensions", "quota_dimensions", TextMap),
    field("quotaValue", "quota_value", Int64),
    field("futureQuotaValue", "future_quota_value", OptionalInt64),
];
static QUOTA_FAILURE: &[Field] = &[field("violations", "violations", Messages(QUOTA_VIOLATION))];
static PRECONDITION_VIOLATION: &[Field] =
    &[field("type", "type", Text), field("subject", "subject", Text), field("description", "description", Text)];
static PRECONDITION_FAILURE: &[Field] = &[field("violations", "violations", Messages(PRECONDITION_VIOLATION))];
static FIELD_VIOLATION: &[Field] = &[
    field("field", "field", Text),
    field("description", "description", Text),
    field("reason", "reason", Text),
    field("localizedMessage", "localized_message", Message(LOCALIZED_MESSAGE)),
];
static BAD_REQUEST: &[Field] = &[field("fieldViolations", "field_violations", Messages(FIELD_VIOLATION))];
static REQUEST_INFO: &[Field] = &[field("requestId", "request_id", Text), field("servingData", "serving_data", Text)];
static RESOURCE_INFO: &[Field] = &[
    field("resourceType", "resource_type", Text),
    field("resourceName", "resource_name", Text),
    field("owner", "owner", Text),
    field("description", "description", Text),
];
static HELP_LINK: &[Field] = &[field("description", "description", Text), field("url", "url", Text)];
static HELP: &[Field] = &[field("links", "links", Messages(HELP_LINK))];

fn fields_of(kind: DetailKind) -> &'static [Field] {
    match kind {
        DetailKind::ErrorInfo => ERROR_INFO,
        DetailKind::RetryInfo => RETRY_INFO,
        DetailKind::DebugInfo => DEBUG_INFO,
        DetailKind::QuotaFailure => QUOTA_FAILURE,
        DetailKind::PreconditionFailure => PRECONDITION_FAILURE,
        DetailKind::BadRequest => BAD_REQUEST,
        DetailKind::RequestInfo => REQUEST_INFO,
        DetailKind::ResourceInfo => RESOURCE_INFO,
        DetailKind::Help => HELP,
        DetailKind::LocalizedMessage => LOCALIZED_MESSAGE,
    }
}

/// Checks a standard detail's JSON against its schema. Returns the repaired
/// object (which conforms) and pushes every problem found.
pub(crate) fn repair(kind: DetailKind, value: &Value, problems: &mut Vec<SchemaProblem>) -> Value {
    let Some(object) = value.as_object() else {
        problems.push(problem(ProblemKind::NotAnObject, "", "the detail is not a JSON object"));
        let mut empty = Map::new();
        empty.insert("@type".to_owned(), Value::String(kind.type_url().to_owned()));
        return Value::Object(empty);
    };
    let mut repaired = repair_message(fields_of(kind), object, "", problems, true);
    repaired.insert("@type".to_owned(), Value::String(kind.type_url().to_owned()));
    Value::Object(repaired)
}

/// Every schema problem in a standard detail's JSON, including those that
/// do not break it (see [`SchemaProblem::breaks_schema`]).
pub fn check_detail(kind: DetailKind, value: &Value) -> Vec<SchemaProblem> {
    let mut problems = Vec::new();
    repair(kind, value, &mut problems);
    problems
}

fn problem(kind: ProblemKind, pointer: &str, message: &str) -> SchemaProblem {
    SchemaProblem { kind, pointer: pointer.to_owned(), message: message.to_owned() }
}

/// Escapes a key for a JSON pointer (RFC 6901).
pub(crate) fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn repair_message(
    fields: &'static [Field],
    object: &Map<String, Value>,
    base: &str,
    problems: &mut Vec<SchemaProblem>,
    is_any: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        if is_any && key == "@type" {
            continue;
        }
        let pointer = format!("{base}/{}", pointer_token(key));
        let Some(field) = fields.iter().find(|f| f.json == key || f.proto == key) else {
            problems.push(problem(
                ProblemKind::UnknownField,
                &pointer,
                &format!("`{key}` is not a field of this type"),
            ));
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Some(repaired) = repair_field(field.ty, value, &pointer, problems) {
            out.insert(field.json.to_owned(), repaired);
        }
    }
    out
}

fn wrong(pointer: &str, expected: &str, value: &Value) -> SchemaProblem {
    problem(ProblemKind::WrongType, pointer, &format!("expected {expected}, found {}", json_type(value)))
}

fn repair_field(ty: FieldType, value: &Value, pointer: &str, problems: &mut Vec<SchemaProblem>) -> Option<Value> {
    match ty {
        Text => match value {
            Value::String(_) => Some(value.clone()),
            other => {
                problems.push(wrong(pointer, "a string", other));
                None
            }
        },
        TextList => match value {
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| repair_field(Text, item, &format!("{pointer}/{i}"), problems))
                    .collect(),
            )),
            other => {
                problems.push(wrong(pointer, "an array of strings", other));
                None
            }
        },
        TextMap => match value {
            Value::Object(map) => Some(Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            other => {
                                problems.push(wrong(&format!("{pointer}/{}", pointer_token(k)), "a string", other));
                                other.to_string()
                            }
                        };
                        (k.clone(), Value::String(text))
                    })
                    .collect(),
            )),
            other => {
                problems.push(wrong(pointer, "an object of strings", other));
                None
            }
        },
        Int64 | OptionalInt64 => match value {
            Value::String(s) if s.parse::<i64>().is_ok() => Some(value.clone()),
            Value::Number(n) if n.as_i64().is_some() => {
                problems.push(problem(
                    ProblemKind::Int64AsNumber,
                    pointer,
                    "int64 written as a number; proto3 JSON writes it as a string",
                ));
                Some(Value::String(n.to_string()))
            }
            other => {
                problems.push(problem(
                    ProblemKind::InvalidInt64,
                    pointer,
                    &format!("expected an int64 (a string of digits), found {}", json_type(other)),
                ));
                None
            }
        },
        Duration => match value {
            Value::String(s) => match s.parse::<ProtoDuration>() {
                Ok(_) => Some(value.clone()),
                Err(e) => {
                    problems.push(problem(ProblemKind::InvalidDuration, pointer, &e.to_string()));
                    None
                }
            },
            other => {
                problems.push(problem(
                    ProblemKind::InvalidDuration,
                    pointer,
                    &format!("expected a Duration string such as \"5s\", found {}", json_type(other)),
                ));
                None
            }
        },
        Message(fields) => match value {
            Value::Object(map) => Some(Value::Object(repair_message(fields, map, pointer, problems, false))),
            other => {
                problems.push(wrong(pointer, "an object", other));
                None
            }
        },
        Messages(fields) => match value {
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| repair_field(Message(fields), item, &format!("{pointer}/{i}"), problems))
                    .collect(),
            )),
            other => {
                problems.push(wrong(pointer, "an array of objects", other));
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_problem_with_its_pointer() {
        // (kind, detail JSON, expected "pointer kind" lines)
        let table: Vec<(DetailKind, Value, Vec<&str>)> = vec![
            (
                DetailKind::ErrorInfo,
                json!({"@type": "x", "reason": "R", "metadata": {"a": ["x"], "b": "ok", "c": 1}}),
                vec!["/metadata/a WrongType", "/metadata/c WrongType"],
            ),
            (DetailKind::ErrorInfo, json!({"reason": "R", "extra": true}), vec!["/extra UnknownField"]),
            (DetailKind::RetryInfo, json!({"retryDelay": "5"}), vec!["/retryDelay InvalidDuration"]),
            (DetailKind::RetryInfo, json!({"retryDelay": 5}), vec!["/retryDelay InvalidDuration"]),
            (DetailKind::RetryInfo, json!({"retry_delay": "5s"}), vec![]),
            (
                DetailKind::QuotaFailure,
                json!({"violations": [{"quotaValue": 10, "futureQuotaValue": "x"}]}),
                vec!["/violations/0/futureQuotaValue InvalidInt64", "/violations/0/quotaValue Int64AsNumber"],
            ),
            (
                DetailKind::BadRequest,
                json!({"fieldViolations": [{"field": 1, "localizedMessage": {"locale": "en", "bad": 1}}]}),
                vec!["/fieldViolations/0/field WrongType", "/fieldViolations/0/localizedMessage/bad UnknownField"],
            ),
            (DetailKind::Help, json!({"links": {"url": "x"}}), vec!["/links WrongType"]),
            (DetailKind::Help, json!([1]), vec![" NotAnObject"]),
            (
                DetailKind::DebugInfo,
                json!({"stackEntries": ["a", 2], "detail": null}),
                vec!["/stackEntries/1 WrongType"],
            ),
        ];
        for (kind, value, expected) in table {
            let actual: Vec<String> =
                check_detail(kind, &value).iter().map(|p| format!("{} {:?}", p.pointer(), p.kind())).collect();
            assert_eq!(actual, expected, "{value}");
        }
    }
}
