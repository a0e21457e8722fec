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

/// The local store remembers document frequencies between asks; every write (through this
/// handle, or through another connection to the same directory) must be seen by the next
/// `term_stats`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn term_stats_follow_every_write() -> ragcore::Result<()> {
    use ragcore::store::DeleteRequest;
    use ragcore::{Document, IngestRequest, Scope};
    let dir = tempfile::tempdir().map_err(|e| ragcore::Error::Storage(e.to_string()))?;
    let kb = Pipeline::open_local(dir.path(), LocalOptions::default()).await?;
    let scope = Scope::tenant("acme");
    let terms = vec!["warranty".to_string(), "drone".to_string()];
    let doc = |id: &str, text: &str| Document::faq(id, "Question?", text);
    kb.ingest(IngestRequest::documents(
        "acme",
        vec![doc("a", "The warranty lasts two years.")],
    ))
    .await?;
    let s = kb.store().term_stats(&scope, &terms).await?;
    assert_eq!((s.chunks, s.document_frequency.clone()), (1, vec![1, 0]));
    assert_eq!(kb.store().term_stats(&scope, &terms).await?, s); // remembered: the same
    kb.ingest(IngestRequest::documents(
        "acme",
        vec![doc("b", "The drone warranty is one year.")],
    ))
    .await?;
    let s = kb.store().term_stats(&scope, &terms).await?;
    assert_eq!((s.chunks, s.document_frequency), (2, vec![2, 1]));
    // A write through another handle (as another process would) is seen too.
    {
        let other = Pipeline::open_local(dir.path(), LocalOptions::default()).await?;
        other
            .store()
            .delete(DeleteRequest {
                tenant: "acme".into(),
                document_ids: vec!["a".into()],
            })
            .await?;
    }
    let s = kb.store().term_stats(&scope, &terms).await?;
    assert_eq!((s.chunks, s.document_frequency), (1, vec![1, 1]));
    // Another tenant's scope never sees these counts.
    let g = kb
        .store()
        .term_stats(&Scope::tenant("globex"), &terms)
        .await?;
    assert_eq!((g.chunks, g.document_frequency), (0, vec![0, 0]));
    Ok(())
}
