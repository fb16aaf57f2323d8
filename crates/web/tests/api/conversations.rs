use crate::helpers::{Options, TestApp};
use crate::webhooks::VENUE_PHONE;
use axum::http::StatusCode;
use base64::Engine as _;
use bma_app::jobs::{JobHandler, Registry, Worker};
use bma_app::messaging::outbound::SendMessage;
use bma_domain::access::Role;
use bma_fakes::line::{LineFake, LineFakeConfig, UserEvent};
use bma_fakes::whatsapp::{StatusProgression, UserMessage, WhatsappFake, WhatsappFakeConfig};
use serde_json::json;
use std::time::Duration;

struct Rig {
    app: TestApp,
    wa: WhatsappFake,
    line: LineFake,
    worker: Worker,
}

async fn rig_with(extra: Vec<(&'static str, String)>) -> Rig {
    rig_full(WhatsappFakeConfig::default(), extra).await
}

async fn rig_full(wa_config: WhatsappFakeConfig, extra: Vec<(&'static str, String)>) -> Rig {
    let wa = WhatsappFake::start(wa_config).await.expect("whatsapp fake");
    let line = LineFake::start(LineFakeConfig::default()).await.expect("line fake");
    let mut env = crate::webhooks::fake_channels_env(&wa, &line);
    env.extend(extra);
    let app = TestApp::with(Options { env, ..Options::default() }).await;
    let base = app.serve().await;
    wa.set_webhook(&format!("{base}/api/v1/webhooks/whatsapp"));
    line.set_webhook(&format!("{base}/api/v1/webhooks/line"));
    let worker = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(Duration::ZERO);
    Rig { app, wa, line, worker }
}

async fn rig() -> Rig {
    rig_with(vec![]).await
}

impl Rig {
    async fn venue_writes(&self, text: &str) -> String {
        self.wa.user_sends(VENUE_PHONE, "Khun Somchai", UserMessage::text(text));
        self.wa.flush().await;
        self.conversation_of("whatsapp").await
    }

    async fn conversation_of(&self, channel: &str) -> String {
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM conversations WHERE channel = $1 ORDER BY created_at DESC LIMIT 1")
                .bind(channel)
                .fetch_one(&self.app.ctx.db)
                .await
                .expect("a conversation");
        id.to_string()
    }

    async fn drain(&self) {
        for _ in 0..10 {
            if self.worker.run_once().await.expect("worker run").is_empty() {
                return;
            }
        }
    }

    async fn delivery_status(&self, message: &str) -> String {
        sqlx::query_scalar("SELECT delivery_status FROM messages WHERE id = $1::uuid")
            .bind(message)
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("message")
    }
}

#[tokio::test]
async fn a_team_reply_goes_out_once_through_whatsapp_and_its_statuses_come_back() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("The music stopped in the lobby").await;
    let waiting = r.app.get("/api/v1/conversations?waiting=true", &token).await;
    assert_eq!(waiting.body["pagination"]["total"], 1);

    let res = r
        .app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            Some(&token),
            json!({"text": "We are restarting it now"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text);
    let message = res.body["message_id"].as_str().expect("test setup").to_owned();
    r.drain().await;
    let sent = r.wa.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].summary(), "We are restarting it now");
    assert_eq!(sent[0].biz_opaque_callback_data.as_deref(), Some(message.as_str()));
    r.wa.flush().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.wa.flush().await;
    assert_eq!(r.delivery_status(&message).await, "read", "sent, delivered and read came back by webhook");
    let one = r.app.get(&format!("/api/v1/conversations/{conv}"), &token).await;
    assert!(one.body["first_response_at"].is_string());
    assert!(one.body["waiting_since"].is_null());
    assert_eq!(one.body["window"]["open"], true);
}

