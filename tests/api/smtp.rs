//! A real SMTP server for the mail tests (mailin-embedded: the protocol, in this process), and
//! readers of what it received: the mails to an address, their decoded text, their links.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

use crate::helpers::EVENT_DEADLINE;

#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope's recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as it came, headers and body.
    pub raw: String,
}

impl Received {
    /// The header lines (before the first blank line), unfolded.
    pub fn headers(&self) -> Vec<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        head.replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers()
            .into_iter()
            .find(|h| h.to_ascii_lowercase().starts_with(&prefix))
            .map(|h| h[prefix.len()..].trim().to_owned())
    }

    /// The body with quoted-printable soft breaks and escapes undone.
    pub fn text(&self) -> String {
        let body = self.raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The first link in the text that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.text();
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in {text}"));
        text[start..]
            .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Clone)]
struct Collect {
    to: Vec<String>,
    data: Vec<u8>,
    sink: Arc<Mutex<Vec<Received>>>,
}

impl Handler for Collect {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.sink.lock().unwrap().push(Received {
            to: std::mem::take(&mut self.to),
            raw: String::from_utf8_lossy(&self.data).into_owned(),
        });
        response::OK
    }
}

/// An SMTP server on 127.0.0.1 (plain, as a local relay: `?tls=none`) and what it received.
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// A port nothing listens on yet (a server down), for `start_on` later.
    pub fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    pub fn start_on(port: u16) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = Collect {
            to: Vec::new(),
            data: Vec::new(),
            sink: received.clone(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("mail.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        // Blocking I/O on threads of its own; it lives as long as the test process.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, received }
    }

    /// `AGORA_EMAIL_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none&timeout=5", self.port)
    }

    /// Every mail received so far whose envelope names `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for the `n`th mail (from 1) to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str, n: usize) -> Received {
        let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
        loop {
            let found: Vec<Received> = self
                .to(to)
                .into_iter()
                .filter(|m| m.header("subject").is_some_and(|s| s.contains(subject)))
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no mail {subject:?} to {to} (have {:?})",
                self.to(to)
                    .iter()
                    .map(|m| m.header("subject"))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
