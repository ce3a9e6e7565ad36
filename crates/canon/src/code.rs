//! The 17 canonical error codes of `google.rpc.Code` and their HTTP mapping.
//!
//! Every code has a number (its gRPC wire value), an upper-snake name (the
//! `status` string of an AIP-193 body) and a typical HTTP status. The mapping
//! from code to HTTP status is the one in `google/rpc/code.proto`; the
//! mapping back is the one Google's HTTP clients (gax-go, gax-nodejs) use.
//!
//! # The reverse mapping loses information
//!
//! Several codes share one HTTP status, so [`Code::from_http_status`] cannot
//! tell them apart:
//!
//! | HTTP | codes that map to it | `from_http_status` gives |
//! |------|----------------------|--------------------------|
//! | 400  | INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE | INVALID_ARGUMENT |
//! | 409  | ALREADY_EXISTS, ABORTED | ABORTED |
//! | 500  | UNKNOWN, INTERNAL, DATA_LOSS | INTERNAL |
//!
//! FAILED_PRECONDITION is also what every unlisted 4xx becomes, and
//! OUT_OF_RANGE is what 416 becomes. When a body carries a `status` string
//! or a gRPC number, the decoder prefers it over the HTTP status for exactly
//! this reason.
//!
//! ```
//! use canon::Code;
//!
//! assert_eq!(Code::NotFound.http_status(), 404);
//! assert_eq!(Code::from_http_status(409), Code::Aborted);
//! assert_eq!("ALREADY_EXISTS".parse::<Code>(), Ok(Code::AlreadyExists));
//! assert_eq!("6".parse::<Code>(), Ok(Code::AlreadyExists));
//! assert_eq!(Code::Unavailable.to_string(), "UNAVAILABLE");
//! ```

use std::fmt;
use std::str::FromStr;

/// A canonical error code (`google.rpc.Code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// An error whose cause is not known or fits no other code.
    Unknown = 2,
    /// The client gave an argument that is invalid whatever the system state.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found (or is not visible to the caller).
    NotFound = 5,
    /// The entity a client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is authenticated but lacks permission.
    PermissionDenied = 7,
    /// A quota or a capacity is exhausted.
    ResourceExhausted = 8,
    /// The system is not in the state the operation requires.
    FailedPrecondition = 9,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The operation went past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented, supported or enabled.
    Unimplemented = 12,
    /// An internal invariant broke: a serious server error.
    Internal = 13,
    /// The service is currently unavailable; usually transient.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request lacks valid authentication credentials.
    Unauthenticated = 16,
}

/// One row of the code table: code, name and typical HTTP status.
struct CodeRow {
    code: Code,
    name: &'static str,
    http: u16,
}

/// The code table of `google/rpc/code.proto`, indexed by code number.
const TABLE: [CodeRow; 17] = [
    CodeRow { code: Code::Ok, name: "OK", http: 200 },
    CodeRow { code: Code::Cancelled, name: "CANCELLED", http: 499 },
    CodeRow { code: Code::Unknown, name: "UNKNOWN", http: 500 },
    CodeRow { code: Code::InvalidArgument, name: "INVALID_ARGUMENT", http: 400 },
    CodeRow { code: Code::DeadlineExceeded, name: "DEADLINE_EXCEEDED", http: 504 },
    CodeRow { code: Code::NotFound, name: "NOT_FOUND", http: 404 },
    CodeRow { code: Code::AlreadyExists, name: "ALREADY_EXISTS", http: 409 },
    CodeRow { code: Code::PermissionDenied, name: "PERMISSION_DENIED", http: 403 },
    CodeRow { code: Code::ResourceExhausted, name: "RESOURCE_EXHAUSTED", http: 429 },
    CodeRow { code: Code::FailedPrecondition, name: "FAILED_PRECONDITION", http: 400 },
    CodeRow { code: Code::Aborted, name: "ABORTED", http: 409 },
    CodeRow { code: Code::OutOfRange, name: "OUT_OF_RANGE", http: 400 },
    CodeRow { code: Code::Unimplemented, name: "UNIMPLEMENTED", http: 501 },
    CodeRow { code: Code::Internal, name: "INTERNAL", http: 500 },
    CodeRow { code: Code::Unavailable, name: "UNAVAILABLE", http: 503 },
    CodeRow { code: Code::DataLoss, name: "DATA_LOSS", http: 500 },
    CodeRow { code: Code::Unauthenticated, name: "UNAUTHENTICATED", http: 401 },
];

