//! Process figures, read from /proc (no extra crates): this process's and the fake's CPU, peak
//! memory, and the CPU of the PostgreSQL backends serving a scenario's database.

use super::*;

/// USER_HZ, the unit of /proc's CPU times, is 100 on Linux whatever the kernel's HZ.
pub(super) const USER_HZ: f64 = 100.0;

pub(super) fn status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// utime + stime in seconds from a /proc `stat` line.
pub(super) fn stat_cpu(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command come: state (field 3) … utime (14), stime (15).
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

pub(super) fn process_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(stat_cpu).unwrap_or(0.0)
}

/// CPU of this process's threads whose name starts with `prefix` (the fake's runtime).
pub(super) fn threads_cpu(prefix: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end().starts_with(prefix)))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| stat_cpu(&s))
        .sum()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each scenario reports its own peak.
pub(super) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The CPU of the PostgreSQL backends serving this scenario's database, sampled now and then
/// (a backend's figure is lost when the pool closes it, so the largest value seen per pid counts).
pub(super) struct PgCpu {
    seen: HashMap<i32, f64>,
    last: Option<Instant>,
}

impl PgCpu {
    pub(super) fn new() -> Self {
        Self { seen: HashMap::new(), last: None }
    }

    pub(super) async fn sample(&mut self, db: &sqlx::PgPool, force: bool) {
        if !force && self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
            return;
        }
        self.last = Some(Instant::now());
        let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(db)
            .await
            .unwrap_or_default();
        for pid in pids {
            if let Some(cpu) = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(stat_cpu) {
                let e = self.seen.entry(pid).or_insert(0.0);
                *e = e.max(cpu);
            }
        }
    }

    pub(super) fn total(&self) -> Option<f64> {
        (!self.seen.is_empty()).then(|| self.seen.values().sum())
    }
}
