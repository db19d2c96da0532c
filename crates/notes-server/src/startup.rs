//! Building and running the server.

use std::fs;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Arbiter};
use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpMessage, HttpResponse, HttpServer, error::JsonPayloadError, error::QueryPayloadError, web};
use anyhow::Context as _;
use notes_auth::{JwtSecret, PasswordHasher, TokenKeys};
use notes_core::UserId;
use notes_hub::{ChangeFeed, CloseAll, FetchFuture, Hub, HubStats, SessionSettings};
use notes_store::{OpenOptions, Store};
use tracing::Instrument;

use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{Connections, KeyedLimit, Rate, RateLimits};
use crate::routes;
use crate::state::{AppState, HashingPool};

/// Maximum JSON request body, in bytes. Larger bodies get 413 before they are
/// read in full. It fits a note of 100,000 characters of up to two bytes each
/// in UTF-8 (such as Latin, Greek or Cyrillic text), but not 100,000
/// characters of three or four bytes (such as CJK text or emoji): for those
/// the body limit applies before the character limit.
pub const JSON_BODY_LIMIT: usize = 256 * 1024;

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 10;

/// How often a server on PostgreSQL reads changes committed by other server
/// processes, unless configured otherwise.
const DEFAULT_POSTGRES_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Name of the file in the data directory that keeps the generated secret.
const SECRET_FILE: &str = "jwt-secret";

/// A server that is bound to its port but not yet running.
pub struct Application {
    port: u16,
    server: Server,
    shutdown: ShutdownHandle,
}

/// Stops a running server gracefully: every WebSocket is closed with 1001,
/// then requests in flight finish and the server exits.
#[derive(Clone)]
pub struct ShutdownHandle {
    hub: Addr<Hub>,
    server: ServerHandle,
}

impl ShutdownHandle {
    /// Closes every WebSocket with 1001 (going away), stops accepting, waits
    /// for requests in flight, and returns when the server has stopped.
    pub async fn shutdown(&self) {
        match self.hub.send(CloseAll { code: 1001, reason: "server shutting down" }).await {
            Ok(count) => tracing::info!(sessions = count, "closed every websocket for shutdown"),
            Err(error) => tracing::warn!(error = %error, "hub did not answer during shutdown"),
        }
        // Give the writer tasks a moment to send their close frames.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.server.stop(true).await;
    }
}

impl Application {
    /// Opens the store, prepares the secret and binds the listener.
    ///
    /// Must run inside an actix system (`#[actix_web::main]` or
    /// `#[actix_web::test]`), because it starts the hub actor.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(config.addr).with_context(|| format!("failed to listen on {}", config.addr))?;
        let address = listener.local_addr().context("failed to read the listening address")?;

        ensure_data_dir(&config.data_dir)?;
        let secret = load_secret(&config)?;
        let tokens = TokenKeys::new(&secret, config.token_ttl).context("failed to set up token signing")?;
        let hasher = PasswordHasher::new(config.bcrypt_cost).context("invalid bcrypt cost")?;

        let store = crate::observability::MeteredStore::wrap(open_store(&config).await?);
        crate::observability::prometheus();
        let current_seq = store.current_seq().await.context("failed to read the change sequence")?;

        let hub_stats = Arc::new(HubStats::default());
        let hub_arbiter = Arbiter::new();
        let stats = hub_stats.clone();
        let feed: Arc<dyn ChangeFeed> = Arc::new(StoreFeed(store.clone()));
        let poll_interval = match config.poll_interval {
            Some(interval) => Some(interval).filter(|interval| !interval.is_zero()),
            None => (store.kind() == "postgres").then_some(DEFAULT_POSTGRES_POLL_INTERVAL),
        };
        let hub = Hub::start_in_arbiter(&hub_arbiter.handle(), move |_| {
            let hub = Hub::new(current_seq, stats).with_feed(feed);
            match poll_interval {
                Some(interval) => hub.with_polling(interval),
                None => hub,
            }
        });

        let allowed_origins = if config.allowed_origins.is_empty() {
            default_origins(address)
        } else {
            config.allowed_origins.iter().map(|origin| origin.trim().trim_end_matches('/').to_owned()).collect()
        };

