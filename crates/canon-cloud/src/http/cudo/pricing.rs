//! The emulator's price list: CUDO's responses carry prices (several
//! required by its SDK), so the emulator has a fixed, made-up one.
//!
//! Prices are per hour, in US dollars, kept as whole micro-dollars so that
//! totals are exact and every response shows the same digits.
//!
//! | item | per hour |
//! |------|----------|
//! | vCPU | 0.003 |
//! | memory, per GiB | 0.001 |
//! | GPU `gpu-a100` / `gpu-h100` / `gpu-rtx-a6000` / other | 1.5 / 2.8 / 0.79 / 1.0 |
//! | disk storage, per GiB | 0.00012 |
//! | IPv4 address | 0.005 |

use serde::ser::{Serialize, SerializeStruct, Serializer};
use utoipa::ToSchema;

/// A price or amount as CUDO writes it (google.type.Decimal): a decimal
/// string, `{"value": "0.003"}`.
///
/// It keeps the amount in micro-units and writes its digits only when it
/// is serialised, so that a response with many prices allocates none.
///
/// ```
/// use canon_cloud::http::cudo::pricing::Decimal;
///
/// let price = Decimal::from_micros(1_500_000);
/// assert_eq!(price.value(), "1.5");
/// assert_eq!(serde_json::to_string(&price).unwrap(), r#"{"value":"1.5"}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    micros: u64,
}

// What the OpenAPI document shows of a `Decimal`: the shape it is
// serialised in. Its doc comment is the schema's description.
/// A price or amount as CUDO writes it (google.type.Decimal): a decimal
/// string, `{"value": "0.003"}`.
#[derive(ToSchema)]
#[schema(as = Decimal)]
#[allow(dead_code, reason = "only its schema is used")]
struct DecimalSchema {
    /// The decimal value, as a string.
    #[schema(example = "0.003")]
    value: String,
}

impl utoipa::PartialSchema for Decimal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        DecimalSchema::schema()
    }
}

impl ToSchema for Decimal {
    fn name() -> std::borrow::Cow<'static, str> {
        DecimalSchema::name()
    }
}

/// The longest text of a `u64` of micro-units: 14 digits, a point and 6
/// digits.
const DECIMAL_TEXT: usize = 21;

impl Decimal {
    /// The decimal of an amount in micro-units, without trailing zeros.
    pub const fn from_micros(micros: u64) -> Decimal {
        Decimal { micros }
    }

    /// The amount in micro-units.
    pub const fn micros(self) -> u64 {
        self.micros
    }

    /// The decimal text: `0.003`, `1.5`, `12`.
    pub fn value(self) -> String {
        let mut buffer = [0; DECIMAL_TEXT];
        self.write(&mut buffer).to_owned()
    }

    /// Writes the text into `buffer` (from its end) and returns it.
    fn write(self, buffer: &mut [u8; DECIMAL_TEXT]) -> &str {
        let (mut whole, mut fraction) = (self.micros / 1_000_000, self.micros % 1_000_000);
        let mut start = buffer.len();
        if fraction != 0 {
            let mut digits = 6;
            while fraction % 10 == 0 {
                fraction /= 10;
                digits -= 1;
            }
            for _ in 0..digits {
                start -= 1;
                buffer[start] = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            start -= 1;
            buffer[start] = b'.';
        }
        loop {
            start -= 1;
            buffer[start] = b'0' + (whole % 10) as u8;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        std::str::from_utf8(&buffer[start..]).expect("ASCII digits")
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buffer = [0; DECIMAL_TEXT];
        let mut object = serializer.serialize_struct("Decimal", 1)?;
        object.serialize_field("value", self.write(&mut buffer))?;
        object.end()
    }
}

/// One vCPU for an hour.
pub const VCPU: u64 = 3_000;
/// One GiB of memory for an hour.
pub const MEMORY_GIB: u64 = 1_000;
/// One GiB of disk for an hour.
pub const STORAGE_GIB: u64 = 120;
/// One IPv4 address for an hour.
pub const IPV4: u64 = 5_000;

/// One GPU of a model for an hour.
pub fn gpu(model_id: Option<&str>) -> u64 {
    match model_id {
        None => 0,
        Some("gpu-a100") => 1_500_000,
        Some("gpu-h100") => 2_800_000,
        Some("gpu-rtx-a6000") => 790_000,
        Some(_) => 1_000_000,
    }
}

/// A machine with these resources for an hour, without storage and IPv4.
pub fn machine(vcpus: u32, memory_gib: u32, gpus: u32, gpu_model_id: Option<&str>) -> u64 {
    VCPU * u64::from(vcpus) + MEMORY_GIB * u64::from(memory_gib) + gpu(gpu_model_id) * u64::from(gpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_short() {
        let table = [
            (0, "0"),
            (3_000, "0.003"),
            (1_500_000, "1.5"),
            (120, "0.00012"),
            (1, "0.000001"),
            (10_000_000, "10"),
            (12_345_678_000, "12345.678"),
            (u64::MAX, "18446744073709.551615"),
        ];
        for (micros, text) in table {
            let decimal = Decimal::from_micros(micros);
            assert_eq!(decimal.value(), text);
            let json = serde_json::to_value(decimal).unwrap();
            assert_eq!(json, serde_json::json!({ "value": text }));
        }
    }

    #[test]
    fn a_machine_costs_the_sum_of_its_parts() {
        assert_eq!(machine(24, 192, 2, Some("gpu-a100")), 24 * 3_000 + 192 * 1_000 + 2 * 1_500_000);
        assert_eq!(machine(64, 256, 0, None), 64 * 3_000 + 256 * 1_000);
    }
}
