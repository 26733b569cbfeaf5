//! The JIM web service: the public status page and the signed-in pages ([`pages`]), the REST
//! API ([`api`] for identity data) with its OpenAPI document and built-in API reference, and the
//! health endpoints. It serves from the first second; until the database is reachable, migrated
//! and out of maintenance, readiness answers 503.

pub mod api;
pub mod auth;
pub mod error;
pub mod health;
pub mod keys;
pub mod pages;
pub mod system;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use jim_common::config::{self, ConfigError, ProcessEnvironment};
use jim_common::healthcheck::{HEALTHY, UNHEALTHY, check_http};
use jim_common::heartbeat::{self, ServiceState, StatusBoard};
use jim_common::readiness::{self, NotReadyReason, Readiness};
use jim_common::{DatabaseConfig, LogConfig, Service, database};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi/v1.json";
/// Where the interactive API reference is served.
pub const SWAGGER_PATH: &str = "/api/swagger";

/// The web service's settings, from the `JIM_*` variables.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// `JIM_LISTEN_ADDRESS`, default `0.0.0.0:80`.
    pub listen: SocketAddr,
    /// The SHA-256 of `JIM_INFRASTRUCTURE_API_KEY`, when it is set.
    pub infrastructure_key_hash: Option<String>,
    /// `JIM_CONNECTOR_FILES_PATH`: the folder connected systems' files are relative to.
    pub connector_files: PathBuf,
}

impl WebConfig {
    pub fn from_env(env: &dyn config::Environment) -> Result<Self, ConfigError> {
        let database = DatabaseConfig::from_env(env)?;
        let log = LogConfig::from_env(env)?;
        let listen = listen_address(env)?;
        let infrastructure_key_hash =
            match config::optional_value(env, "JIM_INFRASTRUCTURE_API_KEY") {
                None => None,
                Some(key) if auth::is_well_formed(key.trim()) => Some(auth::hash_key(key.trim())),
                Some(_) => {
                    return Err(ConfigError::Malformed {
                        name: "JIM_INFRASTRUCTURE_API_KEY",
                        value: "<hidden>".into(),
                        expected: "`jim_ak_` followed by 64 lowercase hex characters, such as the \
                               output of `openssl rand -hex 32 | sed 's/^/jim_ak_/'`",
                    });
                }
            };
        Ok(Self {
            database,
            log,
            listen,
            infrastructure_key_hash,
            connector_files: jim_common::identity::connector_files_root(env),
        })
    }
}

fn listen_address(env: &dyn config::Environment) -> Result<SocketAddr, ConfigError> {
    let value =
        config::optional_value(env, "JIM_LISTEN_ADDRESS").unwrap_or_else(|| "0.0.0.0:80".into());
    value.trim().parse().map_err(|_| ConfigError::Malformed {
        name: "JIM_LISTEN_ADDRESS",
        value,
        expected: "an address and port, such as 0.0.0.0:80",
    })
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pool: Arc<OnceCell<PgPool>>,
    migrations_seen: Arc<readiness::MigrationsSeen>,
    pub infrastructure_key_hash: Option<Arc<String>>,
    connector_files: Arc<PathBuf>,
    log_path: Arc<PathBuf>,
}

impl AppState {
    pub fn new(infrastructure_key_hash: Option<String>) -> Self {
        Self {
            pool: Arc::new(OnceCell::new()),
            migrations_seen: Arc::default(),
            infrastructure_key_hash: infrastructure_key_hash.map(Arc::new),
            connector_files: Arc::new(PathBuf::from(
                jim_common::identity::DEFAULT_CONNECTOR_FILES_PATH,
            )),
            log_path: Arc::new(PathBuf::new()),
        }
    }

    /// Sets the connector files folder and the log folder that the Logs page reads.
    pub fn with_folders(mut self, connector_files: PathBuf, log_path: PathBuf) -> Self {
        self.connector_files = Arc::new(connector_files);
        self.log_path = Arc::new(log_path);
        self
    }

    /// The folder connected systems' file paths are relative to.
    pub fn connector_files(&self) -> &Path {
        &self.connector_files
    }

    /// The folder holding every service's log files (`JIM_LOG_PATH`).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The database pool, once the database has been reached.
    pub fn pool(&self) -> Option<&PgPool> {
        self.pool.get()
    }

    /// Hands the connected pool to the handlers.
    pub fn set_pool(&self, pool: PgPool) {
        let _ = self.pool.set(pool);
    }

    /// Readiness, including the time before the database was first reached.
    pub async fn readiness(&self) -> Readiness {
        match self.pool() {
            Some(pool) => readiness::check_with(pool, &self.migrations_seen).await,
            None => Readiness::NotReady {
                reason: NotReadyReason::DatabaseUnavailable,
                detail: None,
            },
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "JIM", description = "The JIM REST API. Every route outside /api/v1/health \
        needs an API key in the X-API-Key header."),
    modifiers(&ApiKeySecurity),
    tags((name = "health", description = "Anonymous health endpoints"),
         (name = "system", description = "Service status"),
         (name = "tasks", description = "The worker task queue"),
         (name = "api-keys", description = "API key management"),
         (name = "connected-systems", description = "Connected systems and their schema"),
         (name = "run-profiles", description = "Run profiles and running them"),
         (name = "connector-space", description = "The objects that imports wrote"),
         (name = "activities", description = "Runs, their progress and their reports"),
         (name = "schedules", description = "Schedules that run run profiles")))]
