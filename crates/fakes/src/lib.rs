//! Faithful fakes of the outside services, served on loopback for tests, benchmarks and the demo.

pub mod smtp;
pub mod soundtrack;
