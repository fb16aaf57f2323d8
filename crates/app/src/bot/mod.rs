//! The venue bot: answers each message of a conversation it owns (pending) — rules first, in
//! English and Thai, acting on the player through Soundtrack and saying what happened; the LLM
//! only when the rules are unsure and a key is configured; a person whenever it cannot help.
//! It stays silent once a person owns the conversation.

mod confirm;
mod llm;
mod weather;

use crate::jobs::Handler;
use crate::jobs::tasks::BotReplyJob;
use crate::messaging::outbound::{self, Author, Choice, OutboundBody};
use crate::services::Actor;
use crate::services::control::{self, Action};
use crate::{AppContext, Error, Result};
use async_trait::async_trait;
use bma_domain::bot::{self, Intent, Lang, ZoneMatch, ZoneRef, replies};
use bma_domain::messaging::{ConversationStatus, SenderType};
use bma_domain::music::Volume;
use sqlx::PgConnection;
use uuid::Uuid;

/// Below this the rules are not trusted to act.
const CONFIDENT: f32 = 0.5;
/// "a bit louder" moves the volume this much.
const DEFAULT_STEP: u8 = 2;
/// Misunderstandings in a row before a person takes over.
const MAX_MISSES: i16 = 2;

#[derive(Debug, Clone)]
pub(crate) struct Zone {
    pub id: Uuid,
    pub name: String,
}

/// What the bot does about one message.
pub(crate) enum Decision {
    Say(OutboundBody),
    /// Say this, then hand the conversation to a person.
    HandOver(String, &'static str),
    /// Nothing understood; counts as a miss.
    Miss,
}

pub struct BotReply;

#[async_trait]
impl Handler for BotReply {
    type Job = BotReplyJob;

