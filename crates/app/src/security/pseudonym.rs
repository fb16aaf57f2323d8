//! Stable pseudonyms for venue contacts in analytics and their exports: a keyed hash
//! (HMAC-SHA-256 under a key derived from DATA_ENCRYPTION_KEY) of the contact's id, so a contact
//! reads the same in every report while nobody without the key can tell who it is.

use super::secretbox::DataKey;
use ring::hmac;
use std::fmt::Write as _;
use uuid::Uuid;

/// The pseudonym of `contact`: `contact-` and 16 hex digits.
pub fn contact(key: &DataKey, contact: Uuid) -> String {
    let tag = hmac::sign(&key.hmac_for(b"bma-social analytics contact pseudonym v1"), contact.as_bytes());
    tag.as_ref().iter().take(8).fold(String::from("contact-"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_keeps_its_pseudonym_under_one_key_and_not_under_another() {
        let id = Uuid::now_v7();
        let (a, b) = (DataKey([7; 32]), DataKey([8; 32]));
        let p = contact(&a, id);
        assert_eq!(p, contact(&a, id));
        assert_eq!(p.len(), "contact-".len() + 16);
        assert_ne!(p, contact(&b, id));
        assert_ne!(p, contact(&a, Uuid::now_v7()));
        assert!(!p.contains(&id.simple().to_string()[..8]));
    }
}
