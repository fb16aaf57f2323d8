//! Password hashing with bcrypt, off the async runtime (it is deliberately slow).

use bma_domain::member::Password;

pub async fn hash(password: &Password, cost: u32) -> anyhow::Result<String> {
    let p = password.expose().to_owned();
    Ok(tokio::task::spawn_blocking(move || bcrypt::non_truncating_hash(p, cost)).await??)
}

/// Checks `candidate` against `hash`. With no hash (unknown member, invitation not accepted) a
/// dummy hash is checked instead, so that timing does not reveal which emails exist.
pub async fn verify(candidate: &str, hash: Option<&str>, dummy: &str) -> bool {
    let c = candidate.to_owned();
    let known = hash.is_some();
    let h = hash.unwrap_or(dummy).to_owned();
    let ok = tokio::task::spawn_blocking(move || bcrypt::verify(c, &h).unwrap_or(false)).await.unwrap_or(false);
    ok && known
}

/// A hash of a random string, made once at start-up, to check against when there is no hash.
pub fn make_dummy_hash(cost: u32) -> String {
    bcrypt::hash(crate::security::tokens::random_token(), cost).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_longest_password_allowed_hashes_and_verifies() {
        let longest = "é".repeat(35) + "x";
        assert_eq!(longest.len(), Password::MAX_BYTES);
        let password = Password::parse(&longest).expect("the longest allowed password parses");
        let hashed = hash(&password, 4).await.expect("bcrypt takes every byte we allow");
        assert!(verify(&longest, Some(&hashed), &make_dummy_hash(4)).await);
    }
}
