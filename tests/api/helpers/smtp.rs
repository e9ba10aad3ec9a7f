//! A small SMTP server for the tests (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and
//! STARTTLS or implicit TLS when started with a certificate): it records what it accepts, can
//! defer every message with 451, and can go down entirely (its listener closed) and come
//! back on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed.
    pub data: String,
    /// Whether it came over TLS.
    pub secure: bool,
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

/// How the server speaks: plain, offering STARTTLS, or TLS from the first byte.
#[derive(Clone)]
pub enum Security {
    Plain,
    StartTls(TlsAcceptor),
    Implicit(TlsAcceptor),
}

pub struct SmtpServer {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    security: Security,
    accept: Option<JoinHandle<()>>,
    /// While set, every connection is closed as soon as it is made, as a server that is down.
    /// The port stays bound, so no other test's server can take it meanwhile.
    refusing: Arc<std::sync::atomic::AtomicBool>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_with(Security::Plain).await
    }

    pub async fn start_with(security: Security) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut server = Self {
            addr,
            inner: Arc::default(),
            security,
            accept: None,
            refusing: Arc::default(),
        };
        server.accept = Some(server.serve(listener));
        server
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn serve(&self, listener: TcpListener) -> JoinHandle<()> {
        let inner = self.inner.clone();
        let security = self.security.clone();
        let refusing = self.refusing.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if refusing.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                tokio::spawn(connection(stream, inner.clone(), security.clone()));
            }
        })
    }

    /// The server goes down: every connection is closed unanswered until [`SmtpServer::up`].
    pub async fn down(&mut self) {
        self.refusing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub async fn up(&mut self) {
        self.refusing
            .store(false, std::sync::atomic::Ordering::SeqCst);
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

async fn reply<S: AsyncWrite + Unpin>(w: &mut S, text: &str) -> bool {
    w.write_all(text.as_bytes()).await.is_ok() && w.flush().await.is_ok()
}

async fn connection(stream: TcpStream, inner: Arc<Mutex<Inner>>, security: Security) {
    match security {
        Security::Plain => {
            session(BufReader::new(stream), inner, Greeting::Send, false).await;
        }
        Security::Implicit(tls) => {
            if let Ok(stream) = tls.accept(stream).await {
                session(BufReader::new(stream), inner, Greeting::Send, true).await;
            }
        }
        Security::StartTls(tls) => {
            let plain = session(
                BufReader::new(stream),
                inner.clone(),
                Greeting::OfferStartTls,
                false,
            );
            if let Ended::StartTls(reader) = plain.await
                && let Ok(stream) = tls.accept(reader.into_inner()).await
            {
                session(BufReader::new(stream), inner, Greeting::AfterStartTls, true).await;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Greeting {
    Send,
    /// Send the greeting and offer STARTTLS; nothing is accepted before it.
    OfferStartTls,
    /// The client has just upgraded: no second greeting.
    AfterStartTls,
}

enum Ended<S> {
    Closed,
    StartTls(BufReader<S>),
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: BufReader<S>,
    inner: Arc<Mutex<Inner>>,
    greeting: Greeting,
    secure: bool,
) -> Ended<S> {
    if greeting != Greeting::AfterStartTls && !reply(&mut stream, "220 smtp.test ESMTP\r\n").await {
        return Ended::Closed;
    }
    let offer_starttls = greeting == Greeting::OfferStartTls;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return Ended::Closed,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            if offer_starttls {
                "250-smtp.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            } else {
                "250-smtp.test\r\n250 8BITMIME\r\n"
            }
        } else if upper.starts_with("HELO") {
            "250 smtp.test\r\n"
        } else if upper == "STARTTLS" && offer_starttls {
            if !reply(&mut stream, "220 2.0.0 Ready to start TLS\r\n").await {
                return Ended::Closed;
            }
            return Ended::StartTls(stream);
        } else if offer_starttls && !upper.starts_with("QUIT") && !upper.starts_with("NOOP") {
            "530 5.7.0 Must issue a STARTTLS command first\r\n"
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
            if !reply(&mut stream, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                return Ended::Closed;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                match stream.read_line(&mut l).await {
                    Ok(0) | Err(_) => return Ended::Closed,
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
                secure,
            });
            "250 2.0.0 Queued\r\n"
        } else if upper == "RSET" {
            to.clear();
            "250 2.0.0 OK\r\n"
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            let _ = reply(&mut stream, "221 2.0.0 Bye\r\n").await;
            return Ended::Closed;
        } else {
            "502 5.5.2 Command not recognised\r\n"
        };
        if !reply(&mut stream, answer).await {
            return Ended::Closed;
        }
    }
}

/// A certificate authority made for one test, and a certificate it issued for 127.0.0.1 and
/// localhost, ready for a TLS server.
pub struct TestCertificates {
    /// The authority's certificate, PEM: what the service must trust.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

impl TestCertificates {
    pub fn generate() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        use tokio_rustls::rustls::ServerConfig;
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "MHTR Pathway test mail CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server parameters")
            .signed_by(&key, &*ca)
            .expect("server certificate");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server TLS configuration");
        Self {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}
