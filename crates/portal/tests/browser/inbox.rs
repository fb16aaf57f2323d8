use crate::driver::Browser;
use crate::journeys::sign_in;
use crate::support::{Inbox, VENUE_PHONE};
use bma_domain::access::Role;
use bma_fakes::whatsapp::UserMessage;
use std::time::{Duration, Instant};

/// Waits up to 2 s for `css` to contain `text`.
async fn within_two_seconds(b: &Browser, css: &str, text: &str) {
    let start = Instant::now();
    while !b.text(css).await.contains(text) {
        assert!(start.elapsed() < Duration::from_secs(2), "{text:?} did not reach {css} within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_manager_answers_a_conversation_with_the_keyboard_and_the_reply_reaches_whatsapp() {
    let rig = Inbox::start().await;
    let conv = rig.venue_writes("The music stopped in the lobby").await;
    let email = rig.app.member(Role::Manager).await;
    let b = Browser::open(&rig.app.serve().await, "inbox-reply").await;
    sign_in(&b, &email, None).await;
    b.goto("/inbox?list=unassigned").await;
    b.click(&format!("#conv-{conv} a")).await;
    b.find("#thread-messages").await;
    b.accessible().await;
    b.screenshots("thread").await;
    tokio::time::sleep(Duration::from_millis(800)).await; // the live stream connects

    rig.wa.user_sends(VENUE_PHONE, "Khun Somchai", UserMessage::text("Still nothing playing"));
    rig.wa.flush().await;
    within_two_seconds(&b, "#thread-messages", "Still nothing playing").await;
    within_two_seconds(&b, "#inbox-list", "Khun Somchai").await;

    b.find("body").await.send_keys("?").await.expect("typed");
    assert!(b.find("#shortcuts").await.attr("open").await.expect("attr").is_some(), "the help overlay opens");
    b.accessible().await;
    b.screenshots("shortcuts").await;
    b.click("#shortcuts form button").await;
    b.find("body").await.send_keys("a").await.expect("typed");
    b.find("p.ok").await;
    assert!(b.text("p.ok").await.contains("assigned"));
    b.goto("/inbox?list=mine").await;
    b.click(&format!("#conv-{conv} a")).await;
    b.find("body").await.send_keys("r").await.expect("typed");
    let focused = b.client.execute("return document.activeElement.id", vec![]).await.expect("focus");
    assert_eq!(focused, serde_json::json!("reply-text"), "r goes to the reply box");
    b.fill("#reply-text", "We are restarting it now").await;
    b.click("#send-reply").await;
    b.find("p.ok").await;
    rig.drain().await;
    let sent = rig.wa.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].summary(), "We are restarting it now", "the reply reached WhatsApp");
    rig.wa.flush().await;
    within_two_seconds(&b, "#thread-messages", "We are restarting it now").await;
    b.accessible().await;
    b.screenshots("replied").await;
    b.close().await;
}

#[tokio::test]
async fn outside_the_24_hour_window_a_manager_sends_an_approved_template() {
    let rig = Inbox::start().await;
    let conv = rig.venue_writes("thanks").await;
    rig.close_window().await;
    let email = rig.app.member(Role::Manager).await;
    let b = Browser::open(&rig.app.serve().await, "inbox-template").await;
    sign_in(&b, &email, None).await;
    b.goto(&format!("/inbox/{conv}?list=waiting")).await;
    assert!(b.text("#window").await.contains("closed"));
    assert_eq!(b.count("#reply-text").await, 0, "no free text outside the window");
    b.click("#template option[value='conversation_reopen|en_US']").await;
    b.accessible().await;
    b.screenshots("picker").await;
    b.click("#send-template").await;
    b.find("p.ok").await;
    rig.drain().await;
    let sent = rig.wa.sent();
    assert_eq!((sent.len(), sent[0].kind.as_str()), (1, "template"));
    b.accessible().await;
    b.screenshots("sent").await;
    b.close().await;
}
