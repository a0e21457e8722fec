//! `ragcore serve --config ragcore.toml`: the knowledge base behind the HTTP gateway of
//! `ragcore-server` (see docs/server.md).

use anyhow::{Context, Result};
use clap::Args;
use ragcore::{LocalOptions, Pipeline, PipelineConfig};
use ragcore_server::{serve, shutdown_signal, AppState, ServerConfig};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// The server configuration (bind address, knowledge base, API keys, limits).
    #[arg(long, env = "RAGCORE_SERVER_CONFIG", default_value = "ragcore.toml")]
    config: PathBuf,
}

pub(crate) async fn run(args: ServeArgs) -> Result<()> {
    let config = ServerConfig::load(&args.config)?;
    let prices = match std::env::var_os("RAGCORE_PRICES") {
        Some(path) => Some(ragcore::PriceTable::with_overrides(std::path::Path::new(
            &path,
        ))?),
        None => None,
    };
    let pipeline_config = PipelineConfig::default();
    let reranker = ragcore::retrieve::rerank::by_name(
        config.rerank.as_deref().unwrap_or("none"),
        pipeline_config.segmenter,
    )
    .with_context(|| format!("in {}", args.config.display()))?;
    let opts = LocalOptions {
        config: pipeline_config,
        embedder: ragcore::embedder_from_env()?,
        chat: ragcore::chat_from_env()?,
        prices,
        reranker,
        ..Default::default()
    };
    let pipeline = Pipeline::open_local(&config.kb, opts)
        .await
        .with_context(|| format!("opening knowledge base {}", config.kb.display()))?;
    let bind = config.bind;
    let keys = config.keys.len();
    let state = AppState::new(pipeline, config)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    println!("ragcore serve: listening on http://{addr} ({keys} API keys)");
    serve(listener, state, shutdown_signal()).await?;
    eprintln!("ragcore serve: stopped");
    Ok(())
}
