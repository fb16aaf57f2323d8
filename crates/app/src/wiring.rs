//! Wiring at the top of the crate: which handler runs each job kind. It lives above jobs, bot,
//! messaging and services so that the job runtime imports none of them to reach their handlers.

use crate::jobs::{Registry, tasks};

impl Registry {
    /// Every job kind the service knows, each with its handler.
    pub fn standard() -> Self {
        let mut r = Self::default();
        r.add(tasks::SendEmail)
            .add(crate::services::uptime::PartitionUpkeep)
            .add(tasks::Housekeeping)
            .add(tasks::RequeueStalled)
            .add(crate::services::uptime::UptimeRollup)
            .add(crate::messaging::outbound::SendMessage)
            .add(crate::messaging::media::FetchMedia)
            .add(crate::bot::BotReply)
            .add(crate::campaigns::send::CampaignSend)
            .add(crate::campaigns::multicast::CampaignMulticast)
            .add(crate::campaigns::send::DueCampaigns)
            .add(crate::services::dashboard::RefreshDashboard);
        r
    }
}

#[cfg(test)]
mod tests {
    /// What a module's source may not name, so the worker reaches bot and messaging only here.
    fn assert_free_of(files: &[(&str, &str)], forbidden: &[&str]) {
        for (file, text) in files {
            for f in forbidden {
                assert!(!text.contains(f), "{file} names {f}");
            }
        }
    }

    #[test]
    fn the_job_runtime_imports_no_module_whose_jobs_it_runs_and_messaging_does_not_import_the_bot() {
        let jobs = [
            ("jobs/mod.rs", include_str!("jobs/mod.rs")),
            ("jobs/tasks.rs", include_str!("jobs/tasks.rs")),
            ("jobs/worker.rs", include_str!("jobs/worker.rs")),
            ("jobs/scheduler.rs", include_str!("jobs/scheduler.rs")),
        ];
        assert_free_of(&jobs, &["crate::bot", "crate::messaging", "crate::services", "super::super::"]);
        let messaging = [
            ("messaging/mod.rs", include_str!("messaging/mod.rs")),
            ("messaging/inbound.rs", include_str!("messaging/inbound.rs")),
            ("messaging/outbound.rs", include_str!("messaging/outbound.rs")),
            ("messaging/media.rs", include_str!("messaging/media.rs")),
            ("messaging/notify.rs", include_str!("messaging/notify.rs")),
            ("messaging/survey.rs", include_str!("messaging/survey.rs")),
            ("messaging/assignment.rs", include_str!("messaging/assignment.rs")),
            ("messaging/conversations.rs", include_str!("messaging/conversations.rs")),
            ("messaging/email_inbound.rs", include_str!("messaging/email_inbound.rs")),
            ("messaging/line_menu.rs", include_str!("messaging/line_menu.rs")),
        ];
        assert_free_of(&messaging, &["crate::bot", "super::inbound::"]);
    }
}