impl Code {
    /// All 17 codes in number order.
    pub const ALL: [Code; 17] = {
        let mut all = [Code::Ok; 17];
        let mut i = 0;
        while i < 17 {
            all[i] = TABLE[i].code;
            i += 1;
        }
        all
    };

    /// The code's number, as carried by gRPC and grpc-gateway bodies.
    pub const fn number(self) -> i32 {
        self as i32
    }

    /// The code's upper-snake name, as in an AIP-193 `status` field.
    pub const fn name(self) -> &'static str {
        TABLE[self as usize].name
    }

    /// The HTTP status `code.proto` assigns to this code.
    pub const fn http_status(self) -> u16 {
        TABLE[self as usize].http
    }

    /// The code with this number, if it is one of the 17.
    pub const fn from_number(number: i64) -> Option<Code> {
        if number >= 0 && number < 17 { Some(TABLE[number as usize].code) } else { None }
    }

    /// The code with this upper-snake name. Exact match only: `status`
    /// strings are case sensitive on the wire.
    pub fn from_name(name: &str) -> Option<Code> {
        TABLE.iter().find(|row| row.name == name).map(|row| row.code)
    }

    /// What the code means, in a sentence for a person.
    pub const fn description(self) -> &'static str {
        match self {
            Code::Ok => "Not an error: the request succeeded.",
            Code::Cancelled => "The request was cancelled, usually by the client.",
            Code::Unknown => "An error the server could not classify.",
            Code::InvalidArgument => "A request parameter is malformed or invalid.",
            Code::DeadlineExceeded => "The server could not finish before its deadline.",
            Code::NotFound => "The resource does not exist or is not visible to the caller.",
            Code::AlreadyExists => "The resource the request tried to create already exists.",
            Code::PermissionDenied => "The caller is authenticated but lacks permission or scope.",
            Code::ResourceExhausted => "A quota or a capacity is exhausted.",
            Code::FailedPrecondition => "The operation does not fit the resource's current state.",
            Code::Aborted => "The operation was aborted by a concurrent modification.",
            Code::OutOfRange => "A value is outside its allowed range or limit.",
            Code::Unimplemented => "The method is not implemented, allowed or enabled.",
            Code::Internal => "An unexpected internal server error.",
            Code::Unavailable => "The service is temporarily unavailable.",
            Code::DataLoss => "Unrecoverable data loss or corruption.",
            Code::Unauthenticated => "The request lacks valid credentials.",
        }
    }

    /// The code an HTTP status stands for, as Google's HTTP clients read it.
    ///
    /// See the [module docs](self) for the statuses where this loses
    /// information.
    pub const fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            409 => Code::Aborted,
            416 => Code::OutOfRange,
            429 => Code::ResourceExhausted,
            499 => Code::Cancelled,
            501 => Code::Unimplemented,
            503 => Code::Unavailable,
            504 => Code::DeadlineExceeded,
            _ => match status / 100 {
                2 => Code::Ok,
                4 => Code::FailedPrecondition,
                5 => Code::Internal,
                _ => Code::Unknown,
            },
        }
    }

    /// Whether other codes share this code's HTTP status, so that the HTTP
    /// status alone would not bring it back.
    pub fn http_status_is_ambiguous(self) -> bool {
        Code::from_http_status(self.http_status()) != self
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error from parsing a [`Code`] out of a string that is neither a
/// canonical name nor a number from 0 to 16.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCodeError {
    input: String,
}

