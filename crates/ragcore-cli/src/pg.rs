//! PostgreSQL from the command line: the global `--database-url` (env `RAGCORE_DATABASE_URL`)
//! that makes `ingest`, `sync`, `ask`, `retrieve`, `info`, `documents`, `versions`, `diff`,
//! `rollback` and `verify` run on a shared PostgreSQL knowledge base instead of `--kb`, and
//! `ragcore migrate` (feature `postgres`).

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{bail, Result};
use clap::Args;
use ragcore::Pipeline;

/// Where a PostgreSQL knowledge base is. These go before the subcommand
/// (`ragcore --database-url URL --pg-schema kb_acme ask ...`) or in the environment.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct DatabaseArgs {
    /// Use the PostgreSQL knowledge base at this URL instead of the local directory `--kb`
    /// (`postgres://user:password@host:5432/db?sslmode=disable|prefer|require`).
    #[arg(long, env = "RAGCORE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Schema holding the knowledge base's tables (default: the server's `search_path`).
    #[arg(long, env = "RAGCORE_PG_SCHEMA")]
    pg_schema: Option<String>,
    /// Connections kept open at most.
    #[arg(long, env = "RAGCORE_PG_POOL")]
    pg_pool: Option<usize>,
    /// `statement_timeout` in milliseconds (0 disables it; default 30000).
    #[arg(long, env = "RAGCORE_PG_STATEMENT_TIMEOUT_MS")]
    pg_statement_timeout_ms: Option<u64>,
}

impl std::fmt::Display for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the PostgreSQL knowledge base")?;
        if let Some(s) = &self.pg_schema {
            write!(f, " in schema {s}")?;
        }
        Ok(())
    }
}

static DATABASE: OnceLock<Option<DatabaseArgs>> = OnceLock::new();

/// Remembers the global database arguments for [`crate::open`].
pub(crate) fn set_database(args: DatabaseArgs) -> Result<()> {
    let chosen = args
        .database_url
        .as_ref()
        .is_some_and(|u| !u.trim().is_empty())
        .then_some(args);
    if DATABASE.set(chosen).is_err() {
        bail!("the database arguments were set twice");
    }
    Ok(())
}

/// The PostgreSQL knowledge base chosen on the command line, if any.
pub(crate) fn database() -> Option<&'static DatabaseArgs> {
    DATABASE.get().and_then(Option::as_ref)
}

/// Arguments of `ragcore migrate`.
#[derive(Args, Clone, Debug)]
pub(crate) struct MigrateArgs {
    /// The local knowledge base directory to copy.
    #[arg(long)]
    from: PathBuf,
    /// The PostgreSQL URL to copy into (default: `--database-url`).
    #[arg(long)]
    to: Option<String>,
    /// The schema to copy into (default: `--pg-schema`, else the server's `search_path`).
    #[arg(long)]
    schema: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[cfg(not(feature = "postgres"))]
pub(crate) async fn open(_db: &DatabaseArgs) -> Result<Pipeline> {
    bail!(
        "--database-url needs PostgreSQL support, and this ragcore was built without it; \
         rebuild with `cargo install ragcore-cli --features postgres`"
    )
}

#[cfg(not(feature = "postgres"))]
pub(crate) async fn migrate(_args: MigrateArgs) -> Result<()> {
    bail!(
        "`ragcore migrate` needs PostgreSQL support, and this ragcore was built without it; \
         rebuild with `cargo install ragcore-cli --features postgres`"
    )
}

#[cfg(feature = "postgres")]
fn pg_config(url: &str, db: Option<&DatabaseArgs>) -> ragcore::PgConfig {
    let mut c = ragcore::PgConfig::new(url);
    if let Some(db) = db {
        c.schema = db.pg_schema.clone();
        if let Some(n) = db.pg_pool {
            c.pool_size = n.max(1);
        }
        if let Some(ms) = db.pg_statement_timeout_ms {
            c.statement_timeout = std::time::Duration::from_millis(ms);
        }
    }
    c
}

#[cfg(feature = "postgres")]
fn options() -> Result<ragcore::PostgresOptions> {
    let prices = match std::env::var_os("RAGCORE_PRICES") {
        Some(path) => Some(ragcore::PriceTable::with_overrides(std::path::Path::new(
            &path,
        ))?),
        None => None,
    };
    Ok(ragcore::PostgresOptions {
        embedder: ragcore::embedder_from_env()?,
        chat: ragcore::chat_from_env()?,
        prices,
        ..Default::default()
    })
}

/// Opens the PostgreSQL knowledge base with the models configured in the environment.
#[cfg(feature = "postgres")]
pub(crate) async fn open(db: &DatabaseArgs) -> Result<Pipeline> {
    use anyhow::Context;
    let url = db.database_url.as_deref().unwrap_or_default();
    Pipeline::open_postgres(pg_config(url, Some(db)), options()?)
        .await
        .with_context(|| format!("opening {db}"))
}

#[cfg(feature = "postgres")]
pub(crate) async fn migrate(args: MigrateArgs) -> Result<()> {
    use anyhow::Context;
    use ragcore::store::{
        AnnConfig, LocalStore, LocalStoreConfig, PostgresStore, PostgresStoreConfig,
    };
    use ragcore::{HashingEmbedder, PgPool, PipelineConfig};

    let db = database();
    let Some(url) = args
        .to
        .clone()
        .or_else(|| db.and_then(|d| d.database_url.clone()))
    else {
        bail!("say where to copy to: `ragcore migrate --from KB_DIR --to postgres://...` (or --database-url)");
    };
    if !args.from.join("kb.sqlite").is_file() {
        bail!(
            "{} is not a local knowledge base (no kb.sqlite there)",
            args.from.display()
        );
    }
    let embedder: std::sync::Arc<dyn ragcore::Embedder> = match ragcore::embedder_from_env()? {
        Some(e) => e,
        None => std::sync::Arc::new(HashingEmbedder::default()),
    };
    let profile = PipelineConfig::default().store_profile();
    let source = LocalStore::open_async(
        &args.from,
        LocalStoreConfig {
            fingerprint: embedder.fingerprint(),
            profile: profile.clone(),
            ann: AnnConfig::default(),
        },
    )
    .await
    .with_context(|| format!("opening {}", args.from.display()))?;
    let mut config = pg_config(&url, db);
    if let Some(schema) = &args.schema {
        config.schema = Some(schema.clone());
    }
    let pool = PgPool::connect(config).await?;
    let target = PostgresStore::open(
        pool,
        PostgresStoreConfig {
            fingerprint: embedder.fingerprint(),
            profile,
            ann: AnnConfig::default(),
        },
    )
    .await
    .context("opening the PostgreSQL knowledge base")?;
    let started = std::time::Instant::now();
    let report = ragcore::store::migrate::migrate_local(&source, &target).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "copied {} documents and {} chunks of {} tenant(s) into version {} in {:.1}s \
             ({} new, {} changed, {} already there); counts verified",
            report.documents,
            report.chunks,
            report.tenants.len(),
            report.kb_version,
            started.elapsed().as_secs_f64(),
            report.documents_added,
            report.documents_changed,
            report.documents_unchanged
        );
    }
    Ok(())
}
