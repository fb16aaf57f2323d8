//! Clients of the outside services. Each lives in its own module, behind a small trait where the
//! rest of the service needs to swap it, and is pointed at a faithful fake in tests and demos.

pub mod claude;
pub mod email;
pub mod line;
pub mod nul;
pub mod signature;
pub mod soundtrack;
pub mod weather;
pub mod whatsapp;
