//! Soundtrack's opaque ids and Relay cursors, minted the way the live API's look when decoded:
//! base64 of a path such as `SoundZone,,<id>/Location,,<id>/Account,,<id>/`, with `.` in place of
//! the `=` padding. Cursors are Absinthe's `arrayconnection:<offset>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub(crate) fn encode(path: &str) -> String {
    STANDARD.encode(path).replace('=', ".")
}

/// The decoded path of an id, or `None` when it is not one of ours in shape.
pub(crate) fn decode(id: &str) -> Option<String> {
    let bytes = STANDARD.decode(id.replace('.', "=")).ok()?;
    String::from_utf8(bytes).ok()
}

/// The kind and raw id of the first segment of a decoded path (`Playlist,,abc/` → `("Playlist",
/// "abc")`).
pub(crate) fn kind_of(id: &str) -> Option<(String, String)> {
    let path = decode(id)?;
    let first = path.split('/').next()?;
    let (kind, raw) = first.split_once(",,")?;
    if kind.is_empty() || raw.is_empty() || !path.ends_with('/') {
        return None;
    }
    Some((kind.to_owned(), raw.to_owned()))
}

/// The canonical spelling of an id a client sent (some send `=` padding instead of `.`).
pub(crate) fn canonical(id: &str) -> String {
    decode(id).map_or_else(|| id.to_owned(), |path| encode(&path))
}

pub(crate) fn account(raw: &str) -> String {
    encode(&format!("Account,,{raw}/"))
}

pub(crate) fn location(raw: &str, account: &str) -> String {
    encode(&format!("Location,,{raw}/Account,,{account}/"))
}

pub(crate) fn sound_zone(raw: &str, location: &str, account: &str) -> String {
    encode(&format!("SoundZone,,{raw}/Location,,{location}/Account,,{account}/"))
}

pub(crate) fn simple(kind: &str, raw: &str) -> String {
    encode(&format!("{kind},,{raw}/"))
}

pub(crate) fn cursor(offset: usize) -> String {
    STANDARD.encode(format!("arrayconnection:{offset}"))
}

pub(crate) fn parse_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD.decode(cursor.replace('.', "=")).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("arrayconnection:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_decode_to_the_documented_paths() {
        assert_eq!(account("18tqrso2i2o"), "QWNjb3VudCwsMTh0cXJzbzJpMm8v");
        let zone = sound_zone("z1", "l1", "a1");
        assert_eq!(decode(&zone).as_deref(), Some("SoundZone,,z1/Location,,l1/Account,,a1/"));
        assert_eq!(kind_of(&zone), Some(("SoundZone".to_owned(), "z1".to_owned())));
        assert_eq!(kind_of("not an id"), None);
        assert_eq!(parse_cursor(&cursor(41)), Some(41));
    }
}
