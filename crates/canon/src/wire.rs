//! Small serde helpers for the proto3 JSON rules: int64 as a string,
//! strings that may borrow from the input.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serializer};

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CowStr<'de>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Reads an int64 from a JSON string or number, as proto3 JSON parsers do.
pub(crate) fn parse_int64_text(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// serde `with` module for `i64` fields: written as a string, read from a
/// string or a number.
pub(crate) mod int64 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = i64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an int64 as a string or a number")
            }
            fn visit_i64<E>(self, v: i64) -> Result<i64, E> {
                Ok(v)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
                i64::try_from(v).map_err(|_| E::custom("int64 out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
                if v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
                    Ok(v as i64)
                } else {
                    Err(E::custom("int64 must be a whole number"))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
                parse_int64_text(v).ok_or_else(|| E::custom("int64 string is not a whole number"))
            }
            fn visit_unit<E>(self) -> Result<i64, E> {
                Ok(0)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// serde `with` module for `Option<i64>` fields (proto3 `optional int64`).
pub(crate) mod opt_int64 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.collect_str(v),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        let value: Option<Int64> = Option::deserialize(deserializer)?;
        Ok(value.map(|v| v.0))
    }

    struct Int64(i64);
    impl<'de> Deserialize<'de> for Int64 {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Int64, D::Error> {
            super::int64::deserialize(deserializer).map(Int64)
        }
    }
}

/// serde helper: a null string field reads as the empty string, as proto3
/// JSON treats null as the default value.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Whether a value is its type's default, for `skip_serializing_if`.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
