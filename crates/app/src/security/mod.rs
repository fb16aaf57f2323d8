//! Security primitives: access tokens, password hashing, TOTP, encryption at rest, opaque
//! random tokens and signed unsubscribe links. Pure functions over keys from the configuration.

pub mod jwt;
pub mod password;
pub mod pseudonym;
pub mod secretbox;
pub mod tokens;
pub mod totp;
pub mod unsubscribe;
