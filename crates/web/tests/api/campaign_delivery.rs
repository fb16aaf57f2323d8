//! How campaigns reach their channels: LINE by multicast in calls of at most 500 user ids under
//! retry keys that a retry repeats; email with HTML and text parts and a one-click unsubscribe
//! that a forged link cannot trigger; and the funnel compared across campaigns.

use crate::campaigns::rig;
use axum::http::StatusCode;
use bma_fakes::line::Via;
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

/// `n` LINE contacts at `venue`, written straight to the table (the API would take minutes).
async fn line_contacts(db: &sqlx::PgPool, venue: Uuid, n: i64) {
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, channel, line_user_id) \
         SELECT gen_random_uuid(), $1, 'Contact ' || g, 'line', 'U' || lpad(to_hex(g), 32, '0') \
         FROM generate_series(1, $2) g",
    )
    .bind(venue)
    .bind(n)
    .execute(db)
    .await
    .expect("contacts inserted");
}

#[tokio::test]
async fn a_line_campaign_to_501_contacts_goes_out_in_two_multicast_calls_and_a_retry_reuses_its_key() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    line_contacts(&r.app.ctx.db, venue, 501).await;
    let id = r
        .create(json!({
            "name": "Songkran greetings", "type": "service", "channel": "line", "target_venues": [venue],
            "message_template": "Happy Songkran from BMA to everyone at {{venue.name}}!"
        }))
        .await;
    let campaign_id = Uuid::parse_str(&id).expect("a campaign id");
    // LINE's first three answers are 503: the client's own retries give up, the job keeps the
    // batch `sending` and runs again under the same key.
    r.line.fail_next(3, 503);
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;

    assert_eq!(r.line.multicast_calls(), 2, "500 + 1 user ids");
    let sent = r.line.sent();
    assert_eq!(sent.len(), 501);
    assert!(sent.iter().all(|s| s.via == Via::Multicast));
    let users: HashSet<&str> = sent.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(users.len(), 501, "each contact once");
    let keys: HashSet<String> = sent.iter().filter_map(|s| s.retry_key.clone()).collect();
    let expected: HashSet<String> = [1, 2]
        .into_iter()
        .map(|b| bma_app::campaigns::multicast::retry_key(campaign_id, b).hyphenated().to_string())
        .collect();
    assert_eq!(keys, expected, "one key per call, derived from campaign and batch");
    assert_eq!(
        r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND delivery_status = 'sent'").await,
        501
    );

    // A worker that died after LINE took batch 1 but before recording it: the batch is still
    // `sending`, and the job runs again. LINE answers 409 for the key; nothing goes out twice.
    sqlx::query(
        "UPDATE messages SET delivery_status = 'sending' WHERE id IN \
         (SELECT message_id FROM campaign_recipients WHERE campaign_id = $1 AND multicast_batch = 1)",
    )
    .bind(campaign_id)
    .execute(&r.app.ctx.db)
    .await
    .expect("batch 1 back to sending");
    let job = bma_app::jobs::tasks::CampaignMulticastJob { campaign_id, batch: 1 };
    bma_app::jobs::enqueue(&r.app.ctx, &r.app.ctx.db, &job, bma_app::jobs::Options::default()).await.expect("queued");
    r.drain().await;
    assert_eq!(r.line.multicast_calls(), 2, "the repeated key was not executed again");
    assert_eq!(r.line.sent().len(), 501);
    assert_eq!(
        r.count("SELECT count(*) FROM messages WHERE direction = 'out' AND delivery_status = 'sent'").await,
        501
    );
    assert_eq!(r.analytics(&id).await["funnel"]["sent"], 501);
}