    async fn run(&self, ctx: &AppContext, p: BotReplyJob) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let Some(c) = bma_store::bot::conversation(&ctx.db, p.conversation_id).await? else {
            return Ok(());
        };
        if c.status != ConversationStatus::Pending {
            return Ok(());
        }
        let (text, choice) = bma_store::bot::message(&ctx.db, p.message_id).await?;
        let zones: Vec<Zone> = match c.venue_id {
            Some(v) => bma_store::venues::zones_of(&ctx.db, v)
                .await?
                .into_iter()
                .map(|z| Zone { id: z.id, name: z.name })
                .collect(),
            None => Vec::new(),
        };
        // Only a staff contact may change the music; the bot acts in their name.
        let asker = c.contact_id.filter(|_| c.is_staff == Some(true)).map(Actor::bot);
        let lang = bot::reply_language(&text);
        let repeated = bma_store::bot::asked_again(&ctx.db, p.conversation_id, p.message_id, &text).await?;
        let decision = if choice.is_none() && (repeated || is_upset(&text)) {
            Decision::HandOver(replies::handover(lang), "the venue is upset or repeated itself")
        } else {
            let asked = Asked { conversation: p.conversation_id, message: p.message_id };
            decide(ctx, &text, choice.as_deref(), &zones, asker.as_ref(), c.venue_id, asked).await
        };
        let decision = match decision {
            Decision::Miss => match llm::fallback(ctx, &text, &zones, asker.as_ref(), lang).await {
                Some(d) => d,
                None if c.bot_misses + 1 >= MAX_MISSES => {
                    Decision::HandOver(replies::handover(lang), "two messages the bot could not read")
                }
                None => Decision::Miss,
            },
            d => d,
        };
        let mut tx = ctx.db.begin().await?;
        if !bma_store::bot::still_pending(&mut *tx, p.conversation_id).await? {
            return Ok(());
        }
        match decision {
            Decision::Say(body) => {
                bma_store::bot::record_miss(&mut *tx, p.conversation_id, false).await?;
                outbound::queue(ctx, &mut tx, p.conversation_id, Author::Bot, &body).await?;
            }
            Decision::Miss => {
                bma_store::bot::record_miss(&mut *tx, p.conversation_id, true).await?;
                let body = OutboundBody::Text { text: replies::didnt_understand(lang) };
                outbound::queue(ctx, &mut tx, p.conversation_id, Author::Bot, &body).await?;
            }
            Decision::HandOver(text, reason) => hand_over(ctx, &mut tx, p.conversation_id, &text, reason).await?,
        }
        tx.commit().await?;
        crate::cache::bump_after_write(ctx, &[crate::cache::INBOX]).await;
        metrics::histogram!("bot_decision_seconds").record(started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Gives the conversation to a person: it opens, is assigned, the venue is told, and the bot
/// never takes it back by itself.
pub async fn hand_over(
    ctx: &AppContext,
    db: &mut PgConnection,
    conversation: Uuid,
    text: &str,
    reason: &str,
) -> Result<()> {
    outbound::queue(ctx, db, conversation, Author::Bot, &OutboundBody::Text { text: text.to_owned() }).await?;
    bma_store::bot::hand_over(&mut *db, conversation).await?;
    outbound::note(db, conversation, None, SenderType::System, &format!("The bot handed over: {reason}.")).await?;
    crate::messaging::assignment::assign_if_unassigned(ctx, db, conversation).await?;
    Ok(())
}

/// An angry message goes to a person at once: shouting, a row of exclamation marks, or words of
/// frustration in English or Thai.
fn is_upset(text: &str) -> bool {
    let lower = text.to_lowercase();
    let letters: Vec<char> = text.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let shouting =
        letters.len() >= 12 && letters.iter().filter(|c| c.is_ascii_uppercase()).count() * 10 >= letters.len() * 8;
    let bangs = text.matches('!').count() >= 3;
    const WORDS: &[&str] = &[
        "unacceptable",
        "ridiculous",
        "angry",
        "furious",
        "worst",
        "useless",
        "fed up",
        "again and again",
        "still not working",
        "complain",
        "แย่มาก",
        "โมโห",
        "ไม่ไหว",
        "หงุดหงิด",
        "อีกแล้วอีกเล่า",
        "ห่วย",
    ];
    shouting || bangs || WORDS.iter().any(|w| lower.contains(w))
}

fn say(text: String) -> Decision {
    Decision::Say(OutboundBody::Text { text })
}

/// The message being answered, so a "which zone?" button can point back at it.
#[derive(Debug, Clone, Copy)]
struct Asked {
    conversation: Uuid,
    message: Uuid,
}

/// What the rich menu's "Volume" tap asks for once a zone is chosen.
const MENU_VOLUME: &str = "up";
const MENU_VOLUME_REQUEST: &str = "volume up a bit";

async fn decide(
    ctx: &AppContext,
    text: &str,
    choice: Option<&str>,
    zones: &[Zone],
    asker: Option<&Actor>,
    venue: Option<Uuid>,
    asked: Asked,
) -> Decision {
    let refs: Vec<ZoneRef> = zones.iter().map(|z| ZoneRef { id: z.id, name: z.name.clone() }).collect();
    // A tapped "pause the lounge?" button reads its message again for its zone, then settles it.
    let confirmed = confirm::Reply::parse(choice);
    let zone_choice = confirmed.as_ref().map(confirm::Reply::as_zone_choice);
    let choice = zone_choice.as_deref().or(choice);
    // A tapped "which zone?" button carries the zone and the request it answers: the id of the
    // venue's earlier message (button ids are short; the text may not be), or the menu's volume.
    let (text, forced_zone) = match choice.and_then(|c| c.strip_prefix("zone:")).and_then(|r| r.split_once(':')) {
        Some((zone, request)) => {
            let original = match Uuid::parse_str(request) {
                Ok(earlier) => bma_store::messaging::inbound_text(&ctx.db, asked.conversation, earlier)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                Err(_) => MENU_VOLUME_REQUEST.to_owned(),
            };
            (original, Uuid::parse_str(zone).ok())
        }
        None => (text.to_owned(), None),
    };
    let request = asked.message.to_string();
    // The LINE rich menu's taps.
    let text = match choice {
        Some("menu=status") => {
            let lang = bot::reply_language(&text);
            let Some(asker) = asker else {
                return Decision::HandOver(replies::not_allowed(lang), "a sender who is not a known staff contact");
            };
            if zones.is_empty() {
                return Decision::HandOver(replies::handover(lang), "no zone to report on");
            }
            return act(ctx, asker, &Intent::ZoneStatus, &zones.iter().collect::<Vec<_>>(), lang, venue).await;
        }
        Some("menu=human") => "talk to a person".to_owned(),
        Some("menu=volume") => {
            let lang = bot::reply_language(&text);
            return match zones.len() {
                0 => Decision::HandOver(replies::handover(lang), "no zone to control"),
                _ => ask_zone(lang, &zones.iter().collect::<Vec<_>>(), MENU_VOLUME),
            };
        }
        _ => text,
    };
    let mut u = bot::understand(&text, &refs);
    let lang = u.language;
    if let Some(z) = forced_zone {
        u.zone = ZoneMatch::One(z);
    }
    if let Some(c) = &confirmed {
        c.settle(&mut u);
    }
    match &u.intent {
        Intent::TalkToHuman => return Decision::HandOver(replies::handover(lang), "the venue asked for a person"),
        Intent::Greeting => return say(replies::greeting(lang)),
        Intent::Thanks | Intent::SurveyAnswer { .. } => return say(replies::thanks(lang)),
        Intent::Unknown => return Decision::Miss,
        _ if u.confidence < CONFIDENT => return Decision::Miss,
        _ => {}
    }
    let Some(asker) = asker else {
        return Decision::HandOver(
            replies::not_allowed(lang),
            "a sender who is not a known staff contact asked to control the music",
        );
    };
    if ctx.soundtrack.is_none() || zones.is_empty() {
        return Decision::HandOver(replies::handover(lang), "no zone of this venue can be controlled");
    }
    let targets: Vec<&Zone> = match &u.zone {
        ZoneMatch::One(id) => zones.iter().filter(|z| z.id == *id).collect(),
        ZoneMatch::All if matches!(u.intent, Intent::ZoneStatus) => zones.iter().collect(),
        ZoneMatch::All | ZoneMatch::NoneNamed if zones.len() == 1 => zones.iter().collect(),
        ZoneMatch::Ambiguous(ids) if matches!(u.intent, Intent::ZoneStatus) && ids.len() > 1 => {
            zones.iter().filter(|z| ids.contains(&z.id)).collect()
        }
        ZoneMatch::Ambiguous(ids) => {
            let candidates: Vec<&Zone> = if ids.is_empty() {
                zones.iter().collect()
            } else {
                zones.iter().filter(|z| ids.contains(&z.id)).collect()
            };
            return ask_zone(lang, &candidates, &request);
        }
        _ => return ask_zone(lang, &zones.iter().collect::<Vec<_>>(), &request),
    };
    if targets.is_empty() {
        return ask_zone(lang, &zones.iter().collect::<Vec<_>>(), &request);
    }
    if u.ask_first {
        return confirm::ask(lang, &u.intent, targets[0], confirm::origin(choice, asked.message));
    }
    act(ctx, asker, &u.intent, &targets, lang, venue).await
}

/// Asks which zone, one button per candidate; `request` is the id of the message being answered
/// (or the menu's volume request), at most 78 bytes in all, within WhatsApp's and LINE's limits.
fn ask_zone(lang: Lang, zones: &[&Zone], request: &str) -> Decision {
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    let choices = zones
        .iter()
        .take(10)
        .map(|z| Choice { id: format!("zone:{}:{request}", z.id), title: z.name.chars().take(20).collect() })
        .collect();
    Decision::Say(OutboundBody::Choices { text: replies::which_zone(lang, &names), choices })
}

/// Carries out the request through the control service, as the API does, in the asker's name.
async fn act(
    ctx: &AppContext,
    asker: &Actor,
    intent: &Intent,
    targets: &[&Zone],
    lang: Lang,
    venue: Option<Uuid>,
) -> Decision {
    if let Intent::ZoneStatus = intent {
        let (mut playing, mut silent) = (Vec::new(), Vec::new());
        for z in targets {
            let ok = control::status(ctx, asker, z.id)
                .await
                .is_ok_and(|s| s.online && s.playback_state.as_deref() == Some("playing"));
            if ok { playing.push(z.name.as_str()) } else { silent.push(z.name.as_str()) }
        }
        return say(replies::zone_status(lang, &playing, &silent));
    }
    let zone = targets[0];
    let step = |s: &Option<u8>| i8::try_from(s.unwrap_or(DEFAULT_STEP)).unwrap_or(i8::MAX);
    let mut mood = None;
    let mut playlist = String::new();
    let action = match intent {
        Intent::VolumeSet { .. } | Intent::Mute => {
            let level = if let Intent::VolumeSet { level } = intent { *level } else { 0 };
            let Ok(v) = Volume::new(i64::from(level.min(bot::MAX_VOLUME))) else {
                return Decision::Miss;
            };
            Action::Volume(v)
        }
        Intent::VolumeUp { step: s } => Action::VolumeBy(step(s)),
        Intent::VolumeDown { step: s } => Action::VolumeBy(-step(s)),
        Intent::MusicStopped | Intent::Resume => Action::Play,
        Intent::Pause => Action::Pause,
        Intent::Skip => Action::Skip,
        Intent::ChangePlaylist { query } => {
            // With no style named, the weather at the venue suggests one.
            mood = match (query.trim().is_empty(), venue) {
                (true, Some(v)) => weather::mood(ctx, v).await,
                _ => None,
            };
            let words: Vec<String> = match &mood {
                Some(m) => m.playlist_words.iter().map(|w| (*w).to_owned()).collect(),
                None if query.trim().is_empty() => vec!["calm".to_owned()],
                None => vec![query.trim().to_lowercase()],
            };
            let mut found = Ok(None);
            for w in &words {
                found = bma_store::messaging::find_playlist(&ctx.db, w).await;
                if !matches!(found, Ok(None)) {
                    break;
                }
            }
            match found {
                Ok(Some(p)) => {
                    playlist = p.name;
                    Action::Source(p.soundtrack_id)
                }
                Ok(None) => {
                    return Decision::HandOver(
                        replies::handover(lang),
                        "no playlist of the catalogue fits the request",
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "playlist catalogue unavailable");
                    return Decision::HandOver(replies::handover(lang), "the playlist catalogue is unavailable");
                }
            }
        }
        Intent::NowPlaying => {
            return match control::status(ctx, asker, zone.id).await {
                Ok(s) if s.online => say(match s.now_playing.as_deref() {
                    Some(t) => replies::now_playing(lang, &zone.name, Some((t, ""))),
                    None => replies::now_playing(lang, &zone.name, None),
                }),
                Ok(_) => offline(ctx, zone, venue, lang).await,
                Err(e) => failed(ctx, e, zone, venue, lang).await,
            };
        }
        _ => return Decision::HandOver(replies::handover(lang), "a request the bot does not carry out itself"),
    };
    let done = match control::control(ctx, asker, zone.id, action).await {
        Ok(done) => done,
        Err(e) => return failed(ctx, e, zone, venue, lang).await,
    };
    let now = done.volume.unwrap_or_default();
    say(match intent {
        Intent::VolumeSet { .. } => replies::volume_set(lang, &zone.name, now),
        Intent::VolumeUp { .. } | Intent::VolumeDown { .. } => {
            replies::volume_changed(lang, &zone.name, done.previous_volume.unwrap_or(now), now)
        }
        Intent::Mute => replies::muted(lang, &zone.name),
        Intent::Pause => replies::paused(lang, &zone.name),
        Intent::Skip => replies::skipped(lang, &zone.name),
        Intent::ChangePlaylist { .. } => {
            let changed = replies::playlist_changed(lang, &zone.name, &playlist);
            match &mood {
                Some(m) => format!("{} {changed}", if lang == Lang::Th { m.th } else { m.en }),
                None => changed,
            }
        }
        _ => replies::music_restarted(lang, &zone.name),
    })
}

/// What the control service refused or could not do, told to the venue.
async fn failed(ctx: &AppContext, e: Error, zone: &Zone, venue: Option<Uuid>, lang: Lang) -> Decision {
    if control::is_offline(&e) {
        return offline(ctx, zone, venue, lang).await;
    }
    if let Error::Forbidden(_) = e {
        return Decision::HandOver(replies::not_allowed(lang), "the control service refused the sender");
    }
    tracing::warn!(error = %e, "bot action failed");
    Decision::HandOver(replies::handover(lang), "the action on the player failed")
}

/// An offline player: said plainly, an alert opened, and a person brought in.
async fn offline(ctx: &AppContext, zone: &Zone, venue: Option<Uuid>, lang: Lang) -> Decision {
    let now = time::OffsetDateTime::now_utc();
    let message = format!("{} is offline (reported by the venue through the bot)", zone.name);
    match crate::monitoring::report_offline(&ctx.db, zone.id, venue, &message, now).await {
        Ok(opened) if opened.is_some() => crate::cache::bump_after_write(ctx, &[crate::cache::ALERTS]).await,
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "could not open the alert for an offline zone"),
    }
    Decision::HandOver(replies::zone_offline(lang, &zone.name), "the player is offline")
}