        let state = AppState {
            store: store.clone(),
            hub: hub.clone(),
            hub_stats,
            tokens: Arc::new(tokens),
            hashing: HashingPool::new(hasher, config.hash_concurrency.unwrap_or_else(Config::default_hash_concurrency))
                .context("failed to start the password hashing threads")?,
            allowed_origins: Arc::new(allowed_origins.clone()),
            session_settings: SessionSettings {
                heartbeat_interval: config.heartbeat_interval,
                client_timeout: config.client_timeout,
                outbox_capacity: config.ws_outbox,
                inbound_rate_per_second: config.ws_message_rate_per_second,
                inbound_burst: config.ws_message_burst,
                ..SessionSettings::default()
            },
            rate_limits: Arc::new(RateLimits {
                auth: KeyedLimit::new(
                    Rate {
                        count: config.auth_rate_per_minute,
                        period: Duration::from_secs(60),
                        burst: config.auth_burst,
                    },
                    "too many sign-up or login attempts from this address; wait and try again",
                ),
                writes: KeyedLimit::new(
                    Rate {
                        count: config.write_rate_per_second,
                        period: Duration::from_secs(1),
                        burst: config.write_burst,
                    },
                    "too many note changes; wait a moment and try again",
                ),
            }),
            connections: Connections::new(
                connection_limit_for_files(config.max_ws_connections, raise_file_limit()),
                config.max_ws_per_user,
            ),
            trust_forwarded_for: config.trust_forwarded_for,
            list_cache: Arc::default(),
        };

        // Idle rate-limit keys are dropped once a minute so the maps stay small.
        let limits = state.rate_limits.clone();
        hub_arbiter.spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(60));
            loop {
                interval.tick().await;
                limits.forget_idle();
            }
        });

        let web_dir = config.web_dir.clone();
        let mut server = HttpServer::new(move || build_app(state.clone(), web_dir.clone()))
            .disable_signals()
            .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
            .listen(listener)
            .context("failed to start the HTTP server")?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server.run();

        tracing::info!(
            address = %address,
            store = store.kind(),
            poll_interval = ?poll_interval,
            version = env!("CARGO_PKG_VERSION"),
            origins = ?allowed_origins,
            "notes server listening on http://{address}"
        );

        let shutdown = ShutdownHandle { hub, server: server.handle() };
        Ok(Self { port: address.port(), server, shutdown })
    }

    /// Returns the port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns a handle that stops the server gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Runs until SIGINT or SIGTERM, or until a [`ShutdownHandle`] stops it.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        let shutdown = self.shutdown.clone();
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stop signal received; shutting down");
            shutdown.shutdown().await;
        });
        self.server.await?;
        tracing::info!("notes server stopped");
        Ok(())
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The server's own origins: what a browser sends when the page came from
/// this server. For a loopback or unspecified address both `localhost` and
/// `127.0.0.1` are included.
fn default_origins(address: std::net::SocketAddr) -> Vec<String> {
    let port = address.port();
    let ip = address.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        vec![format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}"), format!("http://[::1]:{port}")]
    } else {
        vec![format!("http://{address}")]
    }
}

/// The store's change log as the hub's source of missed events.
struct StoreFeed(Arc<dyn Store>);

impl ChangeFeed for StoreFeed {
    fn changes_since(&self, after: notes_core::Seq, limit: usize) -> FetchFuture {
        let store = self.0.clone();
        Box::pin(async move {
            store.changes_since(after, limit).await.map_err(|error| format!("{:#}", anyhow::Error::from(error)))
        })
    }
}

/// Opens the store named by the configuration.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    let options =
        OpenOptions { change_log_capacity: config.change_log_capacity, max_connections: config.db_max_connections };
    notes_store::open(&url, &options)
        .await
        .with_context(|| format!("failed to open the store at {}", notes_store::redact_url(&url)))
}

/// Creates the data directory (mode 0700) when it does not exist yet.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(|| format!("failed to create the data directory {}", dir.display()))?;
    tracing::info!(data_dir = %dir.display(), "created the data directory");
    Ok(())
}

