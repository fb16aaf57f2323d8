//! Asks before silencing a zone. When the rules read a pause, a mute or a large step down in a
//! message that may as well report that the music stopped ("lounge off"), the bot asks with two
//! buttons instead of acting, and the player is touched only once the venue answers: "Pause
//! Lounge" carries out the request, "No, music stopped" treats the message as music-stopped. Like
//! the "which zone?" buttons, each button carries the zone and the id of the message it answers.

use bma_domain::bot::{Intent, Lang, Understanding, replies};
use uuid::Uuid;

use super::{Decision, Zone};
use crate::messaging::outbound::{Choice, OutboundBody};

const YES: &str = "yes:";
const NO: &str = "no:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Confirmed,
    MusicStopped,
}

/// A tapped confirmation button.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reply {
    answer: Answer,
    zone: Uuid,
    request: Uuid,
}

impl Reply {
    /// Reads a tapped button id; `None` for anything that is not a confirmation.
    pub(super) fn parse(choice: Option<&str>) -> Option<Reply> {
        let c = choice?;
        let (answer, rest) = match (c.strip_prefix(YES), c.strip_prefix(NO)) {
            (Some(rest), _) => (Answer::Confirmed, rest),
            (_, Some(rest)) => (Answer::MusicStopped, rest),
            _ => return None,
        };
        let (zone, request) = rest.split_once(':')?;
        Some(Reply { answer, zone: Uuid::parse_str(zone).ok()?, request: Uuid::parse_str(request).ok()? })
    }

    /// The same answer as a "which zone?" tap, so the message it answers is read again for its
    /// zone.
    pub(super) fn as_zone_choice(&self) -> String {
        format!("zone:{}:{}", self.zone, self.request)
    }

    /// The venue answered: its request is carried out as read, or it was a report that the music
    /// stopped.
    pub(super) fn settle(&self, u: &mut Understanding) {
        u.ask_first = false;
        if self.answer == Answer::MusicStopped {
            u.intent = Intent::MusicStopped;
            u.confidence = 1.0;
        }
    }
}

/// The message a question points back at: the one a "which zone?" tap answered, else `this`.
pub(super) fn origin(choice: Option<&str>, this: Uuid) -> Uuid {
    choice
        .and_then(|c| c.strip_prefix("zone:"))
        .and_then(|r| r.split_once(':'))
        .and_then(|(_, request)| Uuid::parse_str(request).ok())
        .unwrap_or(this)
}

/// "Pause the music in Lounge?" with its two buttons; ids stay within 78 bytes like the "which
/// zone?" buttons.
pub(super) fn ask(lang: Lang, intent: &Intent, zone: &Zone, request: Uuid) -> Decision {
    let action = replies::Quieting::of(intent).unwrap_or(replies::Quieting::Pause);
    let choices = vec![
        Choice { id: format!("{YES}{}:{request}", zone.id), title: replies::yes_quieting(lang, action, &zone.name) },
        Choice { id: format!("{NO}{}:{request}", zone.id), title: replies::no_it_stopped(lang) },
    ];
    Decision::Say(OutboundBody::Choices { text: replies::ask_quieting(lang, action, &zone.name), choices })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_id_reads_back_as_its_answer_zone_and_request() {
        let zone = Zone { id: Uuid::from_u128(7), name: "Lounge".into() };
        let request = Uuid::from_u128(9);
        let Decision::Say(OutboundBody::Choices { choices, .. }) = ask(Lang::En, &Intent::Pause, &zone, request) else {
            panic!("a question with buttons");
        };
        assert_eq!(choices.len(), 2);
        assert!(choices.iter().all(|c| c.id.len() <= 78), "{choices:?}");
        let yes = Reply::parse(Some(&choices[0].id)).expect("the yes button parses");
        assert_eq!((yes.answer, yes.zone, yes.request), (Answer::Confirmed, zone.id, request));
        let no = Reply::parse(Some(&choices[1].id)).expect("the no button parses");
        assert_eq!(no.answer, Answer::MusicStopped);
        assert_eq!(no.as_zone_choice(), format!("zone:{}:{}", zone.id, request));
        assert!(Reply::parse(Some("zone:abc:def")).is_none());
        assert_eq!(origin(Some(&no.as_zone_choice()), Uuid::nil()), request);
        assert_eq!(origin(None, request), request);
    }
}