impl ParseCodeError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a canonical code: expected a name such as NOT_FOUND or a number from 0 to 16",
            self.input
        )
    }
}

impl std::error::Error for ParseCodeError {}

impl FromStr for Code {
    type Err = ParseCodeError;

    /// Parses a canonical name (`NOT_FOUND`, also accepted in lower case
    /// and with a `CODE_` or `Code.` prefix stripped) or a number (`5`).
    fn from_str(s: &str) -> Result<Code, ParseCodeError> {
        let trimmed = s.trim();
        if let Ok(number) = trimmed.parse::<i64>() {
            return Code::from_number(number).ok_or_else(|| ParseCodeError { input: s.to_owned() });
        }
        let upper = trimmed.to_ascii_uppercase().replace(['-', ' '], "_");
        let name = upper.strip_prefix("CODE.").or_else(|| upper.strip_prefix("CODE_")).unwrap_or(&upper);
        Code::from_name(name).ok_or_else(|| ParseCodeError { input: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_and_http_statuses_follow_code_proto() {
        let expected = "0 OK 200 · 1 CANCELLED 499 · 2 UNKNOWN 500 · 3 INVALID_ARGUMENT 400 · \
            4 DEADLINE_EXCEEDED 504 · 5 NOT_FOUND 404 · 6 ALREADY_EXISTS 409 · \
            7 PERMISSION_DENIED 403 · 8 RESOURCE_EXHAUSTED 429 · 9 FAILED_PRECONDITION 400 · \
            10 ABORTED 409 · 11 OUT_OF_RANGE 400 · 12 UNIMPLEMENTED 501 · 13 INTERNAL 500 · \
            14 UNAVAILABLE 503 · 15 DATA_LOSS 500 · 16 UNAUTHENTICATED 401";
        let actual: Vec<String> =
            Code::ALL.iter().map(|c| format!("{} {} {}", c.number(), c.name(), c.http_status())).collect();
        assert_eq!(actual.join(" · "), expected);
    }

    #[test]
    fn http_to_code_follows_the_google_clients() {
        let table: &[(u16, Code)] = &[
            (200, Code::Ok),
            (204, Code::Ok),
            (400, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (405, Code::FailedPrecondition),
            (409, Code::Aborted),
            (416, Code::OutOfRange),
            (418, Code::FailedPrecondition),
            (429, Code::ResourceExhausted),
            (499, Code::Cancelled),
            (500, Code::Internal),
            (501, Code::Unimplemented),
            (502, Code::Internal),
            (503, Code::Unavailable),
            (504, Code::DeadlineExceeded),
            (302, Code::Unknown),
            (100, Code::Unknown),
            (0, Code::Unknown),
        ];
        for &(status, code) in table {
            assert_eq!(Code::from_http_status(status), code, "HTTP {status}");
        }
    }

    #[test]
    fn the_lossy_codes_are_the_documented_ones() {
        let lossy: Vec<&str> = Code::ALL.iter().filter(|c| c.http_status_is_ambiguous()).map(|c| c.name()).collect();
        assert_eq!(lossy, ["UNKNOWN", "ALREADY_EXISTS", "FAILED_PRECONDITION", "OUT_OF_RANGE", "DATA_LOSS"]);
    }

    #[test]
    fn parses_names_and_numbers() {
        let table: &[(&str, Option<Code>)] = &[
            ("NOT_FOUND", Some(Code::NotFound)),
            ("not_found", Some(Code::NotFound)),
            ("5", Some(Code::NotFound)),
            (" 16 ", Some(Code::Unauthenticated)),
            ("0", Some(Code::Ok)),
            ("17", None),
            ("-1", None),
            ("NOTFOUND", None),
            ("", None),
        ];
        for &(input, expected) in table {
            assert_eq!(input.parse::<Code>().ok(), expected, "{input:?}");
        }
        for code in Code::ALL {
            assert_eq!(code.to_string().parse::<Code>(), Ok(code));
            assert_eq!(code.number().to_string().parse::<Code>(), Ok(code));
        }
    }
}
