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

use serde::Serialize;
use utoipa::ToSchema;

/// A price or amount as CUDO writes it (google.type.Decimal): a decimal
/// string, `{"value": "0.003"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Decimal {
    /// The decimal value, as a string.
    #[schema(example = "0.003")]
    pub value: String,
}

impl Decimal {
    /// The decimal of an amount in micro-units, without trailing zeros.
    pub fn from_micros(micros: u64) -> Decimal {
        let (whole, fraction) = (micros / 1_000_000, micros % 1_000_000);
        let value = if fraction == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{fraction:06}").trim_end_matches('0').to_owned()
        };
        Decimal { value }
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
        let table = [(0, "0"), (3_000, "0.003"), (1_500_000, "1.5"), (120, "0.00012"), (12_345_678_000, "12345.678")];
        for (micros, text) in table {
            assert_eq!(Decimal::from_micros(micros).value, text);
        }
    }

    #[test]
    fn a_machine_costs_the_sum_of_its_parts() {
        assert_eq!(machine(24, 192, 2, Some("gpu-a100")), 24 * 3_000 + 192 * 1_000 + 2 * 1_500_000);
        assert_eq!(machine(64, 256, 0, None), 64 * 3_000 + 256 * 1_000);
    }
}
