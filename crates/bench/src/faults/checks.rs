//! The invariants, checked once the load has stopped and the sends have settled.

use super::{Change, RECOVERY_BOUND, RECOVERY_LIMIT, Rig, Step, lock};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

/// An invariant's verdict and the figures behind it.
pub(super) struct Verdict {
    pub(super) name: &'static str,
    pub(super) pass: bool,
    pub(super) figures: String,
}

/// A zone's change, for a line of output.
pub(super) fn arrivals_line(c: &Change) -> String {
    let cell = |t: Option<f64>| t.map_or_else(|| "never".to_owned(), |s| format!("{s:.1} s"));
    let part = |(t, n): &([Option<f64>; 2], [usize; 2])| {
        format!("serve A {} ({} events), serve B {} ({} events)", cell(t[0]), n[0], cell(t[1]), n[1])
    };
    let (offline, back) = (part(&c.arrivals[0]), part(&c.arrivals[1]));
    format!("offline: {offline}; back: {back}; Soundtrack asked {} times in those {:.0} s", c.requests, c.secs)
}

impl Rig {
    /// Send jobs of the replies not yet run to their end (queued, or running for under 30 s).
    async fn pending(&self, ids: &[Uuid]) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'message.send' AND (payload->>'message_id')::uuid = ANY($1) \
             AND (status = 'queued' OR (status = 'running' AND locked_at > now() - interval '30 seconds'))",
        )
        .bind(ids)
        .fetch_one(&self.db)
        .await?)
    }

    /// Waits (bounded) for the replies' sends to run their course. Sends held 30 s or more by a
    /// worker that died (or lost its update in the PostgreSQL restart) would wait for the
    /// scheduler's requeue_stalled, STALLED_AFTER (10 minutes) after they were claimed: the bench
    /// runs that requeue now, as the campaign bench does, says so, and waits again.
    pub(super) async fn settle(&self) -> anyhow::Result<String> {
        let ids: Vec<Uuid> = lock(&self.board.replies).iter().map(|r| r.1).collect();
        let since = Instant::now();
        while self.pending(&ids).await? > 0 && since.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let stranded: Vec<String> = sqlx::query_scalar(
            "SELECT COALESCE(locked_by, '?') FROM jobs WHERE kind = 'message.send' AND status = 'running' \
             AND locked_at <= now() - interval '30 seconds' AND (payload->>'message_id')::uuid = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.db)
        .await?;
        if stranded.is_empty() {
            return Ok(format!("replies' sends settled in {:.1} s", since.elapsed().as_secs_f64()));
        }
        let mut by: HashMap<String, usize> = HashMap::new();
        for w in &stranded {
            let pid = w.split('-').nth(1).and_then(|p| p.parse().ok());
            *by.entry(pid.map_or_else(|| w.clone(), |pid| self.name_of(pid))).or_default() += 1;
        }
        let holders: Vec<String> = by.iter().map(|(name, n)| format!("{n} by {name}")).collect();
        bma_store::jobs::requeue_stalled(&self.db, time::Duration::seconds(30)).await?;
        let again = Instant::now();
        while self.pending(&ids).await? > 0 && again.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(format!(
            "{} send jobs were still 'running' for processes that had died or lost their update ({}); the product \
             requeues such jobs STALLED_AFTER (10 min) after their claim; the bench ran that requeue at once \
             (bma_store::jobs::requeue_stalled), as the campaign bench does, and they settled in {:.1} s",
            stranded.len(),
            holders.join(", "),
            again.elapsed().as_secs_f64()
        ))
    }

    /// (a) every acknowledged webhook's message is stored.
    pub(super) async fn check_acknowledged(&self) -> anyhow::Result<Verdict> {
        let wamids: Vec<String> = lock(&self.board.acked).iter().map(|a| a.2.clone()).collect();
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT w FROM unnest($1::text[]) w WHERE NOT EXISTS \
             (SELECT 1 FROM messages m WHERE m.channel = 'whatsapp' AND m.direction = 'in' AND m.external_id = w)",
        )
        .bind(&wamids)
        .fetch_all(&self.db)
        .await?;
        let refused = lock(&self.board.refused).len();
        Ok(Verdict {
            name: "(a) no acknowledged message lost",
            pass: missing.is_empty(),
            figures: format!(
                "{} webhooks acknowledged (200), {} stored, {} missing{}; {refused} not acknowledged (refused, cut or timed out)",
                wamids.len(),
                wamids.len() - missing.len(),
                missing.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (e.g. {})", missing[..missing.len().min(3)].join(", "))
                }
            ),
        })
    }

    /// (b) no job lost and (c) no message sent twice, from the replies answered 202, the
    /// database and what the WhatsApp fake accepted.
    pub(super) async fn check_replies(&self) -> anyhow::Result<[Verdict; 2]> {
        let replies: Vec<(Uuid, String)> = lock(&self.board.replies).iter().map(|r| (r.1, r.2.clone())).collect();
        let ids: Vec<Uuid> = replies.iter().map(|r| r.0).collect();
        // Per reply: its id, delivery status and error code, and its send job's status.
        type Row = (Uuid, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, m.delivery_status, m.delivery_error->>'code', \
                    (SELECT j.status FROM jobs j WHERE j.kind = 'message.send' AND (j.payload->>'message_id')::uuid = r.id LIMIT 1) \
             FROM unnest($1::uuid[]) r(id) LEFT JOIN messages m ON m.id = r.id",
        )
        .bind(&ids)
        .fetch_all(&self.db)
        .await?;
        let mut received: HashMap<String, usize> = HashMap::new();
        for m in self.wa.sent() {
            if let Some(text) = m.body.pointer("/text/body").and_then(|t| t.as_str()) {
                *received.entry(text.to_owned()).or_default() += 1;
            }
        }
        let text_of: HashMap<Uuid, &str> = replies.iter().map(|(id, t)| (*id, t.as_str())).collect();
        let (mut sent, mut flagged_received, mut dead, mut unfinished) = (0, 0, 0, 0);
        let mut flagged: HashMap<&str, usize> = HashMap::new();
        let (mut failed, mut lost) = (HashMap::<String, usize>::new(), Vec::new());
        for (id, status, code, job) in &rows {
            let got = text_of.get(id).and_then(|t| received.get(*t)).copied().unwrap_or(0);
            match (status.as_deref(), code.as_deref(), job.as_deref()) {
                (None, _, _) => lost.push(format!("{id}: no message row")),
                (Some("sent" | "delivered" | "read"), _, _) if got > 0 => sent += 1,
                (Some("sent" | "delivered" | "read"), _, _) => lost.push(format!("{id}: marked sent, never received")),
                (Some("failed"), Some(code @ ("timeout" | "outcome_unknown")), _) => {
                    *flagged.entry(code).or_default() += 1;
                    flagged_received += usize::from(got > 0);
                }
                (Some("failed"), code, _) => *failed.entry(code.unwrap_or("?").to_owned()).or_default() += 1,
                (Some(_), _, Some("dead")) => dead += 1,
                (Some(_), _, Some(_)) => unfinished += 1,
                (Some(s), _, None) => lost.push(format!("{id}: {s} with no send job")),
            }
        }
        let twice: Vec<(&String, &usize)> =
            received.iter().filter(|(t, n)| t.starts_with("reply-") && **n > 1).collect();
        let accepted: usize = received.iter().filter(|(t, _)| t.starts_with("reply-")).map(|(_, n)| n).sum();
        let failed: Vec<String> = failed.iter().map(|(c, n)| format!("{n} {c}")).collect();
        let b = Verdict {
            name: "(b) no job lost",
            pass: lost.is_empty() && unfinished == 0,
            figures: format!(
                "{} replies accepted (202), {} refused; {sent} sent; flagged \"outcome unknown\" and not repeated: {} \
                 timed out, {} found mid-send after their worker died (the fake had received {flagged_received} of these); \
                 failed for good: {}; dead letters (attempts spent): {dead}; still queued: {unfinished}; lost: {}{}",
                rows.len(),
                lock(&self.board.replies_refused).len(),
                flagged.get("timeout").copied().unwrap_or(0),
                flagged.get("outcome_unknown").copied().unwrap_or(0),
                if failed.is_empty() { "none".into() } else { failed.join(", ") },
                lost.len(),
                if lost.is_empty() { String::new() } else { format!(" ({})", lost[..lost.len().min(3)].join("; ")) }
            ),
        };
        let c = Verdict {
            name: "(c) no message sent twice",
            pass: twice.is_empty(),
            figures: format!(
                "the WhatsApp fake accepted {accepted} replies, {} distinct; texts received more than once: {}",
                received.keys().filter(|t| t.starts_with("reply-")).count(),
                if twice.is_empty() {
                    "none".into()
                } else {
                    twice.iter().map(|(t, n)| format!("{t} ×{n}")).collect::<Vec<_>>().join(", ")
                }
            ),
        };
        Ok([b, c])
    }

    /// (d) no duplicate alert and (e) no alert storm during the Soundtrack faults.
    pub(super) async fn check_alerts(&self) -> anyhow::Result<[Verdict; 2]> {
        // Emails are never sent here (no SMTP): their jobs stay in the queue and can be counted.
        let (open_twice, episode_twice, all, mails_twice): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM alerts WHERE NOT resolved GROUP BY zone_id, alert_type HAVING count(*) > 1) a), \
                    (SELECT count(*) FROM (SELECT 1 FROM alerts WHERE zone_id IS NOT NULL \
                                           GROUP BY zone_id, alert_type, started_at HAVING count(*) > 1) e), \
                    (SELECT count(*) FROM alerts), \
                    (SELECT count(*) FROM jobs a JOIN jobs b ON a.kind = 'send_email' AND b.kind = 'send_email' \
                     AND a.id < b.id AND a.payload = b.payload AND abs(extract(epoch FROM a.created_at - b.created_at)) < 10)",
        )
        .fetch_one(&self.db)
        .await?;
        let d = Verdict {
            name: "(d) no duplicate alert",
            pass: open_twice == 0 && episode_twice == 0 && mails_twice == 0,
            figures: format!(
                "{all} alerts in all; (zone, kind) pairs with more than one open alert: {open_twice}; \
                 zone problems (zone, kind, start) alerted more than once: {episode_twice}; the same alert email \
                 (recipient, subject, text) queued twice within 10 s: {mails_twice}"
            ),
        };
        let (mut pass, mut parts) = (true, Vec::new());
        for (k, s) in self.steps.iter().enumerate().filter(|(_, s)| s.name.starts_with("Soundtrack")) {
            let until = self.steps.get(k + 1).map_or_else(OffsetDateTime::now_utc, |n| n.at_utc);
            let (platform, zone): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE zone_id IS NULL), count(*) FILTER (WHERE zone_id IS NOT NULL) \
                 FROM alerts WHERE created_at >= $1 AND created_at < $2",
            )
            .bind(s.at_utc)
            .bind(until)
            .fetch_one(&self.db)
            .await?;
            pass &= platform <= 1 && zone == 0;
            let short: Vec<&str> = s.name.split(' ').take(2).collect();
            parts.push(format!("{}: {platform} platform, {zone} zone", short.join(" ")));
        }
        let e = Verdict {
            name: "(e) no alert storm",
            pass,
            figures: format!(
                "alerts opened from each Soundtrack fault's start to the next step's start ({}); bound: at most 1 platform \
                 alert and no zone alert each, since the monitor holds zone alerts while Soundtrack fails and a failed \
                 read is no observation of a zone (monitoring/sweep/react.rs, update_inhibition)",
                parts.join("; ")
            ),
        };
        Ok([d, e])
    }

    /// (f) each slot of the periodic jobs fired once: the primary key (name, slot) of
    /// `periodic_runs` allows no second run; checked here that no slot was missed.
    pub(super) async fn check_periodic(&self, from: OffsetDateTime, to: OffsetDateTime) -> anyhow::Result<Verdict> {
        let rows: Vec<(String, OffsetDateTime, String)> =
            sqlx::query_as("SELECT name, slot, fired_by FROM periodic_runs").fetch_all(&self.db).await?;
        let (mut expected, mut missing) = (0, Vec::new());
        for (name, every) in [("requeue_stalled", 60), ("campaign.due", 60), ("dashboard.refresh", 120)] {
            let every = Duration::from_secs(every);
            let (mut slot, last) =
                (bma_store::periodic::slot_of(from, every) + every, bma_store::periodic::slot_of(to, every) - every);
            while slot <= last {
                expected += 1;
                if !rows.iter().any(|r| r.0 == name && r.1 == slot) {
                    missing.push(format!("{name} {}", slot.time()));
                }
                slot += every;
            }
        }
        let mut by: HashMap<String, usize> = HashMap::new();
        for (_, _, fired_by) in &rows {
            let pid = fired_by.split('-').nth(1).and_then(|p| p.parse().ok());
            *by.entry(pid.map_or_else(|| fired_by.clone(), |p| self.name_of(p))).or_default() += 1;
        }
        let mut by: Vec<String> = by.into_iter().map(|(k, n)| format!("{k} {n}")).collect();
        by.sort();
        Ok(Verdict {
            name: "(f) periodic jobs once",
            pass: missing.is_empty(),
            figures: format!(
                "{expected} whole slots of the 60 s and 120 s jobs during the run, {} fired, missing: {}; a second run of a \
                 slot is impossible (primary key (name, slot) of periodic_runs, bma_store::periodic::fire_once); \
                 {} slots fired in all, by {}",
                expected - missing.len(),
                if missing.is_empty() { "none".into() } else { missing.join(", ") },
                rows.len(),
                by.join(", ")
            ),
        })
    }

    /// (g) one monitor at a time: from each scheduler's log, when it took the monitor's lock,
    /// until it died; and from the data, no zone whose state machine logged the same transition
    /// twice in a row (a second monitor keeps a second copy of each zone's state machine).
    pub(super) async fn check_monitor_once(&self, end: Instant) -> anyhow::Result<Verdict> {
        let spans: Vec<(String, Instant, Instant)> =
            lock(&self.procs).iter().filter_map(|p| Some((p.name(), p.leads_since?, p.ended.unwrap_or(end)))).collect();
        let mut overlaps = Vec::new();
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                let (from, to) = (a.1.max(b.1), a.2.min(b.2));
                if to > from {
                    let secs = to.duration_since(from).as_secs_f64();
                    overlaps.push(format!("{} and {} both from {:.1} s for {secs:.0} s", a.0, b.0, self.secs(from)));
                }
            }
        }
        let repeated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT status, lag(status) OVER (PARTITION BY zone_id ORDER BY created_at, id) AS prev \
             FROM music_status_logs WHERE kind = 'transition') t WHERE status = prev",
        )
        .fetch_one(&self.db)
        .await?;
        // Only a running monitor asks Soundtrack for status counts, and warns when that fails.
        let asked: Vec<String> = lock(&self.procs)
            .iter()
            .filter(|p| p.label.starts_with("scheduler"))
            .map(|p| {
                let log = std::fs::read_to_string(&p.log).unwrap_or_default();
                format!("{} {}", p.name(), log.matches("status counts failed").count())
            })
            .collect();
        let led: Vec<String> = spans
            .iter()
            .map(|(n, from, to)| {
                format!(
                    "{n} {:.1}–{}",
                    self.secs(*from),
                    if *to == end { "end".into() } else { format!("{:.1} s", self.secs(*to)) }
                )
            })
            .collect();
        Ok(Verdict {
            name: "(g) the monitor once",
            pass: overlaps.is_empty() && repeated == 0,
            figures: format!(
                "monitor's lock taken (scheduler logs): {}; running at once: {}; 'status counts failed' warnings \
                 logged by each scheduler (a monitor's own): {}; zones' transitions logged twice in a row: {repeated}",
                led.join(", "),
                if overlaps.is_empty() { "never".into() } else { overlaps.join("; ") },
                asked.join(", ")
            ),
        })
    }

    /// (h) live events reach the clients of both servers: each received some, and an event of
    /// the zone changed after the faults reached both or neither.
    pub(super) fn check_live(&self, last: &Change) -> Verdict {
        let mut count = [0; 2];
        for e in lock(&self.board.events).iter() {
            count[e.1] += 1;
        }
        let drops = self.board.feed_drops.each_ref().map(|d| d.load(Ordering::SeqCst));
        Verdict {
            name: "(h) live events reach clients on either server",
            pass: count.iter().all(|n| *n > 0) && last.arrivals.iter().all(|(t, _)| t[0].is_some() == t[1].is_some()),
            figures: format!(
                "zone.changed events received: serve A {}, serve B {}; streams ended by faults (reconnected): {} and {}",
                count[0], count[1], drops[0], drops[1],
            ),
        }
    }

    /// (k) after the faults the monitor sees a zone change within the bound, as before them.
    pub(super) fn check_detection(&self, first: &Change, last: &Change) -> Verdict {
        Verdict {
            name: "(k) zone changes seen within 30 s after the faults",
            pass: last.arrivals.iter().all(|(t, _)| t.iter().all(|s| s.is_some_and(|s| s <= RECOVERY_BOUND))),
            figures: format!(
                "from the change on the Soundtrack fake to the client of each server; before the faults: {}; after: {}",
                arrivals_line(first),
                arrivals_line(last)
            ),
        }
    }

    /// (j) with Redis down the platform is degraded but serving: webhooks are acknowledged and
    /// the team's replies accepted.
    pub(super) fn check_redis_down(&self, (down, up): (Instant, Instant)) -> Verdict {
        let (acked, refused) = self.board.webhooks_between(down, up);
        let replies = lock(&self.board.replies).iter().filter(|r| r.0 >= down && r.0 <= up).count();
        let replies_refused = self.board.replies_refused_between(down, up);
        Verdict {
            name: "(j) Redis down: degraded but serving",
            pass: acked > 0 && replies > 0,
            figures: format!(
                "during the {:.0} s without Redis: webhooks acknowledged {acked}, not {refused}; team replies accepted \
                 {replies}, refused {replies_refused}",
                up.duration_since(down).as_secs_f64()
            ),
        }
    }

    /// (i) every fault recovered within the bound, and no process died by itself.
    pub(super) fn check_recovery(&self) -> Verdict {
        let slow: Vec<String> = self
            .steps
            .iter()
            .filter(|s| s.recovered.is_none_or(|r| r > RECOVERY_BOUND))
            .map(|s| {
                s.recovered.map_or_else(
                    || format!("{}: not recovered ({})", s.name, s.unmet),
                    |r| format!("{}: {r:.1} s", s.name),
                )
            })
            .collect();
        let worst = self.steps.iter().filter_map(|s| s.recovered).fold(0.0, f64::max);
        Verdict {
            name: "(i) recovery within 30 s",
            pass: slow.is_empty() && self.exits.is_empty(),
            figures: format!(
                "{} faults, slowest recovery {worst:.1} s; over the bound: {}; processes that died by themselves: {}",
                self.steps.len(),
                if slow.is_empty() { "none".into() } else { slow.join("; ") },
                if self.exits.is_empty() { "none".into() } else { self.exits.join("; ") }
            ),
        }
    }
}

pub(super) fn print_tables(steps: &[Step], verdicts: &[Verdict], secs: impl Fn(Instant) -> f64) {
    println!("\n| fault | at s | lasted s | recovered in s | webhooks not acknowledged | replies refused | note |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for s in steps {
        let recovered = s
            .recovered
            .map_or_else(|| format!("not within {} s ({})", RECOVERY_LIMIT.as_secs(), s.unmet), |r| format!("{r:.1}"));
        let (name, at, lasted, refused, replies) = (&s.name, secs(s.at), s.lasted, s.refused, s.replies_refused);
        println!("| {name} | {at:.1} | {lasted:.1} | {recovered} | {refused} | {replies} | {} |", s.note.trim());
    }
    println!("\n| invariant | result | figures |");
    println!("|---|---|---|");
    for v in verdicts {
        println!("| {} | {} | {} |", v.name, if v.pass { "PASS" } else { "**FAIL**" }, v.figures);
    }
}
