//! The LLM fallback: when the rules cannot read a message and CLAUDE_API_KEY is set, Claude gets
//! the message with a few tools (zone status, volume, skip, hand over) — control tools only for
//! known staff, and each tool goes through the same control service as the API and the bot's
//! rules — bounded turns and time. Any error is a polite handover.

use super::{Decision, Zone};
use crate::AppContext;
use crate::services::Actor;
use crate::services::control::{self, Action};
use bma_domain::bot::{Lang, replies};
use bma_integrations::claude::{MessagesRequest, ToolDef, Turn, run_tools};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const MAX_TURNS: u32 = 4;

fn tools(staff: bool) -> Vec<ToolDef> {
    let zone = json!({"type": "string", "description": "the zone's name as the venue calls it"});
    let mut t = vec![ToolDef {
        name: "hand_over".into(),
        description: "Hand the conversation to a person of the support team.".into(),
        input_schema: json!({"type": "object", "properties": {"reason": {"type": "string"}}}),
    }];
    if staff {
        t.push(ToolDef {
            name: "zone_status".into(),
            description: "Whether each zone of the venue is playing.".into(),
            input_schema: json!({"type": "object", "properties": {"zone": zone}}),
        });
        t.push(ToolDef {
            name: "set_volume".into(),
            description: "Set a zone's volume, 0 (mute) to 16.".into(),
            input_schema: json!({"type": "object", "properties": {"zone": zone, "level": {"type": "integer", "minimum": 0, "maximum": 16}}, "required": ["zone", "level"]}),
        });
        t.push(ToolDef {
            name: "skip_track".into(),
            description: "Skip to the next track in a zone.".into(),
            input_schema: json!({"type": "object", "properties": {"zone": zone}, "required": ["zone"]}),
        });
    }
    t
}

fn find<'a>(zones: &'a [Zone], input: &Value) -> Option<&'a Zone> {
    let name = input.get("zone").and_then(Value::as_str).unwrap_or_default().to_lowercase();
    zones
        .iter()
        .find(|z| z.name.to_lowercase() == name)
        .or_else(|| zones.iter().find(|z| !name.is_empty() && z.name.to_lowercase().contains(&name)))
        .or_else(|| (zones.len() == 1).then(|| &zones[0]))
}

/// `None` when no LLM is configured; otherwise what the bot should do.
pub(crate) async fn fallback(
    ctx: &AppContext,
    text: &str,
    zones: &[Zone],
    asker: Option<&Actor>,
    lang: Lang,
) -> Option<Decision> {
    let client = ctx.claude.as_ref()?;
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    let req = MessagesRequest {
        system: Some(format!(
            "You help staff of a venue with its background music (Soundtrack Your Brand players). Zones: {}. \
             Answer briefly in the venue's language. Use the tools to act; hand over to a person when unsure.",
            names.join(", ")
        )),
        messages: vec![Turn::user(text)],
        tools: tools(asker.is_some()),
        tool_choice: None,
    };
    let handed = Arc::new(AtomicBool::new(false));
    let zones_owned: Vec<Zone> = zones.to_vec();
    let flag = handed.clone();
    let (ctx_owned, asker_owned) = (ctx.clone(), asker.cloned());
    let call = move |name: String, input: Value| {
        let zones = zones_owned.clone();
        let flag = flag.clone();
        let (ctx, asker) = (ctx_owned.clone(), asker_owned.clone());
        async move {
            if name == "hand_over" {
                flag.store(true, Ordering::SeqCst);
                return Ok("A person will take over.".to_owned());
            }
            let asker = asker.ok_or("not allowed")?;
            if name == "zone_status" {
                let mut out = Vec::new();
                for z in &zones {
                    let state = match control::status(&ctx, &asker, z.id).await {
                        Ok(s) => s.playback_state.unwrap_or_default(),
                        Err(e) => e.to_string(),
                    };
                    out.push(format!("{}: {state}", z.name));
                }
                return Ok(out.join("; "));
            }
            let zone = find(&zones, &input).ok_or("no such zone")?;
            let action = match name.as_str() {
                "set_volume" => {
                    let level = input.get("level").and_then(Value::as_i64).ok_or("level missing")?;
                    Action::Volume(
                        bma_domain::music::Volume::new(level).map_err(|_| "level must be 0 to 16".to_owned())?,
                    )
                }
                "skip_track" => Action::Skip,
                other => return Err(format!("unknown tool {other}")),
            };
            control::control(&ctx, &asker, zone.id, action).await.map(|done| done.message).map_err(|e| e.to_string())
        }
    };
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(20), run_tools(client, &req, MAX_TURNS, call)).await;
    match answer {
        Ok(Ok((response, _calls))) => {
            let text = response.text();
            if handed.load(Ordering::SeqCst) {
                return Some(Decision::HandOver(replies::handover(lang), "the assistant handed over"));
            }
            if text.trim().is_empty() {
                return Some(Decision::HandOver(replies::handover(lang), "the assistant gave no answer"));
            }
            Some(Decision::Say(crate::messaging::outbound::OutboundBody::Text { text }))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "LLM fallback failed; handing over");
            Some(Decision::HandOver(replies::handover(lang), "the assistant failed"))
        }
        Err(_) => Some(Decision::HandOver(replies::handover(lang), "the assistant took too long")),
    }
}
