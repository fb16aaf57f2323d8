//! Music control values: Soundtrack's volume scale is 0 (mute) to 16, not a percentage.

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "i64", into = "u8")]
pub struct Volume(u8);

impl Volume {
    pub const MAX: u8 = 16;

    pub fn new(v: i64) -> Result<Self, Invalid> {
        u8::try_from(v)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .map(Self)
            .ok_or_else(|| Invalid::one("volume", "must be a whole number from 0 (mute) to 16"))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Volume {
    type Error = String;

    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Volume::new(v).map_err(|e| e.to_string())
    }
}

impl From<Volume> for u8 {
    fn from(v: Volume) -> u8 {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_run_from_0_to_16() {
        assert_eq!(Volume::new(0).map(Volume::get), Ok(0));
        assert_eq!(Volume::new(16).map(Volume::get), Ok(16));
        assert!(Volume::new(17).is_err());
        assert!(Volume::new(-1).is_err());
        assert!(serde_json::from_str::<Volume>("17").is_err());
        assert_eq!(serde_json::from_str::<Volume>("8").map(Volume::get).ok(), Some(8));
    }
}