#[tokio::test]
async fn recipients_whose_texts_differ_are_multicast_separately_each_with_its_own_text() {
    let r = rig().await;
    let venue = r.venue("Hilton Pattaya", "Hilton", 1).await;
    line_contacts(&r.app.ctx.db, venue, 3).await;
    let id = r
        .create(json!({
            "name": "Playlist", "type": "marketing", "channel": "line", "target_venues": [venue],
            "message_template": "Dear {{contact.name}}, new playlists."
        }))
        .await;
    assert_eq!(r.post(&format!("/api/v1/campaigns/{id}/send")).await.status, StatusCode::ACCEPTED);
    r.drain().await;
    assert_eq!(r.line.multicast_calls(), 3, "three different texts");
    for s in r.line.sent() {
        let text = s.messages[0]["text"].as_str().unwrap_or_default().to_owned();
        let n = u64::from_str_radix(&s.to[1..], 16).expect("hex user id");
        assert!(text.starts_with(&format!("Dear Contact {n}, new playlists.")), "{text}");
    }
}

/// `n` WhatsApp contacts at `venue`, written straight to the table.
async fn whatsapp_contacts(db: &sqlx::PgPool, venue: Uuid, n: i64) {
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number) \
         SELECT gen_random_uuid(), $1, 'Contact ' || g, 'whatsapp', '+6681' || lpad(g::text, 7, '0') \
         FROM generate_series(1, $2) g",
    )
    .bind(venue)
    .bind(n)
    .execute(db)
    .await
    .expect("contacts inserted");
}

#[tokio::test]
async fn two_workers_sharing_the_redis_pace_never_exceed_the_numbers_throughput() {
    use bma_app::jobs::{Registry, Worker};
    use bma_fakes::whatsapp::{WhatsappFake, WhatsappFakeConfig};
    let wa = WhatsappFake::start(WhatsappFakeConfig { throughput_per_second: 20, ..WhatsappFakeConfig::default() })
        .await
        .expect("whatsapp fake");
    let line = bma_fakes::line::LineFake::start(bma_fakes::line::LineFakeConfig::default()).await.expect("line fake");
    let mut env = crate::webhooks::fake_channels_env(&wa, &line);
    env.push(("WHATSAPP_MESSAGES_PER_SECOND", "20".into()));
    let prefix = format!("bma-test-{}:", Uuid::new_v4().simple());
    let opts = |db_url| crate::helpers::Options {
        env: env.clone(),
        redis_prefix: Some(prefix.clone()),
        db_url,
        ..crate::helpers::Options::default()
    };
    let a = crate::helpers::TestApp::with(opts(None)).await;
    let b = crate::helpers::TestApp::with(opts(Some(a.db_url.clone()))).await;
    let token = a.token(bma_domain::access::Role::Manager).await;
    let v = a.post("/api/v1/venues", Some(&token), crate::helpers::venue_body("Hilton Pattaya")).await;
    let venue = Uuid::parse_str(v.body["id"].as_str().expect("a venue id")).expect("a venue id");
    whatsapp_contacts(&a.ctx.db, venue, 60).await;
    let c = a.post("/api/v1/campaigns", Some(&token), crate::campaigns::whatsapp_campaign(&[venue])).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let id = c.body["id"].as_str().expect("a campaign id").to_owned();
    assert_eq!(
        a.post(&format!("/api/v1/campaigns/{id}/send"), Some(&token), json!({})).await.status,
        StatusCode::ACCEPTED
    );

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let workers = [&a, &b].map(|app| {
        let w = Worker::new(app.ctx.clone(), Registry::standard()).with_backoff_base(std::time::Duration::ZERO);
        tokio::spawn(w.run(shutdown.clone()))
    });
    for _ in 0..300 {
        if wa.sent().len() >= 60 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    for w in workers {
        w.await.expect("worker stopped");
    }
    let sent = wa.sent();
    assert_eq!(sent.len(), 60, "every recipient reached");
    assert_eq!(sent.iter().map(|m| m.to.as_str()).collect::<HashSet<_>>().len(), 60, "each once");
    assert_eq!(wa.throughput_refusals(), 0, "the number's 20/s was never exceeded");
    let span = sent[59].at - sent[0].at;
    assert!(span >= time::Duration::milliseconds(2_800), "60 sends at 20/s take about 3 s, not {span}");
}
