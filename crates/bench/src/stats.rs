//! Percentiles of measured latencies, shared by the benchmarks.

/// The `p` quantile (0–1) of `v`, nearest rank; NaN when empty. Sorts `v` in place.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}