#[tokio::test]
async fn a_private_note_is_never_sent_to_the_venue() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("hello").await;
    let res = r
        .app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            Some(&token),
            json!({"text": "VIP guest, be quick", "private": true}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text);
    assert_eq!(res.body["status"], "note");
    r.drain().await;
    assert!(r.wa.sent().is_empty());
    assert_eq!(r.app.count("SELECT count(*) FROM jobs WHERE kind = 'message.send'").await, 0);
    let viewer = r.app.token(Role::Viewer).await;
    let refused =
        r.app.post(&format!("/api/v1/conversations/{conv}/messages"), Some(&viewer), json!({"text": "hi"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn outside_the_24_hour_window_free_text_is_refused_and_a_template_goes_out() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("thanks").await;
    sqlx::query("UPDATE conversations SET last_inbound_at = now() - interval '25 hours'")
        .execute(&r.app.ctx.db)
        .await
        .expect("test setup");
    r.wa.advance(Duration::from_secs(25 * 3600));
    let text =
        r.app.post(&format!("/api/v1/conversations/{conv}/messages"), Some(&token), json!({"text": "hi again"})).await;
    assert_eq!(text.status, StatusCode::CONFLICT, "{}", text.text);
    assert_eq!(text.code(), "whatsapp_window_closed");
    let templates = r.app.get("/api/v1/messaging/templates", &token).await;
    assert_eq!(templates.status, StatusCode::OK, "{}", templates.text);
    assert!(templates.body.as_array().expect("test setup").iter().any(|t| t["name"] == "conversation_reopen"));
    let tpl = r
        .app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            Some(&token),
            json!({"template": {"name": "conversation_reopen", "language": "en_US"}}),
        )
        .await;
    assert_eq!(tpl.status, StatusCode::ACCEPTED, "{}", tpl.text);
    r.drain().await;
    let sent = r.wa.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "template");
}

#[tokio::test]
async fn closing_sends_one_survey_and_a_low_answer_reaches_the_team() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("music is too loud").await;
    let closed = r.app.post(&format!("/api/v1/conversations/{conv}/close"), Some(&token), json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    assert_eq!(closed.body["survey_sent"], true);
    r.drain().await;
    let survey = r.wa.sent();
    assert_eq!(survey.len(), 1);
    assert_eq!(survey[0].kind, "interactive", "five scores go as a list");

    r.wa.user_sends(
        VENUE_PHONE,
        "Khun Somchai",
        UserMessage::ListReply { id: "csat:2".into(), title: "2 Poor".into() },
    );
    r.wa.flush().await;
    assert_eq!(r.app.count("SELECT count(*) FROM satisfaction_scores WHERE score = 2").await, 1);
    assert_eq!(
        r.app.count("SELECT count(*) FROM conversations WHERE status = 'closed'").await,
        1,
        "an answer does not reopen"
    );
    r.drain().await;
    assert!(
        r.app
            .smtp
            .messages()
            .iter()
            .any(|m| m.header("Subject").expect("a subject").contains("Low satisfaction score (2 of 5)")),
        "the team hears of a low score"
    );

    let again = r.app.post(&format!("/api/v1/conversations/{conv}/close"), Some(&token), json!({})).await;
    assert_eq!(again.code(), "already_closed");
    r.venue_writes("one more thing").await;
    let reclosed = r.app.post(&format!("/api/v1/conversations/{conv}/close"), Some(&token), json!({})).await;
    assert_eq!(reclosed.body["survey_sent"], false, "one survey per conversation");

    let sat = r.app.get("/api/v1/analytics/satisfaction?group_by=channel", &token).await;
    assert_eq!(sat.status, StatusCode::OK, "{}", sat.text);
    assert_eq!(sat.body["surveys_sent"], 1);
    assert_eq!(sat.body["responses"], 1);
    assert_eq!(sat.body["distribution"], json!([0, 1, 0, 0, 0]));
    assert_eq!(sat.body["groups"][0]["label"], "whatsapp");
    let convs = r.app.get("/api/v1/analytics/conversations?group_by=day", &token).await;
    assert_eq!(convs.status, StatusCode::OK, "{}", convs.text);
    assert_eq!(convs.body["conversations"], 1);
    assert_eq!(convs.body["closed"], 1);
    assert_eq!(convs.body["inbound_messages"], 3);
    let outbound = r.app.count("SELECT count(*) FROM messages WHERE direction = 'out'").await;
    assert!(outbound >= 1, "the survey went out");
    assert_eq!(convs.body["outbound_messages"], outbound, "the stored count is the messages'");
}

