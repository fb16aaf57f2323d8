//! Unsubscribe links in campaign emails: a token naming the contact and the kind of campaign,
//! signed with HMAC-SHA-256 under a key derived from DATA_ENCRYPTION_KEY, so a link cannot be
//! forged or turned to another contact or kind. `{payload}.{tag}`, both base64url: the payload is
//! the contact's id and the kind; the tag its first 16 bytes of HMAC.

use super::secretbox::DataKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bma_domain::campaign::CampaignType;
use uuid::Uuid;

const PURPOSE: &[u8] = b"bma-social campaign unsubscribe v1";
const TAG_LEN: usize = 16;

fn kind_byte(kind: CampaignType) -> u8 {
    match kind {
        CampaignType::Marketing => b'm',
        CampaignType::Service => b's',
        CampaignType::Holiday => b'h',
    }
}

fn kind_of(b: u8) -> Option<CampaignType> {
    [CampaignType::Marketing, CampaignType::Service, CampaignType::Holiday].into_iter().find(|k| kind_byte(*k) == b)
}

/// The token for `contact` unsubscribing from campaigns of `kind`.
pub fn token(key: &DataKey, contact: Uuid, kind: CampaignType) -> String {
    let mut payload = contact.as_bytes().to_vec();
    payload.push(kind_byte(kind));
    let tag = ring::hmac::sign(&key.hmac_for(PURPOSE), &payload);
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_LEN]))
}

/// The contact and kind a token names, when it is one of ours; `None` for anything else.
pub fn verify(key: &DataKey, token: &str) -> Option<(Uuid, CampaignType)> {
    let (payload, tag) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if payload.len() != 17 || tag.len() != TAG_LEN {
        return None;
    }
    let full = ring::hmac::sign(&key.hmac_for(PURPOSE), &payload);
    if !constant_eq(&full.as_ref()[..TAG_LEN], &tag) {
        return None;
    }
    let contact = Uuid::from_slice(&payload[..16]).ok()?;
    Some((contact, kind_of(payload[16])?))
}

/// Compares in time independent of where the bytes differ.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_contact_and_kind_and_a_changed_or_foreign_one_is_refused() {
        let key = DataKey([3; 32]);
        let contact = Uuid::now_v7();
        let t = token(&key, contact, CampaignType::Marketing);
        assert_eq!(verify(&key, &t), Some((contact, CampaignType::Marketing)));
        assert_eq!(verify(&DataKey([4; 32]), &t), None, "another key's token");
        let (payload, tag) = t.split_once('.').expect("two parts");
        let mut raw = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        raw[16] = b's';
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&raw));
        assert_eq!(verify(&key, &forged), None, "the kind changed");
        for bad in ["", "x", "a.b", &t[..t.len() - 2]] {
            assert_eq!(verify(&key, bad), None, "{bad:?}");
        }
    }
}