struct ApiDocument;

struct ApiKeySecurity;

impl Modify for ApiKeySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(auth::HEADER))),
        );
    }
}

/// The router with every route, and the OpenAPI document that describes exactly those routes.
pub fn app(state: AppState, log_requests: bool) -> (Router, utoipa::openapi::OpenApi) {
    let public = OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::version))
        .routes(routes!(health::ready));
    let protected = OpenApiRouter::new()
        .routes(routes!(system::system_health))
        .routes(routes!(system::list_tasks))
        .routes(routes!(system::get_task))
        .routes(routes!(system::queue_maintenance))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::revoke))
        .routes(routes!(
            api::connected_systems::list,
            api::connected_systems::create
        ))
        .routes(routes!(
            api::connected_systems::get,
            api::connected_systems::update,
            api::connected_systems::delete
        ))
        .routes(routes!(api::connected_systems::import_schema))
        .routes(routes!(api::run_profiles::list, api::run_profiles::create))
        .routes(routes!(api::run_profiles::get, api::run_profiles::delete))
        .routes(routes!(api::run_profiles::execute))
        .routes(routes!(api::connector_space::list))
        .routes(routes!(api::connector_space::get))
        .routes(routes!(api::activities::list))
        .routes(routes!(api::activities::get))
        .routes(routes!(api::activities::progress))
        .routes(routes!(api::activities::items))
        .routes(routes!(api::schedules::list, api::schedules::create))
        .routes(routes!(api::schedules::get, api::schedules::delete))
        .routes(routes!(api::schedules::enable))
        .routes(routes!(api::schedules::disable))
        .routes(routes!(api::schedules::run))
        .routes(routes!(api::schedules::executions))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_key,
        ));
    let (api, document) = OpenApiRouter::with_openapi(ApiDocument::openapi())
        .merge(public)
        .merge(protected)
        .split_for_parts();

    // The reference's assets are inside the binary; the validator would call the internet.
    let swagger = SwaggerUi::new(SWAGGER_PATH)
        .url(OPENAPI_PATH, document.clone())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));

    let mut router = api
        .route("/", axum::routing::get(pages::index))
        .merge(pages::router())
        .merge(swagger)
        .fallback(|| async {
            error::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_route",
                "no such route; the API reference is at /api/swagger",
            )
        })
        .with_state(state);
    if log_requests {
        router = router.layer(tower_http::trace::TraceLayer::new_for_http());
    }
    (router, document)
}

/// The `healthcheck` subcommand: asks this service's own readiness endpoint.
pub fn healthcheck() -> ExitCode {
    let listen = match listen_address(&ProcessEnvironment) {
        Ok(address) => address,
        Err(error) => {
            eprintln!("unhealthy: {error}");
            return ExitCode::from(UNHEALTHY as u8);
        }
    };
    // The service listens on every address by default; the check knocks on loopback.
    let address = if listen.ip().is_unspecified() {
        format!("127.0.0.1:{}", listen.port())
    } else {
        listen.to_string()
    };
    match check_http(&address, "/api/v1/health/ready", Duration::from_secs(5)) {
        Ok(_) => {
            println!("healthy: {address} is ready");
            ExitCode::from(HEALTHY as u8)
        }
        Err(message) => {
            eprintln!("unhealthy: {message}");
            ExitCode::from(UNHEALTHY as u8)
        }
    }
}

/// Reads the configuration, starts the runtime and serves until SIGTERM or Ctrl-C.
pub fn main() -> ExitCode {
    jim_common::entry::run_service(
        Service::Web,
        WebConfig::from_env(&ProcessEnvironment),
        |config| &config.log,
        serve,
    )
}

async fn serve(config: WebConfig) -> anyhow::Result<()> {
    let state = AppState::new(config.infrastructure_key_hash.clone())
        .with_folders(config.connector_files.clone(), config.log.path.clone());
    let (router, _) = app(state.clone(), config.log.requests);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on `{}` (JIM_LISTEN_ADDRESS)", config.listen))?;
    tracing::info!(address = %config.listen, "Listening");

    // The database is reached in the background: the health endpoints answer meanwhile, and
    // a database that never appears stops the service after the start-up budget.
    let board = StatusBoard::new(Service::Web);
    let (failed_sender, failed) = tokio::sync::oneshot::channel();
    {
        let state = state.clone();
        let database = config.database.clone();
        let board = board.clone();
        tokio::spawn(async move {
            board.set(ServiceState::WaitingForDatabase, None);
            match database::wait_for_database(&database, "jim.web", 10).await {
                Ok(pool) => {
                    state.set_pool(pool.clone());
                    board.set(ServiceState::Ready, None);
                    heartbeat::spawn_row_heartbeat(board, pool);
                }
                Err(error) => {
                    let _ = failed_sender.send(error);
                }
            }
        });
    }

    let (stop_sender, stop) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop.await;
    });
    let server = tokio::spawn(async move { server.await });

    let outcome = tokio::select! {
        () = jim_common::shutdown::signal() => Ok(()),
        Ok(error) = failed => Err(anyhow::Error::new(error)),
    };
    let _ = stop_sender.send(());
    server
        .await
        .context("the HTTP server task failed")?
        .context("the HTTP server failed")?;
    if outcome.is_ok() {
        if let Some(pool) = state.pool() {
            board.set(ServiceState::Stopping, None);
            let _ = board.record(pool).await;
        }
        tracing::info!("JIM.Web stopped");
    }
    outcome
}
