//! TLS on the server's listeners, from PEM files that are reloaded without a restart: the
//! certificate chain, its key and, for mutual TLS, the CAs a client's certificate must chain
//! to. Every listener (gRPC, metrics, any HTTP port to come) accepts through one [`ServerTls`],
//! saying which application protocol it speaks ([`Protocol`]).
//!
//! A reload reads the files again. When one changed and together they still load (a chain, a
//! key that matches it, a readable CA), the next handshakes use them; open connections keep
//! what they began with. A set that does not load (a certificate whose new key is not written
//! yet) is reported and the previous set kept, and the next reload tries again.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use crate::config::TlsConfig;

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Rejected {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("[tls] client_ca {path}: {source}")]
    ClientCa {
        path: PathBuf,
        source: rustls::server::VerifierBuilderError,
    },
}

/// The application protocol a listener speaks, agreed in the handshake (ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC: HTTP/2.
    Grpc,
    /// HTTP/1.1 (the metrics endpoint).
    Http1,
}

/// How long a client has to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake is done and that the server has not taken yet.
const READY_CONNECTIONS: usize = 64;

/// The server side of TLS, shared by every listener, with the files reloaded on demand.
pub struct ServerTls {
    config: TlsConfig,
    loaded: ArcSwap<Loaded>,
}

/// One set of files that loads, and the server configurations made of it.
struct Loaded {
    files: Files,
    grpc: Arc<ServerConfig>,
    http1: Arc<ServerConfig>,
}

/// The files' bytes, to tell whether one changed.
#[derive(PartialEq, Eq)]
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl ServerTls {
    /// Loads the files `config` names.
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let loaded = Loaded::new(config, Files::read(config)?)?;
        Ok(Arc::new(Self {
            config: config.clone(),
            loaded: ArcSwap::from_pointee(loaded),
        }))
    }

    /// Whether callers must present a certificate (mutual TLS).
    pub fn requires_client_certificates(&self) -> bool {
        self.config.client_ca.is_some()
    }

    /// Reads the files again and, when one changed, serves the new set from the next handshake
    /// on; `Ok(false)` when none changed. On an error the previous set stays.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let files = Files::read(&self.config)?;
        if files == self.loaded.load().files {
            return Ok(false);
        }
        self.loaded
            .store(Arc::new(Loaded::new(&self.config, files)?));
        Ok(true)
    }

    /// [`ServerTls::reload`], with the outcome logged.
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(true) => tracing::info!(cert = %self.config.cert.display(), "TLS files reloaded"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "TLS files not reloaded; serving the previous ones")
            }
        }
    }

    /// Checks the files for a change every `every`, until the returned task is aborted.
    pub fn keep_reloading(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let tls = Arc::clone(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                tls.reload_and_log();
            }
        })
    }

    /// Completes the server's side of the handshake on `stream`.
    pub async fn accept(
        &self,
        protocol: Protocol,
        stream: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        let config = self.loaded.load().config(protocol);
        let handshake = tokio_rustls::TlsAcceptor::from(config).accept(stream);
        tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the TLS handshake timed out"))?
    }

    /// The TLS connections of `listener`, each once its handshake is done. Handshakes run side
    /// by side, so a slow or silent client holds no one up; one that fails (plaintext, a
    /// certificate refused) is logged at debug level and dropped. The listener closes when the
    /// stream is dropped.
    pub fn incoming(
        self: Arc<Self>,
        listener: TcpListener,
        protocol: Protocol,
    ) -> ReceiverStream<io::Result<TlsStream<TcpStream>>> {
        let (ready, receiver) = mpsc::channel(READY_CONNECTIONS);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = ready.closed() => return,
                    accepted = listener.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, say: give the system a moment.
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let tls = Arc::clone(&self);
                let ready = ready.clone();
                tokio::spawn(async move {
                    match tls.accept(protocol, stream).await {
                        Ok(stream) => {
                            let _ = ready.send(Ok(stream)).await;
                        }
                        Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    }
                });
            }
        });
        ReceiverStream::new(receiver)
    }
}

impl Files {
    fn read(config: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(&config.cert)?,
            key: read(&config.key)?,
            client_ca: config.client_ca.as_deref().map(read).transpose()?,
        })
    }
}

