//! A small SMTP server for the tests (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, no
//! TLS): it records what it accepts, can defer every message with 451, and can go down
//! entirely (its listener closed) and come back on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed.
    pub data: String,
}

impl Received {
    pub fn message_id(&self) -> String {
        self.header("Message-ID")
            .expect("every message has a Message-ID")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .split("\r\n")
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The whole message with quoted-printable soft breaks and escapes undone, so tests can
    /// search the text and HTML bodies.
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
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
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    defer: bool,
}

pub struct SmtpServer {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut server = Self {
            addr,
            inner: Arc::default(),
            accept: None,
        };
        server.accept = Some(server.serve(listener));
        server
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn serve(&self, listener: TcpListener) -> JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, inner.clone()));
            }
        })
    }

    /// Closes the listener: connections are refused until [`SmtpServer::up`].
    pub async fn down(&mut self) {
        if let Some(task) = self.accept.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn up(&mut self) {
        if self.accept.is_none() {
            let listener = TcpListener::bind(self.addr).await.expect("rebind the port");
            self.accept = Some(self.serve(listener));
        }
    }

    /// Answer MAIL FROM with 451 (try again later) while set.
    pub fn defer_everything(&self, defer: bool) {
        self.inner.lock().unwrap().defer = defer;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn received_by(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.accept.take() {
            task.abort();
        }
    }
}

fn argument(line: &str) -> String {
    line.split_once(':')
        .map(|(_, a)| a.trim().trim_start_matches('<'))
        .and_then(|a| a.split('>').next())
        .unwrap_or_default()
        .to_owned()
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    w.write_all(text.as_bytes()).await.is_ok()
}

async fn session(stream: TcpStream, inner: Arc<Mutex<Inner>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    if !reply(&mut write, "220 smtp.test ESMTP\r\n").await {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-smtp.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            "250 smtp.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if inner.lock().unwrap().defer {
                "451 4.3.0 Try again later\r\n"
            } else {
                from = argument(&line);
                to.clear();
                "250 2.1.0 OK\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(argument(&line));
            "250 2.1.5 OK\r\n"
        } else if upper == "DATA" {
            if !reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                return;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                match reader.read_line(&mut l).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            inner.lock().unwrap().received.push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            "250 2.0.0 Queued\r\n"
        } else if upper == "RSET" {
            to.clear();
            "250 2.0.0 OK\r\n"
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            let _ = reply(&mut write, "221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Command not recognised\r\n"
        };
        if !reply(&mut write, answer).await {
            return;
        }
    }
}
