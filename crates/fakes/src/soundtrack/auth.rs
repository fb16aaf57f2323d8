//! Who is calling: the API client (HTTP Basic with `base64(client_id:client_secret)`, sees every
//! account) or a user signed in with `loginUser` (Bearer token for an hour on the fake's clock,
//! refreshed with `refreshLogin`, whose refresh token is single-use and rotates).

use super::fleet::Fleet;
use super::ids;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

pub(crate) const TOKEN_LIFETIME: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Principal {
    ApiClient,
    User(usize),
    /// No credentials: only `loginUser` and `refreshLogin` are allowed.
    Anonymous,
}

impl Principal {
    pub(crate) fn bucket_key(self) -> String {
        match self {
            Principal::ApiClient => "client".to_owned(),
            Principal::User(u) => format!("user:{u}"),
            Principal::Anonymous => "anonymous".to_owned(),
        }
    }
}

pub(crate) struct UserRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub password: String,
    /// Indices of the accounts the user belongs to.
    pub accounts: Vec<usize>,
}

pub(crate) struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub client_node_id: String,
    pub users: Vec<UserRecord>,
}

impl Credentials {
    /// One API client over the whole fleet and one user who belongs to the first half of it (at
    /// least one account), so that `Forbidden` can be seen.
    pub(crate) fn generate(seed: u64, fleet: &Fleet) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xc0ff_ee00);
        let word = |rng: &mut StdRng, len: usize| -> String {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            (0..len).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
        };
        let half = fleet.accounts.len().div_ceil(2);
        Self {
            client_id: format!("bma-social-{}", word(&mut rng, 10)),
            client_secret: word(&mut rng, 40),
            client_node_id: ids::simple("PublicAPIClient", &word(&mut rng, 12).to_lowercase()),
            users: vec![UserRecord {
                id: ids::simple("User", &word(&mut rng, 12).to_lowercase()),
                name: "Ops Desk".to_owned(),
                email: "ops@bmasia.example".to_owned(),
                password: format!("demo-{}", word(&mut rng, 12)),
                accounts: (0..half).collect(),
            }],
        }
    }

    pub(crate) fn basic_token(&self) -> String {
        STANDARD.encode(format!("{}:{}", self.client_id, self.client_secret))
    }

    pub(crate) fn can_see(&self, principal: Principal, account: usize) -> bool {
        match principal {
            Principal::ApiClient => true,
            Principal::User(u) => self.users.get(u).is_some_and(|u| u.accounts.contains(&account)),
            Principal::Anonymous => false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    access: HashMap<String, (usize, OffsetDateTime)>,
    refresh: HashMap<String, usize>,
}

pub(crate) struct Issued {
    pub token: String,
    pub refresh_token: String,
    pub expires_at: OffsetDateTime,
}

impl Sessions {
    pub(crate) fn issue(&mut self, user: usize, now: OffsetDateTime) -> Issued {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let refresh_token = uuid::Uuid::new_v4().simple().to_string();
        let expires_at = now + TOKEN_LIFETIME;
        self.access.insert(token.clone(), (user, expires_at));
        self.refresh.insert(refresh_token.clone(), user);
        Issued { token, refresh_token, expires_at }
    }

    /// Spends a refresh token for a new pair; a spent or unknown one gives `None`.
    pub(crate) fn rotate(&mut self, refresh_token: &str, now: OffsetDateTime) -> Option<Issued> {
        let user = self.refresh.remove(refresh_token)?;
        Some(self.issue(user, now))
    }
}

/// The caller named by an `Authorization` header; `Err` when the header is there but wrong (the
/// server answers 401), `Anonymous` when it is absent.
pub(crate) fn authenticate(
    header: Option<&str>,
    creds: &Credentials,
    sessions: &Sessions,
    now: OffsetDateTime,
) -> Result<Principal, ()> {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Principal::Anonymous);
    };
    let (scheme, value) = header.split_once(' ').ok_or(())?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(value).map_err(|_| ())?;
        let expected = format!("{}:{}", creds.client_id, creds.client_secret);
        return if decoded == expected.as_bytes() { Ok(Principal::ApiClient) } else { Err(()) };
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return match sessions.access.get(value) {
            Some(&(user, expires_at)) if now < expires_at => Ok(Principal::User(user)),
            _ => Err(()),
        };
    }
    Err(())
}