/// The bytes of the file at `path`.
fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl Loaded {
    fn new(config: &TlsConfig, files: Files) -> Result<Self, TlsError> {
        let provider = Arc::new(ring::default_provider());
        let chain = certificates(&config.cert, &files.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&files.key).map_err(|error| TlsError::Pem {
            path: config.key.clone(),
            message: format!("no private key read: {error}"),
        })?;
        let verifier = match (&config.client_ca, &files.client_ca) {
            (Some(path), Some(pem)) => Some(client_verifier(path, pem, &provider)?),
            _ => None,
        };
        let make = |alpn: &[&[u8]]| -> Result<Arc<ServerConfig>, TlsError> {
            let rejected = |source| TlsError::Rejected {
                path: config.cert.clone(),
                source,
            };
            let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .map_err(rejected)?;
            let builder = match &verifier {
                Some(verifier) => builder.with_client_cert_verifier(Arc::clone(verifier)),
                None => builder.with_no_client_auth(),
            };
            let mut server = builder
                .with_single_cert(chain.clone(), key.clone_key())
                .map_err(rejected)?;
            server.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
            Ok(Arc::new(server))
        };
        Ok(Self {
            grpc: make(&[b"h2"])?,
            http1: make(&[b"http/1.1"])?,
            files,
        })
    }

    fn config(&self, protocol: Protocol) -> Arc<ServerConfig> {
        Arc::clone(match protocol {
            Protocol::Grpc => &self.grpc,
            Protocol::Http1 => &self.http1,
        })
    }
}

/// The certificates of a PEM file, at least one.
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |message: String| TlsError::Pem {
        path: path.to_path_buf(),
        message,
    };
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(format!("not PEM certificates: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid(
            "holds no certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(certificates)
}

/// The verifier of client certificates chaining to the CAs in `pem`.
fn client_verifier(
    path: &Path,
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path, pem)? {
        roots
            .add(certificate)
            .map_err(|source| TlsError::Rejected {
                path: path.to_path_buf(),
                source,
            })?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|source| TlsError::ClientCa {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for localhost and its key, in PEM.
    fn self_signed() -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    fn config(dir: &Path) -> TlsConfig {
        TlsConfig {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: None,
            reload_seconds: 10,
        }
    }

    fn write(config: &TlsConfig, (cert, key): &(String, String)) {
        std::fs::write(&config.cert, cert).unwrap();
        std::fs::write(&config.key, key).unwrap();
    }

    fn error(config: &TlsConfig) -> String {
        match ServerTls::load(config) {
            Ok(_) => panic!("{config:?} loaded"),
            Err(error) => error.to_string(),
        }
    }

    /// Files that do not load are refused naming the file and what is wrong with it.
    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        assert!(
            error(&config).starts_with("cannot read "),
            "{}",
            error(&config)
        );
        let (cert, key) = self_signed();
        write(&config, &("not a certificate".to_owned(), key.clone()));
        let no_cert = error(&config);
        assert!(
            no_cert.contains("server.pem: holds no certificate"),
            "{no_cert}"
        );
        write(&config, &(cert.clone(), cert.clone()));
        let no_key = error(&config);
        assert!(no_key.contains("server.key: no private key"), "{no_key}");
        let (_, other_key) = self_signed();
        write(&config, &(cert, other_key));
        let mismatch = error(&config);
        assert!(mismatch.contains("server.pem"), "{mismatch}");
        let ca = Some(dir.path().join("clients.pem"));
        std::fs::write(ca.as_ref().unwrap(), "").unwrap();
        write(&config, &self_signed());
        let empty_ca = error(&TlsConfig {
            client_ca: ca,
            ..config
        });
        assert!(
            empty_ca.contains("clients.pem: holds no certificate"),
            "{empty_ca}"
        );
    }

    /// A reload serves a changed set, reports an unchanged one, and keeps the last good set
    /// when the new one does not load.
    #[test]
    fn a_reload_keeps_the_last_good_set() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        write(&config, &self_signed());
        let tls = ServerTls::load(&config).unwrap();
        assert!(!tls.requires_client_certificates());
        assert!(!tls.reload().unwrap());
        let renewed = self_signed();
        write(&config, &renewed);
        assert!(tls.reload().unwrap());
        assert_eq!(tls.loaded.load().files.cert, renewed.0.as_bytes());
        let (half_written, _) = self_signed();
        std::fs::write(&config.cert, &half_written).unwrap();
        assert!(tls.reload().is_err());
        assert_eq!(tls.loaded.load().files.cert, renewed.0.as_bytes());
    }
}
