//! Placements: where a request asks for capacity (region, flavor, machine
//! type), for retries `elsewhere`.
//!
//! A capacity error (canon's [`RetryKind::Elsewhere`](canon::RetryKind):
//! Gcore's ForbiddenError, or a CUDO RESOURCE_EXHAUSTED that names
//! alternatives) says the same request will fail again *here*, but may
//! succeed in another region or on another flavor. The caller lists the
//! placements it accepts, best first ([`Call::with_placements`]); the
//! first is where the first attempt goes.
//!
//! On a capacity error the engine moves to the next placement in this
//! order:
//!
//! 1. the alternatives the error names, in the server's order: each
//!    ErrorInfo metadata key that starts with `available` (such as CUDO's
//!    `availableMachineTypes`) lists values for one field of the
//!    placement, and each value replaces that field of the placement that
//!    just failed (see [`PlacementField::from_metadata_key`]);
//! 2. then the caller's remaining placements, in the caller's order.
//!
//! A placement already tried, or already queued, is not queued again.
//! When none is left, the engine gives up with
//! [`GiveUpReason::NoPlacementLeft`](crate::GiveUpReason::NoPlacementLeft).
//!
//! [`Call::with_placements`]: crate::Call::with_placements
//!
//! ```
//! use canon_retry::{Placement, PlacementField};
//!
//! let here = Placement::new().with_region("gb-bournemouth-1").with_machine_type("gpu-a100-x99");
//! let there = here.with(PlacementField::from_metadata_key("availableMachineTypes"), "gpu-a100-x2");
//! assert_eq!(there.region.as_deref(), Some("gb-bournemouth-1"));
//! assert_eq!(there.machine_type.as_deref(), Some("gpu-a100-x2"));
//! assert_eq!(there.to_string(), "region=gb-bournemouth-1 machine_type=gpu-a100-x2");
//! ```

use std::fmt;

/// One field of a [`Placement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlacementField {
    /// A region, data center or zone.
    Region,
    /// A flavor (Gcore's word for an instance type).
    Flavor,
    /// A machine type (CUDO's word), or any other kind of machine.
    MachineType,
}

impl PlacementField {
    /// The stable name, such as `machine_type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlacementField::Region => "region",
            PlacementField::Flavor => "flavor",
            PlacementField::MachineType => "machine_type",
        }
    }

    /// The field an ErrorInfo metadata key such as `availableMachineTypes`
    /// lists values for: a key that mentions a region, data center, zone
    /// or location lists regions; one that mentions a flavor lists
    /// flavors; any other (`availableMachineTypes`, `availableGpuModels`)
    /// lists machine types.
    pub fn from_metadata_key(key: &str) -> PlacementField {
        let key = key.to_ascii_lowercase();
        if ["region", "datacenter", "data_center", "zone", "location"].iter().any(|w| key.contains(w)) {
            PlacementField::Region
        } else if key.contains("flavor") {
            PlacementField::Flavor
        } else {
            PlacementField::MachineType
        }
    }
}

impl fmt::Display for PlacementField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request asks for capacity. Fields left `None` are the caller's
/// or the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Placement {
    /// The region, data center or zone.
    pub region: Option<String>,
    /// The flavor.
    pub flavor: Option<String>,
    /// The machine type.
    pub machine_type: Option<String>,
}

impl Placement {
    /// A placement with every field unset.
    pub fn new() -> Placement {
        Placement::default()
    }

    /// This placement in `region`.
    pub fn with_region(self, region: impl Into<String>) -> Placement {
        self.with(PlacementField::Region, region)
    }

    /// This placement on `flavor`.
    pub fn with_flavor(self, flavor: impl Into<String>) -> Placement {
        self.with(PlacementField::Flavor, flavor)
    }

    /// This placement on `machine_type`.
    pub fn with_machine_type(self, machine_type: impl Into<String>) -> Placement {
        self.with(PlacementField::MachineType, machine_type)
    }

    /// This placement with one field replaced.
    pub fn with(&self, field: PlacementField, value: impl Into<String>) -> Placement {
        let mut placement = self.clone();
        *placement.field_mut(field) = Some(value.into());
        placement
    }

    /// One field.
    pub fn get(&self, field: PlacementField) -> Option<&str> {
        match field {
            PlacementField::Region => self.region.as_deref(),
            PlacementField::Flavor => self.flavor.as_deref(),
            PlacementField::MachineType => self.machine_type.as_deref(),
        }
    }

    fn field_mut(&mut self, field: PlacementField) -> &mut Option<String> {
        match field {
            PlacementField::Region => &mut self.region,
            PlacementField::Flavor => &mut self.flavor,
            PlacementField::MachineType => &mut self.machine_type,
        }
    }

    /// Whether every field is unset.
    pub fn is_empty(&self) -> bool {
        self.region.is_none() && self.flavor.is_none() && self.machine_type.is_none()
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("default");
        }
        let mut first = true;
        for field in [PlacementField::Region, PlacementField::Flavor, PlacementField::MachineType] {
            if let Some(value) = self.get(field) {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{field}={value}")?;
                first = false;
            }
        }
        Ok(())
    }
}

/// An alternative an error names: a value for one field of the placement
/// that failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alternative {
    /// The field the value is for.
    pub field: PlacementField,
    /// The value, such as `gpu-a100-x2`.
    pub value: String,
}

impl Alternative {
    /// An alternative value for one field.
    pub fn new(field: PlacementField, value: impl Into<String>) -> Alternative {
        Alternative { field, value: value.into() }
    }

    /// The placement `failed` with this alternative applied.
    pub fn apply_to(&self, failed: &Placement) -> Placement {
        failed.with(self.field, self.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keys_name_their_field() {
        let table = [
            ("availableMachineTypes", PlacementField::MachineType),
            ("availableGpuModels", PlacementField::MachineType),
            ("availableRegions", PlacementField::Region),
            ("availableDataCenterIds", PlacementField::Region),
            ("availableZones", PlacementField::Region),
            ("availableLocations", PlacementField::Region),
            ("availableFlavors", PlacementField::Flavor),
        ];
        for (key, field) in table {
            assert_eq!(PlacementField::from_metadata_key(key), field, "{key}");
        }
    }

    #[test]
    fn displays_the_fields_that_are_set() {
        assert_eq!(Placement::new().to_string(), "default");
        assert_eq!(Placement::new().with_flavor("g1").to_string(), "flavor=g1");
        let all = Placement::new().with_region("r").with_flavor("f").with_machine_type("m");
        assert_eq!(all.to_string(), "region=r flavor=f machine_type=m");
    }
}