#[tokio::test]
async fn open_conversations_are_shared_round_robin_and_nobody_is_given_more_than_the_cap() {
    let r = rig_with(vec![("CONVERSATION_ASSIGN_CAP", "1".into())]).await;
    r.app.member(Role::Manager).await;
    r.app.member(Role::Manager).await;
    r.app.member(Role::Viewer).await;
    for n in ["66811111111", "66822222222", "66833333333"] {
        r.wa.user_sends(n, "Venue", UserMessage::text("hello"));
    }
    r.wa.flush().await;
    let per_member: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM conversations WHERE assigned_to IS NOT NULL GROUP BY assigned_to ORDER BY 1",
    )
    .fetch_all(&r.app.ctx.db)
    .await
    .expect("test setup");
    assert_eq!(per_member, vec![1, 1], "two managers, one each; viewers are never assigned");
    assert_eq!(r.app.count("SELECT count(*) FROM conversations WHERE assigned_to IS NULL").await, 1);
    let token = r.app.token(Role::Manager).await;
    let unassigned = r.app.get("/api/v1/conversations?unassigned=true", &token).await;
    assert_eq!(unassigned.body["pagination"]["total"], 1);
    let id = unassigned.body["data"][0]["id"].as_str().expect("test setup").to_owned();
    let auto = r.app.post(&format!("/api/v1/conversations/{id}/assign"), Some(&token), json!({"auto": true})).await;
    assert_eq!(auto.status, StatusCode::OK, "{}", auto.text);
    assert!(auto.body["assigned_to"].is_string(), "the member who signed in is below the cap");
}

/// Claims the send job as a worker would, starts it, and kills it once the provider has the
/// message but before the answer comes back.
async fn kill_mid_send(r: &Rig, provider_has_it: impl Fn() -> bool) {
    let job = bma_store::jobs::claim(&r.app.ctx.db, "doomed-worker", 1).await.expect("test setup").remove(0);
    let ctx = r.app.ctx.clone();
    let task = tokio::spawn(async move { SendMessage.run(&ctx, job.payload).await });
    for _ in 0..200 {
        if provider_has_it() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(provider_has_it(), "the provider received the message");
    task.abort();
    let _ = task.await;
    sqlx::query("UPDATE jobs SET locked_at = now() - interval '1 hour'")
        .execute(&r.app.ctx.db)
        .await
        .expect("test setup");
    bma_store::jobs::requeue_stalled(&r.app.ctx.db, time::Duration::minutes(5)).await.expect("test setup");
}

#[tokio::test]
async fn a_whatsapp_send_cut_short_by_a_dying_worker_is_never_repeated_and_is_flagged() {
    // No status webhooks: nothing but the send itself could tell us it went out.
    let wa_config = WhatsappFakeConfig { statuses: StatusProgression::off(), ..WhatsappFakeConfig::default() };
    let r = rig_full(wa_config, vec![]).await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("hi").await;
    r.wa.hold_next(1, Duration::from_secs(5));
    let res =
        r.app.post(&format!("/api/v1/conversations/{conv}/messages"), Some(&token), json!({"text": "on it"})).await;
    let message = res.body["message_id"].as_str().expect("test setup").to_owned();
    kill_mid_send(&r, || !r.wa.sent().is_empty()).await;
    r.drain().await;
    assert_eq!(r.wa.sent().len(), 1, "sent at most once");
    assert_eq!(r.delivery_status(&message).await, "failed");
    let code: String = sqlx::query_scalar("SELECT delivery_error->>'code' FROM messages WHERE id = $1::uuid")
        .bind(&message)
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("test setup");
    assert_eq!(code, "outcome_unknown", "flagged for a person, not lost");
    assert_eq!(
        r.app.count("SELECT count(*) FROM messages WHERE direction = 'note' AND content LIKE 'A message may not have been delivered%'").await,
        1
    );
}

#[tokio::test]
async fn a_line_push_cut_short_by_a_dying_worker_is_retried_under_the_same_key_and_lands_once() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let user = "U0123456789abcdef0123456789abcdef";
    r.line.user_sends(user, UserEvent::Text("เพลงไม่ดัง".into())).await.expect("test setup");
    r.line.flush().await;
    let conv = r.conversation_of("line").await;
    sqlx::query("UPDATE conversations SET reply_token_at = now() - interval '5 minutes'")
        .execute(&r.app.ctx.db)
        .await
        .expect("test setup");
    r.line.hold_next(Duration::from_secs(5));
    let res = r
        .app
        .post(&format!("/api/v1/conversations/{conv}/messages"), Some(&token), json!({"text": "กำลังแก้ไขค่ะ"}))
        .await;
    let message = res.body["message_id"].as_str().expect("test setup").to_owned();
    kill_mid_send(&r, || !r.line.sent().is_empty()).await;
    r.drain().await;
    assert_eq!(r.line.sent().len(), 1, "LINE executed the push once");
    assert_eq!(r.delivery_status(&message).await, "sent");
}

