//! The bot asks before silencing a zone when a message may as well report that the music
//! stopped, and touches the player only once the venue answers with a button.

use super::{STAFF, rig, text_of};
use bma_fakes::whatsapp::UserMessage;

fn buttons(reply: &serde_json::Value) -> Vec<(String, String)> {
    reply["interactive"]["action"]["buttons"]
        .as_array()
        .cloned()
        .expect("reply buttons")
        .iter()
        .map(|b| {
            let id = b["reply"]["id"].as_str().expect("a button id").to_owned();
            let title = b["reply"]["title"].as_str().expect("a button title").to_owned();
            (id, title)
        })
        .collect()
}

#[tokio::test]
async fn an_unclear_music_off_is_asked_about_and_the_player_is_paused_only_after_yes() {
    let r = rig(false).await;
    assert_eq!(r.st.zone_playing(&r.lobby), Some(true), "test setup: the lobby plays");
    let volume = r.st.zone_volume(&r.lobby);
    let calls = r.st.requests();

    let reply = r.say(STAFF, UserMessage::text("music off in the lobby")).await.expect("a question");
    assert_eq!(reply["type"], "interactive", "{reply}");
    assert!(text_of(&reply).starts_with("Pause the music in Lobby?"), "{reply}");
    assert_eq!(r.st.requests(), calls, "the bot did not call Soundtrack before the venue answered");
    assert_eq!(r.st.zone_playing(&r.lobby), Some(true));
    assert_eq!(r.st.zone_volume(&r.lobby), volume);
    let choices = buttons(&reply);
    let titles: Vec<&str> = choices.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(titles, ["Pause Lobby", "No, music stopped"]);

    let (yes, title) = choices[0].clone();
    let done = r.say(STAFF, UserMessage::ButtonReply { id: yes, title }).await.expect("a reply");
    assert_eq!(r.st.zone_playing(&r.lobby), Some(false), "the lobby is paused once the venue said yes");
    assert!(text_of(&done).contains("paused"), "{done}");
    assert_eq!(r.status().await, "pending");
}

#[tokio::test]
async fn no_the_music_stopped_is_treated_as_a_report_and_the_music_restarts() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("pause the lobby")).await.expect("a clear command is carried out");
    assert_eq!(r.st.zone_playing(&r.lobby), Some(false), "test setup: the lobby is silent");

    let reply = r.say(STAFF, UserMessage::text("lobby off")).await.expect("a question");
    let choices = buttons(&reply);
    assert_eq!(choices.len(), 2, "{reply}");
    let (no, title) = choices[1].clone();
    assert_eq!(title, "No, music stopped");
    let done = r.say(STAFF, UserMessage::ButtonReply { id: no, title }).await.expect("a reply");
    assert_eq!(r.st.zone_playing(&r.lobby), Some(true), "the music was restarted, not paused");
    assert!(text_of(&done).contains("playing again"), "{done}");
    assert_eq!(r.status().await, "pending");
}

#[tokio::test]
async fn a_thai_report_holding_a_command_word_restarts_the_music_and_an_unclear_one_is_asked_in_thai() {
    let r = rig(false).await;
    r.say(STAFF, UserMessage::text("pause the lobby")).await.expect("a clear command is carried out");
    let reply = r.say(STAFF, UserMessage::text("เพลงที่ล็อบบี้ปิด ช่วยเช็คหน่อยค่ะ")).await.expect("a reply");
    assert_eq!(r.st.zone_playing(&r.lobby), Some(true), "a report is never read as a command to silence");
    assert_eq!(reply["type"], "text", "{reply}");

    let calls = r.st.requests();
    let reply = r.say(STAFF, UserMessage::text("ล็อบบี้ปิดเพลง")).await.expect("a question");
    assert_eq!(r.st.requests(), calls, "nothing is done before the venue answers");
    assert!(text_of(&reply).contains("ต้องการหยุดเพลงที่โซน Lobby"), "{reply}");
    let titles: Vec<String> = buttons(&reply).into_iter().map(|(_, t)| t).collect();
    assert_eq!(titles, ["หยุดเพลง Lobby", "ไม่ใช่ เพลงหยุดเอง"]);
}

#[tokio::test]
async fn with_no_zone_named_the_bot_asks_the_zone_then_asks_before_pausing_it() {
    let r = rig(false).await;
    let calls = r.st.requests();
    let reply = r.say(STAFF, UserMessage::text("music off")).await.expect("which zone?");
    let (pool, title) = buttons(&reply).into_iter().find(|(_, t)| t == "Pool Bar").expect("a Pool Bar button");
    let reply = r.say(STAFF, UserMessage::ButtonReply { id: pool, title }).await.expect("a question");
    assert!(text_of(&reply).starts_with("Pause the music in Pool Bar?"), "{reply}");
    assert_eq!(r.st.requests(), calls, "nothing is done before the venue answers");
    let (yes, title) = buttons(&reply).into_iter().next().expect("a yes button");
    r.say(STAFF, UserMessage::ButtonReply { id: yes, title }).await.expect("a reply");
    assert_eq!(r.st.zone_playing(&r.pool), Some(false));
    assert_eq!(r.st.zone_playing(&r.lobby), Some(true));
}

#[tokio::test]
async fn a_report_that_the_music_is_off_again_restarts_it_in_english_and_in_thai() {
    let r = rig(false).await;
    let steps = [
        ("pause the lobby", "the lobby music is off again, please check"),
        ("หยุดเพลงที่ล็อบบี้", "เพลงที่ล็อบบี้ปิดอีกแล้ว ช่วยเช็คหน่อย"),
    ];
    for (command, report) in steps {
        r.say(STAFF, UserMessage::text(command)).await.expect("a clear command is carried out");
        assert_eq!(r.st.zone_playing(&r.lobby), Some(false));
        r.say(STAFF, UserMessage::text(report)).await.expect("a reply");
        assert_eq!(r.st.zone_playing(&r.lobby), Some(true), "{report}: the music is restarted, not handed over");
    }
}
