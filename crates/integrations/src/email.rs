//! Outbound email over SMTP (invitations, alerts, replies to venues). Every message carries its
//! own Message-ID so that replies can be threaded by headers, not subjects.

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The Message-ID to carry, fixed by the caller so a thread can be joined before it is
    /// sent; a fresh one when `None`.
    pub message_id: Option<String>,
    /// An HTML alternative to `text` (multipart/alternative); text only when `None`.
    pub html: Option<String>,
    /// `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub unsubscribe: Option<ListUnsubscribe>,
}

/// Where a recipient unsubscribes: an HTTPS URL that takes the one-click POST, and a mailto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe {
    pub url: String,
    pub mailto: String,
}

/// A header lettre has no type for, carried as written.
#[derive(Debug, Clone)]
struct RawHeader<const N: usize>(String);

const LIST_UNSUBSCRIBE: usize = 0;
const LIST_UNSUBSCRIBE_POST: usize = 1;

impl<const N: usize> lettre::message::header::Header for RawHeader<N> {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str(if N == LIST_UNSUBSCRIBE {
            "List-Unsubscribe"
        } else {
            "List-Unsubscribe-Post"
        })
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email is not configured (set SMTP_HOST)")]
    NotConfigured,
    #[error("invalid address: {0}")]
    Address(String),
    #[error("building the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email and returns the Message-ID it carried.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text, for a relay on loopback only.
    None,
    StartTls,
    Tls,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub security: SmtpSecurity,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> Result<Self, MailError> {
        let from: Mailbox =
            s.from.parse().map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let tls = |h: &str| TlsParameters::new(h.to_owned()).map_err(|e| MailError::Smtp(e.to_string()));
        let mut b =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).port(s.port).tls(match s.security {
                SmtpSecurity::None => Tls::None,
                SmtpSecurity::StartTls => Tls::Required(tls(&s.host)?),
                SmtpSecurity::Tls => Tls::Wrapper(tls(&s.host)?),
            });
        if let (Some(u), Some(p)) = (&s.user, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        b = b.timeout(Some(std::time::Duration::from_secs(20)));
        let domain = from.email.domain().to_owned();
        Ok(Self { transport: b.build(), from, domain })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let to: Mailbox =
            email.to.parse().map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let message_id =
            email.message_id.clone().unwrap_or_else(|| format!("<{}@{}>", uuid::Uuid::now_v7(), self.domain));
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(message_id.clone()));
        if let Some(r) = &email.in_reply_to {
            b = b.in_reply_to(r.clone());
        }
        if !email.references.is_empty() {
            b = b.references(email.references.join(" "));
        }
        if let Some(u) = &email.unsubscribe {
            b = b.header(RawHeader::<LIST_UNSUBSCRIBE>(format!("<{}>, <{}>", u.url, u.mailto))).header(RawHeader::<
                LIST_UNSUBSCRIBE_POST,
            >(
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        let msg = match &email.html {
            Some(html) => {
                b.multipart(lettre::message::MultiPart::alternative_plain_html(email.text.clone(), html.clone()))
            }
            None => b.header(ContentType::TEXT_PLAIN).body(email.text.clone()),
        }
        .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport.send(msg).await.map_err(|e| MailError::Smtp(e.to_string()))?;
        Ok(message_id)
    }
}

/// Used where no SMTP server is configured: every send fails with a clear error, so jobs retry
/// and end in the dead-letter list rather than pretending to deliver.
pub struct Unconfigured;

#[async_trait]
impl Mailer for Unconfigured {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, MailError> {
        Err(MailError::NotConfigured)
    }
}