/// Returns the configured secret, or the one kept in the data directory,
/// generating and saving it (mode 0600) on first start.
fn load_secret(config: &Config) -> anyhow::Result<JwtSecret> {
    if let Some(secret) = &config.jwt_secret {
        return JwtSecret::new(secret.as_bytes().to_vec()).context("NOTES_JWT_SECRET is not usable");
    }

    let path = config.data_dir.join(SECRET_FILE);
    match fs::read(&path) {
        // An empty file can only be left by a crash while the secret was
        // first written, before any token was signed with it.
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
            tracing::warn!(path = %path.display(), "the secret file is empty; generating a new secret");
            fs::remove_file(&path).with_context(|| format!("failed to remove {}", path.display()))?;
            create_secret(&config.data_dir, &path)
        }
        Ok(bytes) => {
            let trimmed = String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec();
            JwtSecret::new(trimmed).with_context(|| format!("the secret in {} is not usable", path.display()))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => create_secret(&config.data_dir, &path),
        Err(error) => Err(error).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Generates a secret and saves it at `path` so that a crash never leaves a
/// partly written file: the secret goes to a temporary file that is synced,
/// then linked to `path`. Linking fails if `path` exists, so when two servers
/// start at once, the second one reads the first one's secret.
fn create_secret(data_dir: &Path, path: &Path) -> anyhow::Result<JwtSecret> {
    let secret = JwtSecret::generate();
    let temporary = data_dir.join(format!("{SECRET_FILE}.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary).with_context(|| format!("failed to create {}", temporary.display()))?;
    file.write_all(secret.expose())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", temporary.display()))?;

    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            if let Ok(directory) = fs::File::open(data_dir) {
                let _ = directory.sync_all();
            }
            tracing::info!(path = %path.display(), "generated a new token signing secret");
            Ok(secret)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let bytes = fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
            JwtSecret::new(String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec())
                .with_context(|| format!("the secret in {} is not usable", path.display()))
        }
        Err(error) => Err(error).with_context(|| format!("failed to save {}", path.display())),
    }
}

fn json_error(error: JsonPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let api_error = match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::PayloadTooLarge(JSON_BODY_LIMIT)
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(error) => ApiError::InvalidJson(format!("invalid JSON body: {error}")),
        JsonPayloadError::Payload(error) => match error {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge(JSON_BODY_LIMIT),
            other => ApiError::InvalidJson(format!("could not read the request body: {other}")),
        },
        other => ApiError::InvalidJson(format!("invalid JSON body: {other}")),
    };
    api_error.into()
}

/// Maps a query string that does not fit the handler's query type, such as a
/// repeated `id`, to the usual JSON error body instead of actix's plain text.
fn query_error(error: QueryPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    ApiError::InvalidParameter { field: "query", message: format!("invalid query string: {error}") }.into()
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound("no such route"))
}

async fn method_not_allowed() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed)
}

fn build_app(
    state: AppState,
    web_dir: std::path::PathBuf,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = state.allowed_origins.iter().fold(
        Cors::default()
            .allowed_methods(["GET", "POST", "PUT", "DELETE"])
            .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .supports_credentials()
            .max_age(600),
        |cors, origin| cors.allowed_origin(origin),
    );

    let security_headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ));

    let json_config = web::JsonConfig::default()
        .limit(JSON_BODY_LIMIT)
        .content_type_required(true)
        .content_type(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|suffix| suffix == "json"))
        })
        .error_handler(json_error);

    App::new()
        .app_data(web::Data::new(state))
        .app_data(json_config)
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .wrap(security_headers)
        .wrap(cors)
        .wrap_fn(|request, service| {
            let started = Instant::now();
            let method = request.method().clone();
            let path = request.path().to_owned();
            let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
            let span = tracing::info_span!("request", method = %method, path = %path);
            let response = service.call(request);
            async move {
                let mut response = response.await?;
                let user_id = response.request().extensions().get::<UserId>().copied();
                let status = response.status().as_u16();
                let elapsed = started.elapsed().as_secs_f64();
                // Rounded to microseconds, so the log shows no float noise.
                let latency_ms = (elapsed * 1_000_000.0).round() / 1000.0;
                crate::observability::record_request(method.as_str(), &route, status, elapsed);
                match user_id {
                    Some(user_id) => tracing::info!(status, latency_ms, user_id = %user_id, "request finished"),
                    None => tracing::info!(status, latency_ms, "request finished"),
                }
                if !path.starts_with("/api") && !path.starts_with("/ws") && response.status().is_success() {
                    response.headers_mut().insert(header::CACHE_CONTROL, routes::web_app::cache_control(&path));
                } else if path.starts_with("/api") {
                    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                }
                Ok(response)
            }
            .instrument(span)
        })
        .route("/healthz", web::get().to(routes::health::health))
        .route("/readyz", web::get().to(routes::health::health))
        .route("/metrics", web::get().to(routes::metrics::metrics))
        .service(
            web::resource("/ws")
                .route(web::get().to(routes::ws::websocket))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::scope("/api")
                .service(
                    web::resource("/register")
                        .route(web::post().to(routes::users::register))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/login")
                        .route(web::post().to(routes::users::login))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/logout")
                        .route(web::post().to(routes::users::logout))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/me")
                        .route(web::get().to(routes::users::me))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/notes")
                        .route(web::get().to(routes::notes::list_notes))
                        .route(web::post().to(routes::notes::create_note))
                        .route(web::put().to(routes::notes::update_note_by_body))
                        .route(web::delete().to(routes::notes::delete_note_by_query))
                        .default_service(web::to(method_not_allowed)),
                )
                .service(
                    web::resource("/notes/{id}")
                        .route(web::get().to(routes::notes::get_note))
                        .route(web::put().to(routes::notes::update_note))
                        .route(web::delete().to(routes::notes::delete_note))
                        .default_service(web::to(method_not_allowed)),
                )
                .default_service(web::to(not_found)),
        )
        .service(routes::web_app::service(&web_dir))
}

