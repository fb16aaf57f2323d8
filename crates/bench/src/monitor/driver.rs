//! Driving the monitor: ticks in honest virtual time (see the header of `monitor`), with the
//! totals and per-tick times a scenario is scored with.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) struct TickTimes {
    /// Virtual ms when the tick began (= the `now` it stamps everything with).
    pub(super) start: i64,
    /// After its budget waits: every request of the tick was answered at or before this.
    pub(super) observed: i64,
    /// When its transaction committed, in honest virtual time.
    pub(super) committed: i64,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Totals {
    pub(super) ticks: u64,
    pub(super) accounts_asked: u64,
    pub(super) zones_detailed: u64,
    pub(super) zones_probed: u64,
    /// What the monitor says its reads cost (a check on the fake's count).
    pub(super) planned_tokens: f64,
    requests: u64,
    pub(super) retried: u64,
    pub(super) api_failed: u64,
    pub(super) inhibited: u64,
    /// Tokens the fake took, split between status counts and zone reads in proportion to what
    /// each tick asked for.
    pub(super) status_tokens: f64,
    pub(super) detail_tokens: f64,
    pub(super) budget_wait: Duration,
    pub(super) real: Duration,
    pub(super) rtt: Duration,
    pub(super) backoff: Duration,
    pub(super) pause: Duration,
}

impl Totals {
    pub(super) fn minus(&self, o: &Totals) -> Totals {
        Totals {
            ticks: self.ticks - o.ticks,
            accounts_asked: self.accounts_asked - o.accounts_asked,
            zones_detailed: self.zones_detailed - o.zones_detailed,
            zones_probed: self.zones_probed - o.zones_probed,
            planned_tokens: self.planned_tokens - o.planned_tokens,
            requests: self.requests - o.requests,
            retried: self.retried - o.retried,
            api_failed: self.api_failed - o.api_failed,
            inhibited: self.inhibited - o.inhibited,
            status_tokens: self.status_tokens - o.status_tokens,
            detail_tokens: self.detail_tokens - o.detail_tokens,
            budget_wait: self.budget_wait.saturating_sub(o.budget_wait),
            real: self.real.saturating_sub(o.real),
            rtt: self.rtt.saturating_sub(o.rtt),
            backoff: self.backoff.saturating_sub(o.backoff),
            pause: self.pause.saturating_sub(o.pause),
        }
    }
}

pub(super) struct Driver<'a> {
    pub(super) monitor: &'a Monitor,
    pub(super) clock: Clock,
    pub(super) fake: SoundtrackFake,
    pub(super) db: sqlx::PgPool,
    pub(super) rtt: Duration,
    /// The client's back-off before retry k (k = 1…max_retries).
    pub(super) backoffs: Vec<Duration>,
    pub(super) ticks: Vec<TickTimes>,
    pub(super) totals: Totals,
    pub(super) partitions_until: Option<time::Date>,
    pub(super) pg: PgCpu,
    pub(super) progress: Instant,
}

impl Driver<'_> {
    /// Log partitions for the virtual days ahead (the template database only has real days).
    async fn ensure_partitions(&mut self) -> anyhow::Result<()> {
        let today = self.clock.now().date();
        if self.partitions_until.is_some_and(|d| d > today + time::Duration::days(1)) {
            return Ok(());
        }
        let first = today - time::Duration::days(1);
        sqlx::query_scalar::<_, i32>("SELECT bma_ensure_daily_partitions('music_status_logs', $1, $2)")
            .bind(first)
            .bind(8_i32)
            .fetch_one(&self.db)
            .await?;
        self.partitions_until = Some(first + time::Duration::days(8));
        Ok(())
    }

    fn backoff_for(&self, retried: u64) -> Duration {
        let per_request: Duration = self.backoffs.iter().sum();
        let n = self.backoffs.len().max(1) as u64;
        let full = u32::try_from(retried / n).unwrap_or(u32::MAX);
        let rest = usize::try_from(retried % n).unwrap_or(0);
        per_request.saturating_mul(full) + self.backoffs.iter().take(rest).sum::<Duration>()
    }

    pub(super) async fn step(&mut self) -> anyhow::Result<TickReport> {
        self.ensure_partitions().await?;
        let start = self.clock.now();
        let requests_before = self.fake.requests();
        let tokens_before = self.fake.tokens_spent();
        let real = Instant::now();
        let report = self.monitor.tick().await?;
        let real = real.elapsed();
        let observed = self.clock.now();
        let requests = self.fake.requests().saturating_sub(requests_before);
        let tokens = self.fake.tokens_spent() - tokens_before;
        let (asked_status, asked_detail) = (report.status_tokens as f64, report.detail_tokens as f64);
        let status_share =
            if asked_status + asked_detail > 0.0 { asked_status / (asked_status + asked_detail) } else { 0.0 };
        let retried = requests.saturating_sub(report.requests as u64);
        let backoff = self.backoff_for(retried);
        let rtt = self.rtt.saturating_mul(u32::try_from(requests).unwrap_or(u32::MAX));
        self.clock.advance(real + rtt + backoff);
        let committed = self.clock.now();
        // What runner.rs sleeps between ticks.
        let pause = if report.accounts_asked == 0 && report.zones_detailed == 0 {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(200)
        };
        self.clock.advance(pause);
        self.ticks.push(TickTimes { start: ms(start), observed: ms(observed), committed: ms(committed) });
        let t = &mut self.totals;
        t.ticks += 1;
        t.accounts_asked += report.accounts_asked as u64;
        t.zones_detailed += report.zones_detailed as u64;
        t.zones_probed += report.zones_probed as u64;
        t.planned_tokens += asked_status + asked_detail;
        t.requests += requests;
        t.retried += retried;
        t.api_failed += u64::from(report.api_failed);
        t.inhibited += u64::from(report.inhibited);
        t.status_tokens += tokens * status_share;
        t.detail_tokens += tokens * (1.0 - status_share);
        t.budget_wait += Duration::try_from(observed - start).unwrap_or_default();
        t.real += real;
        t.rtt += rtt;
        t.backoff += backoff;
        t.pause += pause;
        self.pg.sample(&self.db, false).await;
        Ok(report)
    }

    pub(super) fn progress(&mut self, what: &str, until: OffsetDateTime) {
        if self.progress.elapsed() >= Duration::from_secs(30) {
            self.progress = Instant::now();
            let left = (until - self.clock.now()).whole_seconds().max(0);
            eprintln!(
                "  {what}: {} ticks, virtual {} ({} s to go), {:.0} tokens spent",
                self.totals.ticks,
                self.clock.now(),
                left,
                self.fake.tokens_spent()
            );
        }
    }
}