#[tokio::test]
async fn a_fresh_line_reply_token_is_used_for_a_free_reply() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    r.line.user_sends("U0123456789abcdef0123456789abcdef", UserEvent::Text("hello".into())).await.expect("test setup");
    r.line.flush().await;
    let conv = r.conversation_of("line").await;
    r.app.post(&format!("/api/v1/conversations/{conv}/messages"), Some(&token), json!({"text": "hi!"})).await;
    r.drain().await;
    let sent = r.line.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(format!("{:?}", sent[0].via), "Reply");
}

fn email(from: &str, subject: &str, message_id: &str, in_reply_to: Option<&str>, text: &str) -> Vec<u8> {
    let mut headers = vec![json!({"Name": "Message-ID", "Value": message_id})];
    if let Some(r) = in_reply_to {
        headers.push(json!({"Name": "In-Reply-To", "Value": r}));
        headers.push(json!({"Name": "References", "Value": r}));
    }
    json!({"FromFull": {"Email": from, "Name": "Ops"}, "Subject": subject, "MessageID": "pm-1",
           "TextBody": text, "StrippedTextReply": text, "Headers": headers})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn email_threads_follow_the_headers_not_the_subject() {
    let r = rig().await;
    let token = r.app.token(Role::Manager).await;
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("postmark:inbound-mail-secret"));
    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("postmark:nope"));
    let first = email("ops@hotel.example", "Lobby music", "<a1@hotel.example>", None, "The lobby is silent");
    let refused = r.app.post_raw("/api/v1/webhooks/email", &[("authorization", wrong)], first.clone()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let ok = r.app.post_raw("/api/v1/webhooks/email", &[("authorization", auth.clone())], first).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let conv = r.conversation_of("email").await;
    r.app.post(&format!("/api/v1/conversations/{conv}/messages"), Some(&token), json!({"text": "Restarting it"})).await;
    r.drain().await;
    let mail = r.app.smtp.messages().into_iter().find(|m| m.body().contains("Restarting it")).expect("reply sent");
    assert_eq!(mail.header("In-Reply-To").as_deref(), Some("<a1@hotel.example>"));
    assert_eq!(mail.header("Subject").as_deref(), Some("Re: Lobby music"));
    let ours = mail.header("Message-ID").expect("message id");

    let reply =
        email("ops@hotel.example", "totally different subject", "<a2@hotel.example>", Some(&ours), "Thanks, fixed");
    r.app.post_raw("/api/v1/webhooks/email", &[("authorization", auth.clone())], reply).await;
    let same_subject_new = email("ops@hotel.example", "Lobby music", "<a3@hotel.example>", None, "Another issue");
    r.app.post_raw("/api/v1/webhooks/email", &[("authorization", auth)], same_subject_new).await;
    let threads: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE direction = 'in') FROM messages WHERE channel = 'email' GROUP BY conversation_id ORDER BY 1",
    )
    .fetch_all(&r.app.ctx.db)
    .await
    .expect("test setup");
    assert_eq!(threads, vec![1, 2], "the reply joined its thread; the same subject without headers started a new one");
}

