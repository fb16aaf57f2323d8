//! An SMTP sink: speaks enough of RFC 5321 for a real client (EHLO, AUTH PLAIN, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT), keeps every accepted message in memory and answers errors as a server would.

use base64::Engine as _;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body) as sent, dot-unstuffed.
    pub data: String,
}

impl ReceivedMail {
    /// The value of the first header with this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = out.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_owned());
            }
        }
        out
    }

    /// The body after the headers, with quoted-printable soft breaks undone.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.replace("=\r\n", "").replace("=3D", "=")
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 (`port` 0 picks a free one). With `credentials`, AUTH PLAIN
    /// is required and checked.
    pub async fn start(port: u16, credentials: Option<(String, String)>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let creds = Arc::new(credentials);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let store = store.clone();
                let creds = creds.clone();
                tokio::spawn(async move {
                    if let Err(e) = session(sock, store, creds).await {
                        tracing::debug!(error = %e, "smtp sink session ended");
                    }
                });
            }
        });
        Ok(Self { port, messages })
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    creds: Arc<Option<(String, String)>>,
) -> anyhow::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 fake-smtp.local ESMTP ready\r\n").await?;
    let (mut from, mut to, mut authed) = (None::<String>, Vec::<String>::new(), creds.is_none());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            if creds.is_some() {
                b"250-fake-smtp.local\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN\r\n"
            } else {
                b"250-fake-smtp.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            }
        } else if upper.starts_with("HELO") {
            b"250 fake-smtp.local\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            let given = cmd.get(11..).unwrap_or("").trim();
            let decoded = base64::engine::general_purpose::STANDARD.decode(given).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let ok = match (creds.as_ref(), parts.as_slice()) {
                (Some((u, p)), [_, gu, gp]) => *gu == u.as_bytes() && *gp == p.as_bytes(),
                _ => false,
            };
            authed = ok;
            if ok {
                b"235 2.7.0 Authentication successful\r\n"
            } else {
                b"535 5.7.8 Authentication credentials invalid\r\n"
            }
        } else if upper.starts_with("MAIL FROM:") {
            if authed {
                from = Some(address(&cmd[10..]));
                to.clear();
                b"250 2.1.0 OK\r\n"
            } else {
                b"530 5.7.0 Authentication required\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                b"503 5.5.1 MAIL first\r\n"
            } else {
                to.push(address(&cmd[8..]));
                b"250 2.1.5 OK\r\n"
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                b"503 5.5.1 RCPT first\r\n"
            } else {
                w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap_or_else(PoisonError::into_inner).push(ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 2.0.0 OK queued\r\n"
            }
        } else if upper == "RSET" {
            from = None;
            to.clear();
            b"250 2.0.0 OK\r\n"
        } else if upper == "NOOP" {
            b"250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        w.write_all(reply).await?;
    }
}

fn address(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or(s);
    s.trim_start_matches('<').trim_end_matches('>').to_owned()
}
