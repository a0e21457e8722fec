//! The conformance suite (`conformance/`) on [`ragcore::LocalStore`].

mod conformance;

use conformance::Opened;
use ragcore::{LocalOptions, Pipeline};

async fn open(_name: &'static str) -> ragcore::Result<Option<Opened>> {
    let dir = tempfile::tempdir().map_err(|e| ragcore::Error::Storage(e.to_string()))?;
    let kb = Pipeline::open_local(dir.path(), LocalOptions::default()).await?;
    Ok(Some(Opened {
        kb,
        _guard: Box::new(dir),
    }))
}

conformance_tests!(open);