#[tokio::test]
async fn the_inbox_filters_by_status_channel_and_waiting() {
    let r = rig().await;
    let token = r.app.token(Role::Viewer).await;
    r.venue_writes("hi").await;
    r.line.user_sends("U0123456789abcdef0123456789abcdef", UserEvent::Text("hello".into())).await.expect("test setup");
    r.line.flush().await;
    let all = r.app.get("/api/v1/conversations", &token).await;
    assert_eq!(all.body["pagination"]["total"], 2);
    let line = r.app.get("/api/v1/conversations?channel=line&status=open", &token).await;
    assert_eq!(line.body["pagination"]["total"], 1);
    assert_eq!(line.body["data"][0]["channel"], "line");
    let bad = r.app.get("/api/v1/conversations?status=archived&channel=fax", &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["fields"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_line_rich_menu_is_created_with_its_image_and_set_as_the_default_once() {
    let r = rig().await;
    let first = bma_app::messaging::line_menu::ensure_default(&r.app.ctx).await.expect("menu set");
    assert_eq!(r.line.default_rich_menu().as_deref(), Some(first.as_str()));
    let again = bma_app::messaging::line_menu::ensure_default(&r.app.ctx).await.expect("menu set");
    assert_eq!(again, first, "an existing menu is reused, not created twice");
    assert_eq!(r.line.rich_menus().len(), 1);
}

#[tokio::test]
async fn sends_keep_to_the_channels_pace_and_waiting_spends_no_attempt() {
    let r = rig_with(vec![("WHATSAPP_MESSAGES_PER_SECOND", "2".into())]).await;
    let token = r.app.token(Role::Manager).await;
    let conv = r.venue_writes("hello").await;
    for i in 0..5 {
        let res = r
            .app
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                Some(&token),
                json!({"text": format!("update {i}")}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text);
    }
    let first = r.worker.run_once().await.expect("a batch");
    let deferred = first.iter().filter(|(_, o)| *o == bma_app::jobs::worker::Outcome::Deferred).count();
    // Two a second: slots 525 ms apart. The four within two seconds wait for theirs; the fifth
    // is deferred rather than held.
    assert_eq!((r.wa.sent().len(), deferred), (4, 1), "four waited for their slots, one was deferred");
    // Measured where the fake receives them, so a loaded machine's scheduling delays are in the
    // gaps: unpaced sends would arrive milliseconds apart, paced ones about 525 ms apart.
    let sent = r.wa.sent();
    for pair in sent.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= time::Duration::milliseconds(250), "sends {gap} apart at two a second");
    }
    let span = sent[sent.len() - 1].at - sent[0].at;
    assert!(span >= time::Duration::milliseconds(1300), "four sends span three slots (1,575 ms): {span}");
    assert_eq!(r.app.count("SELECT count(*) FROM jobs WHERE kind = 'message.send' AND attempts > 0").await, 0);
    for _ in 0..40 {
        if r.wa.sent().len() == 5 {
            break;
        }
        r.worker.run_once().await.expect("a batch");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(r.wa.sent().len(), 5, "every message went out in the end");
    assert_eq!(r.app.count("SELECT count(*) FROM jobs WHERE status = 'dead'").await, 0);
}

#[tokio::test]
async fn a_photo_from_a_venue_is_fetched_by_a_job_and_kept_after_the_url_expires() {
    let r = rig().await;
    let token = r.app.token(Role::Viewer).await;
    let bytes = b"\xff\xd8\xff\xe0 fake jpeg of a player screen".to_vec();
    let media_id = r.wa.add_media(bytes.clone(), "image/jpeg");
    r.wa.user_sends(VENUE_PHONE, "Khun Somchai", UserMessage::Image { media_id, caption: Some("screen".into()) });
    r.wa.flush().await;
    r.drain().await;
    r.wa.advance(Duration::from_secs(600));
    let message: uuid::Uuid = sqlx::query_scalar("SELECT id FROM messages WHERE kind = 'media'")
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("the image message");
    let res = r.app.get(&format!("/api/v1/messages/{message}/media"), &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], "image/jpeg");
    assert_eq!(res.headers["content-disposition"], "attachment");
    assert!(res.text.ends_with(" fake jpeg of a player screen"), "the kept bytes come back");
}
