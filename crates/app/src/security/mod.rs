//! Security primitives: access tokens, password hashing, TOTP, encryption at rest and opaque
//! random tokens. Pure functions over keys from the configuration.

pub mod jwt;
pub mod password;
pub mod pseudonym;
pub mod secretbox;
pub mod tokens;
pub mod totp;