/// File descriptors kept for everything but WebSockets: the listener, plain
/// HTTP connections, the database files and connections, and logs.
const RESERVED_FILE_DESCRIPTORS: u64 = 256;

/// Raises the soft limit on open files to the hard limit, as far as the
/// system allows, and returns the limit in force. Returns `None` when the
/// limit cannot be read.
fn raise_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(file_limit = limit, "open file limit");
            Some(limit)
        }
        Err(error) => {
            tracing::warn!(error = %error, "could not read or raise the open file limit");
            None
        }
    }
}

/// Returns the WebSocket limit to enforce: the configured one, lowered so
/// that every WebSocket fits under the open file limit with
/// [`RESERVED_FILE_DESCRIPTORS`] to spare. Without this, upgrades past the
/// file limit would not get a 503: the server could not accept their TCP
/// connections at all, and clients would wait until they time out.
/// `configured` 0 means no limit of its own.
pub fn connection_limit_for_files(configured: usize, file_limit: Option<u64>) -> usize {
    let Some(file_limit) = file_limit else { return configured };
    let room = usize::try_from(file_limit.saturating_sub(RESERVED_FILE_DESCRIPTORS)).unwrap_or(usize::MAX).max(1);
    if configured == 0 || configured > room {
        tracing::warn!(
            configured,
            file_limit,
            enforced = room,
            "NOTES_MAX_WS_CONNECTIONS does not fit under the open file limit; enforcing a lower limit. \
             Raise the hard limit (ulimit -Hn, or LimitNOFILE in systemd) to allow more connections"
        );
        return room;
    }
    configured
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::Cli;

    #[test]
    fn connection_limit_fits_under_the_file_limit() {
        assert_eq!(connection_limit_for_files(10_000, Some(20_000)), 10_000);
        assert_eq!(connection_limit_for_files(10_000, Some(1_024)), 768);
        assert_eq!(connection_limit_for_files(0, Some(20_000)), 19_744);
        assert_eq!(connection_limit_for_files(100, Some(100)), 1);
        assert_eq!(connection_limit_for_files(10_000, None), 10_000);
        assert_eq!(connection_limit_for_files(0, None), 0);
    }

    fn config_in(dir: &Path) -> Config {
        let dir = dir.to_string_lossy().into_owned();
        Cli::try_parse_from(["notes-server", "--data-dir", &dir]).unwrap().config
    }

    #[test]
    fn secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());

        let first = load_secret(&config).unwrap();
        let second = load_secret(&config).unwrap();
        assert_eq!(first.expose(), second.expose());

        let path = dir.path().join(SECRET_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> =
            fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).map(|entry| entry.file_name()).collect();
        assert_eq!(leftovers, [SECRET_FILE]);
    }

    #[test]
    fn empty_secret_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SECRET_FILE), b"").unwrap();
        let secret = load_secret(&config_in(dir.path())).unwrap();
        assert_eq!(fs::read(dir.path().join(SECRET_FILE)).unwrap(), secret.expose());
    }

    #[test]
    fn short_secret_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SECRET_FILE), b"too short").unwrap();
        let error = load_secret(&config_in(dir.path())).unwrap_err();
        assert!(format!("{error:#}").contains("at least 32 bytes"), "{error:#}");
    }
}
