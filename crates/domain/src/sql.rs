//! How the domain's enums travel in the store's text columns (feature `sqlx`), so the store
//! takes and returns `Channel`, `ConversationStatus`, … instead of strings. Each is written as
//! its `as_str()` and read back with its parser; a value the parser does not know is a decode
//! error, never a default.

/// Implements `sqlx::Type`, `Encode` and `Decode` for PostgreSQL text columns.
/// `$parse` is a `fn(&str) -> Option<$t>`.
macro_rules! text_column {
    ($t:ty, $parse:expr) => {
        #[cfg(feature = "sqlx")]
        const _: () = {
            use sqlx::encode::IsNull;
            use sqlx::error::BoxDynError;
            use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef, Postgres};

            impl sqlx::Type<Postgres> for $t {
                fn type_info() -> PgTypeInfo {
                    <str as sqlx::Type<Postgres>>::type_info()
                }

                fn compatible(ty: &PgTypeInfo) -> bool {
                    <str as sqlx::Type<Postgres>>::compatible(ty)
                }
            }

            impl PgHasArrayType for $t {
                fn array_type_info() -> PgTypeInfo {
                    <&str as PgHasArrayType>::array_type_info()
                }

                fn array_compatible(ty: &PgTypeInfo) -> bool {
                    <&str as PgHasArrayType>::array_compatible(ty)
                }
            }

            impl sqlx::Encode<'_, Postgres> for $t {
                fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                    <&str as sqlx::Encode<'_, Postgres>>::encode(self.as_str(), buf)
                }
            }

            impl<'r> sqlx::Decode<'r, Postgres> for $t {
                fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                    let parse: fn(&str) -> Option<$t> = $parse;
                    let text = <&str as sqlx::Decode<'r, Postgres>>::decode(value)?;
                    parse(text).ok_or_else(|| format!("{text:?} is not a known {}", stringify!($t)).into())
                }
            }
        };
    };
}

pub(crate) use text_column;
