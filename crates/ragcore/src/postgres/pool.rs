//! The connection pool: configuration by URL, TLS, pool size, statement timeout, an optional
//! schema (`search_path`) per knowledge base, and the mapping of PostgreSQL errors to
//! [`Error`] (a lost connection is [`Error::Unavailable`], which is retryable).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;

use crate::error::{Error, Result};

/// How to reach the database. `Debug` never shows the password.
#[derive(Clone)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/db?sslmode=disable|prefer|require` (libpq key=value
    /// strings work too). With `sslmode=prefer` (the default) TLS is used when the server offers
    /// it, verified against the webpki root certificates.
    pub url: String,
    /// Connections kept open at most (default 16).
    pub pool_size: usize,
    /// `statement_timeout` of every connection (default 30 s; zero disables it).
    pub statement_timeout: Duration,
    /// How long to wait for a connection from the pool or to the server (default 10 s).
    pub connect_timeout: Duration,
    /// A schema to keep this knowledge base's tables in (created when missing; default: the
    /// server's `search_path`, normally `public`). Lets several knowledge bases share a database.
    pub schema: Option<String>,
}

impl PgConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            schema: None,
        }
    }

    /// The same with `schema` set.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("schema", &self.schema)
            .finish()
    }
}

/// The URL with any password replaced by `***` (for logs and errors).
pub(crate) fn redact_url(url: &str) -> String {
    // postgres://user:secret@host -> postgres://user:***@host
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
        return url.to_string();
    }
    // key=value form: hide password=...
    url.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A shared pool of connections. Cheap to clone.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    schema: Option<Arc<str>>,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("schema", &self.schema)
            .field("status", &self.pool.status())
            .finish()
    }
}

fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

impl PgPool {
    /// Connects (one connection is opened to check the URL and the server) and, when a schema
    /// is configured, creates it. Fails with [`Error::Config`] for a bad URL or schema name and
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn connect(config: PgConfig) -> Result<Self> {
        let mut pg = tokio_postgres::Config::from_str(&config.url)
            .map_err(|e| Error::Config(format!("postgres url {}: {e}", redact_url(&config.url))))?;
        pg.connect_timeout(config.connect_timeout);
        let mut options = String::new();
        if !config.statement_timeout.is_zero() {
            options.push_str(&format!(
                "-c statement_timeout={}",
                config.statement_timeout.as_millis()
            ));
        }
        if let Some(schema) = &config.schema {
            if !valid_schema(schema) {
                return Err(Error::invalid(
                    "postgres schema",
                    format!("{schema:?}: use 1-63 lower-case letters, digits and _, not starting with a digit"),
                ));
            }
            options.push_str(&format!(" -c search_path={schema},public"));
        }
        if !options.is_empty() {
            pg.options(options.trim());
        }
        let tls = tls_connector()?;
        let manager = Manager::from_config(
            pg,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.connect_timeout))
            .build()
            .map_err(|e| Error::Config(format!("postgres pool: {e}")))?;
        let this = PgPool {
            pool,
            schema: config.schema.as_deref().map(Arc::from),
        };
        let client = this.get().await?;
        if let Some(schema) = &this.schema {
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .or_else(|e| {
                    // Two processes creating the schema at once: one loses with unique_violation.
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                        Ok(())
                    } else {
                        Err(map_err(e))
                    }
                })?;
        }
        Ok(this)
    }

    /// A connection from the pool ([`Error::Unavailable`] when none can be had in time).
    pub async fn get(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| Error::Unavailable {
            service: "postgres".into(),
            message: e.to_string(),
        })
    }

    /// The configured schema, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Runs `ddl` (idempotent `CREATE ... IF NOT EXISTS` statements) in one transaction holding
    /// a transaction-scoped advisory lock keyed by `component`, so concurrent processes creating
    /// the same tables are serialised instead of failing.
    pub async fn ensure_schema(&self, component: &str, ddl: &str) -> Result<()> {
        let mut client = self.get().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let key = format!("ragcore:{}:{component}", self.schema().unwrap_or("public"));
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&key])
            .await
            .map_err(map_err)?;
        tx.batch_execute(ddl).await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("postgres tls: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Maps a PostgreSQL error: a broken or closed connection (and the server shutting down, or
/// too many connections) is [`Error::Unavailable`] (retryable); a statement timeout is
/// [`Error::Timeout`]; anything else is [`Error::Storage`] with the server's message.
pub fn map_err(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if code == &SqlState::QUERY_CANCELED {
            return Error::Timeout {
                operation: "postgres statement".into(),
                millis: 0,
            };
        }
        if code == &SqlState::ADMIN_SHUTDOWN
            || code == &SqlState::CRASH_SHUTDOWN
            || code == &SqlState::CANNOT_CONNECT_NOW
            || code == &SqlState::TOO_MANY_CONNECTIONS
            || code.code().starts_with("08")
        {
            return Error::Unavailable {
                service: "postgres".into(),
                message: db.message().to_string(),
            };
        }
        return Error::Storage(format!("postgres: {} ({})", db.message(), code.code()));
    }
    if e.is_closed() || e.code().is_none() {
        return Error::Unavailable {
            service: "postgres".into(),
            message: e.to_string(),
        };
    }
    Error::Storage(format!("postgres: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let c = PgConfig::new("postgres://app:s3cret@db.internal:5432/kb");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app:***@db.internal"), "{shown}");
        assert_eq!(
            redact_url("host=db user=app password=s3cret dbname=kb"),
            "host=db user=app password=*** dbname=kb"
        );
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(valid_schema("kb_acme_2"));
        assert!(!valid_schema("Acme"));
        assert!(!valid_schema("a;drop table x"));
        assert!(!valid_schema("1abc"));
    }

    /// Against a real server when `RAGCORE_PG_URL` is set: connect with a schema, create a
    /// table twice concurrently, and see that a bad URL is a clear error.
    #[tokio::test]
    async fn connects_and_creates_tables_once() {
        let Ok(url) = std::env::var("RAGCORE_PG_URL") else {
            eprintln!("RAGCORE_PG_URL not set: skipping the live PostgreSQL check");
            return;
        };
        let schema = format!("t_pool_{}", std::process::id());
        let pool = PgPool::connect(PgConfig::new(url).with_schema(&schema))
            .await
            .unwrap();
        let ddl = "CREATE TABLE IF NOT EXISTS pool_probe (id BIGINT PRIMARY KEY)";
        let (a, b) = tokio::join!(
            pool.ensure_schema("probe", ddl),
            pool.ensure_schema("probe", ddl)
        );
        a.unwrap();
        b.unwrap();
        let client = pool.get().await.unwrap();
        let row = client
            .query_one("SELECT current_schema()", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), schema);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
        let bad = PgPool::connect(PgConfig::new("postgres://u:pw@127.0.0.1:1/x")).await;
        let err = bad.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}
