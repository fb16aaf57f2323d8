//! Faithful fakes of the outside services, served on loopback for tests, benchmarks and the demo.

pub mod claude;
pub mod line;
pub mod smtp;
pub mod soundtrack;
pub mod weather;
pub mod whatsapp;
