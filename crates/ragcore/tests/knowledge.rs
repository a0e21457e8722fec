//! Knowledge operations: rollback to an earlier version (and the schema migration that keeps the
//! history for it), re-embedding with a new embedder, readers that never see a half-applied
//! sync, and the HTML / PDF loaders with their bad inputs.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use ragcore::pipeline::SyncRequest;
use ragcore::{AskRequest, ErrorKind, Fusion, HashingEmbedder, LocalOptions, Pipeline, Scope};
use support::counting::CountingEmbedder;

type R = Result<(), Box<dyn std::error::Error>>;

fn sync_req(root: &std::path::Path) -> SyncRequest {
    SyncRequest {
        root: root.to_path_buf(),
        tenant: "acme".into(),
        ..Default::default()
    }
}

async fn open_counting(
    dir: &std::path::Path,
) -> ragcore::Result<(Pipeline, Arc<CountingEmbedder>)> {
    let counter = CountingEmbedder::new(Arc::new(HashingEmbedder::default()));
    let p = Pipeline::open_local(
        dir,
        LocalOptions {
            embedder: Some(counter.clone()),
            ..Default::default()
        },
    )
    .await?;
    Ok((p, counter))
}

async fn live_set(p: &Pipeline) -> ragcore::Result<BTreeSet<(String, String)>> {
    Ok(p.store()
        .documents("acme")
        .await?
        .into_iter()
        .map(|d| (d.id, d.content_hash))
        .collect())
}

async fn lexical_ids(p: &Pipeline, q: &str) -> ragcore::Result<Vec<String>> {
    Ok(
        p.retrieve_full(q, &Scope::tenant("acme"), Some(Fusion::LexicalOnly))
            .await?
            .hits
            .into_iter()
            .map(|h| h.document_id)
            .collect(),
    )
}

#[tokio::test]
async fn rollback_restores_the_documents_of_an_old_version_without_embedding() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let (p, counter) = open_counting(kb.path()).await?;
    std::fs::write(
        src.path().join("return.md"),
        "# 退貨\n收到商品後七天內可以申請退貨。",
    )?;
    std::fs::write(src.path().join("warranty.md"), "# 保固\n大型家電保固兩年。")?;
    let v1 = p.sync(sync_req(src.path())).await?.kb_version;
    let set1 = live_set(&p).await?;

    std::fs::remove_file(src.path().join("return.md"))?;
    std::fs::write(src.path().join("warranty.md"), "# 保固\n大型家電保固三年。")?;
    std::fs::write(src.path().join("shipping.md"), "# 運費\n滿千免運。")?;
    let v2 = p.sync(sync_req(src.path())).await?.kb_version;
    let set2 = live_set(&p).await?;
    assert_ne!(set1, set2);
    counter.take();

    let r = p.rollback(Some("acme"), v1).await?;
    assert_eq!(r.kb_version, v2 + 1, "a rollback is a new version");
    assert_eq!(
        (r.documents_added, r.documents_changed, r.documents_removed),
        (1, 1, 1),
        "{r:?}"
    );
    assert_eq!(counter.take(), 0, "a rollback embeds nothing");
    assert_eq!(live_set(&p).await?, set1);
    assert_eq!(
        p.store().documents_at("acme", r.kb_version).await?,
        p.store().documents_at("acme", v1).await?
    );
    // Restored content is searchable again in both indexes; removed content is gone.
    assert!(lexical_ids(&p, "七天 退貨")
        .await?
        .contains(&"return.md".to_string()));
    assert!(lexical_ids(&p, "滿千免運").await?.is_empty());
    let vec_hits = p
        .retrieve_full(
            "收到商品後七天內可以申請退貨",
            &Scope::tenant("acme"),
            Some(Fusion::VectorOnly),
        )
        .await?
        .hits;
    assert_eq!(
        vec_hits.first().map(|h| h.document_id.as_str()),
        Some("return.md")
    );
    let a = p
        .ask(AskRequest::new("大型家電保固多久？", Scope::tenant("acme")))
        .await?;
    assert!(
        a.text.contains("兩年") && !a.text.contains("三年"),
        "{}",
        a.text
    );
    assert_eq!(a.kb_version, r.kb_version);
    let d = p.store().diff("acme", v2, r.kb_version).await?;
    assert_eq!(
        (d.added, d.changed, d.removed),
        (
            vec!["return.md".to_string()],
            vec!["warranty.md".to_string()],
            vec!["shipping.md".to_string()]
        )
    );
    assert!(p.store().verify().await?.is_consistent());

    // The rollback itself can be rolled back, and the state survives a reopen.
    let r2 = p.rollback(None, v2).await?;
    assert_eq!(live_set(&p).await?, set2);
    drop(p);
    let p = support::open(kb.path()).await?;
    assert_eq!(live_set(&p).await?, set2);
    assert_eq!(p.store().kb_version().await?, r2.kb_version);
    assert!(p.store().verify().await?.is_consistent());
    // Rolling back to the current state changes nothing.
    let same = p.rollback(Some("acme"), r2.kb_version).await?;
    assert_eq!(same.kb_version, r2.kb_version);

    let e = p
        .rollback(Some("acme"), 99)
        .await
        .err()
        .ok_or("rollback to v99")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = p
        .rollback(Some("nobody"), v1)
        .await
        .err()
        .ok_or("unknown tenant")?;
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    Ok(())
}

#[tokio::test]
async fn a_version_1_database_is_migrated_forward_without_losing_data() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    std::fs::write(src.path().join("a.md"), "# 甲\n甲文件的內容，代號 AAA。")?;
    std::fs::write(src.path().join("b.md"), "# 乙\n乙文件的內容，代號 BBB。")?;
    let before = {
        let p = support::open(kb.path()).await?;
        p.sync(sync_req(src.path())).await?;
        live_set(&p).await?
    };
    // Turn it back into a schema-1 database: no history table, old version number.
    {
        let conn = rusqlite::Connection::open(kb.path().join("kb.sqlite"))?;
        conn.execute_batch(
            "DROP TABLE doc_history; DELETE FROM meta WHERE key = 'history_since'; \
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )?;
    }
    let p = support::open(kb.path()).await?;
    assert_eq!(live_set(&p).await?, before, "nothing lost");
    assert!(p.store().verify().await?.is_consistent());
    let migrated_at = p.store().kb_version().await?;
    std::fs::remove_file(src.path().join("a.md"))?;
    p.sync(sync_req(src.path())).await?;
    assert!(!lexical_ids(&p, "代號 AAA")
        .await?
        .contains(&"a.md".to_string()));
    // History starts at the migration: that version can be restored, earlier ones cannot.
    p.rollback(Some("acme"), migrated_at).await?;
    assert_eq!(live_set(&p).await?, before);
    assert!(lexical_ids(&p, "代號 AAA")
        .await?
        .contains(&"a.md".to_string()));
    if migrated_at > 0 {
        let e = p
            .rollback(Some("acme"), migrated_at - 1)
            .await
            .err()
            .ok_or("pre-history")?;
        assert!(
            e.to_string().contains("history is complete from version"),
            "{e}"
        );
    }
    let conn = rusqlite::Connection::open(kb.path().join("kb.sqlite"))?;
    let v: String = conn.query_row(
        "SELECT value FROM meta WHERE key='schema_version'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(v, "2");
    Ok(())
}

#[tokio::test]
async fn reembed_switches_the_embedder_in_place_as_a_new_version() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    for (f, t) in [
        ("return.md", "# 退貨\n收到商品後七天內可以申請退貨。"),
        ("warranty.md", "# 保固\n大型家電保固兩年。"),
        ("shipping.md", "# 運費\n滿千免運，偏遠地區另計。"),
    ] {
        std::fs::write(src.path().join(f), t)?;
    }
    let before = {
        let p = support::open(kb.path()).await?;
        p.sync(sync_req(src.path())).await?.kb_version
    };
    let new_embedder = || -> ragcore::Result<Arc<CountingEmbedder>> {
        Ok(CountingEmbedder::new(Arc::new(HashingEmbedder::new(256)?)))
    };
    let opts = |e: Arc<CountingEmbedder>, reembed: bool| LocalOptions {
        embedder: Some(e),
        reembed,
        ..Default::default()
    };
    // A plain open with another embedder is a clear error that names the command.
    let e = Pipeline::open_local(kb.path(), opts(new_embedder()?, false))
        .await
        .err()
        .ok_or("opened with another embedder")?;
    assert_eq!(e.kind(), ErrorKind::Incompatible);
    assert!(e.to_string().contains("ragcore reembed"), "{e}");

    let counter = new_embedder()?;
    let p = Pipeline::open_local(kb.path(), opts(counter.clone(), true)).await?;
    // Until re-embedded, nothing can mix vectors.
    let e = p
        .ask(AskRequest::new("退貨要幾天內申請？", Scope::tenant("acme")))
        .await
        .err()
        .ok_or("ask before reembed")?;
    assert!(e.to_string().contains("reembed"), "{e}");
    let live = p.store().info().await?.chunks;
    let rep = p.reembed().await?;
    assert_eq!(rep.chunks_embedded, live);
    assert_eq!(counter.take(), live);
    assert_eq!(rep.kb_version, before + 1);
    let a = p
        .ask(AskRequest::new("退貨要幾天內申請？", Scope::tenant("acme")))
        .await?;
    assert!(a.text.contains("七天"), "{}", a.text);
    drop(p);

    // Reopened normally with the new embedder; the old one is now the mismatch.
    let p = Pipeline::open_local(kb.path(), opts(new_embedder()?, false)).await?;
    assert_eq!(p.store().info().await?.fingerprint.dimensions, 256);
    assert!(p.store().verify().await?.is_consistent());
    let hits = p
        .retrieve_full(
            "大型家電保固兩年",
            &Scope::tenant("acme"),
            Some(Fusion::VectorOnly),
        )
        .await?
        .hits;
    assert_eq!(
        hits.first().map(|h| h.document_id.as_str()),
        Some("warranty.md")
    );
    assert_eq!(
        p.store().versions().await?.last().map(|v| v.note.clone()),
        Some("reembed".to_string())
    );
    let e = p
        .rollback(Some("acme"), before)
        .await
        .err()
        .ok_or("rollback across reembed")?;
    assert!(e.to_string().contains("cannot be restored"), "{e}");
    assert!(
        support::open(kb.path()).await.is_err(),
        "the old embedder no longer matches"
    );
    Ok(())
}

/// Asks run in a loop while syncs replace the only relevant document every round: every answer
/// must cite only documents of the version it reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asks_during_syncs_cite_exactly_one_version() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    std::fs::write(src.path().join("base.md"), "# 運費\n滿千免運。")?;
    let write_round = |i: usize| -> std::io::Result<()> {
        if i > 0 {
            std::fs::remove_file(src.path().join(format!("notice-{}.md", i - 1)))?;
        }
        std::fs::write(
            src.path().join(format!("notice-{i}.md")),
            format!("# 本週公告\n本週公告代號是 ROUND{i}，請依本週公告辦理。"),
        )
    };
    write_round(0)?;
    let first = p.sync(sync_req(src.path())).await?.kb_version;
    let mut expected = std::collections::HashMap::new();
    expected.insert(first, "notice-0.md".to_string());

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asker = {
        let (p, done) = (p.clone(), done.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) || answers.len() < 20 {
                let a = p
                    .ask(AskRequest::new(
                        "本週公告代號是什麼？",
                        Scope::tenant("acme"),
                    ))
                    .await?;
                answers.push(a);
                tokio::task::yield_now().await;
            }
            Ok::<_, ragcore::Error>(answers)
        })
    };
    for i in 1..=25 {
        write_round(i)?;
        let r = p.sync(sync_req(src.path())).await?;
        assert_eq!((r.documents_added, r.documents_removed), (1, 1), "{r:?}");
        expected.insert(r.kb_version, format!("notice-{i}.md"));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers = asker.await??;
    let mut cited = 0;
    for a in &answers {
        let notice = expected
            .get(&a.kb_version)
            .ok_or("answer from an unknown version")?;
        let live = p.store().documents_at("acme", a.kb_version).await?;
        for c in &a.citations {
            assert!(
                live.contains(&c.document_id),
                "v{}: {} not live",
                a.kb_version,
                c.document_id
            );
            if c.document_id.starts_with("notice-") {
                assert_eq!(
                    &c.document_id, notice,
                    "v{} cites another version's notice",
                    a.kb_version
                );
                cited += 1;
            }
        }
        if let Some(round) = notice
            .strip_prefix("notice-")
            .and_then(|s| s.strip_suffix(".md"))
        {
            for other in (0..=25).filter(|n| n.to_string() != round) {
                assert!(
                    !a.text.contains(&format!("ROUND{other}。"))
                        && !a.text.contains(&format!("ROUND{other}，")),
                    "v{} answer mentions round {other}: {}",
                    a.kb_version,
                    a.text
                );
            }
        }
    }
    assert!(
        cited >= 20,
        "only {cited} citations checked over {} answers",
        answers.len()
    );
    Ok(())
}

fn tiny_pdf(pages: &[&str]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for text in pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 720.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode()?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let n = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => n, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

#[tokio::test]
async fn html_and_pdf_load_with_pages_in_citations_and_bad_files_are_per_file_errors() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    std::fs::write(
        src.path().join("policy.html"),
        "<html><head><title>Return policy</title><script>track()</script></head><body>\
         <nav>Home | Shop</nav><main><h1>Returns</h1><p>Unused items can be returned within 30 days.</p>\
         <h2>Fees</h2><table><tr><th>Region</th><th>Fee</th></tr><tr><td>Mainland</td><td>80 TWD</td></tr></table>\
         </main><footer>Copyright</footer></body></html>",
    )?;
    let pdf = tiny_pdf(&[
        "Installation guide for the AX-9 water purifier.",
        "The AX-9 filter cartridge must be replaced every 6 months.",
    ])?;
    std::fs::write(src.path().join("manual.pdf"), &pdf)?;
    let r1 = p.sync(sync_req(src.path())).await?;
    assert!(r1.errors.is_empty(), "{:?}", r1.errors);
    assert_eq!(
        r1.documents_added, 3,
        "one HTML page + two PDF pages: {r1:?}"
    );

    let scope = Scope::tenant("acme");
    let a = p
        .ask(AskRequest::new(
            "How often must the AX-9 filter cartridge be replaced?",
            scope.clone(),
        ))
        .await?;
    assert!(a.text.contains("6 months"), "{}", a.text);
    let c = a.citations.first().ok_or("no citation")?;
    assert_eq!(c.document_id, "manual.pdf#p2");
    assert!(c.title.contains("(p. 2)"), "{}", c.title);
    let hits = p.retrieve("Mainland fee", &scope).await?;
    let h = hits.first().ok_or("no hit")?;
    assert_eq!(h.document_id, "policy.html");
    assert!(h.text.contains("Mainland | 80 TWD"), "{}", h.text);
    assert!(
        lexical_ids(&p, "track Copyright").await?.is_empty(),
        "script/footer indexed"
    );

    // Bad inputs: each is a per-file error; the good new file is committed; the previous
    // version of a file that turned bad is kept.
    std::fs::write(src.path().join("manual.pdf"), &pdf[..pdf.len() / 2])?; // truncated
    std::fs::write(
        src.path().join("fake.pdf"),
        "just text pretending to be a PDF",
    )?;
    std::fs::write(src.path().join("bomb.html"), "<div>".repeat(200_000))?;
    std::fs::write(
        src.path().join("image.md"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    )?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(src.path().join("gone.md"), src.path().join("vanished.md"))?;
    std::fs::write(
        src.path().join("new.md"),
        "# Opening hours\nWe open at 9 am.",
    )?;
    let strict = p
        .sync(SyncRequest {
            strict: true,
            ..sync_req(src.path())
        })
        .await?;
    assert_eq!(strict.kb_version, r1.kb_version, "strict commits nothing");
    let r2 = p.sync(sync_req(src.path())).await?;
    let msgs: Vec<&str> = r2.errors.iter().map(|e| e.message.as_str()).collect();
    let expect_err = |file: &str, words: &str| {
        assert!(
            msgs.iter().any(|m| m.contains(file) && m.contains(words)),
            "{file}: {words:?} not in {msgs:?}"
        )
    };
    expect_err("manual.pdf", "truncated or corrupt");
    expect_err("fake.pdf", "not a PDF");
    expect_err("bomb.html", "nested more than");
    expect_err("image.md", "binary");
    #[cfg(unix)]
    expect_err("vanished.md", "cannot read");
    assert!(
        r2.errors.iter().all(|e| e.kind == "load"),
        "{:?}",
        r2.errors
    );
    assert_eq!((r2.documents_added, r2.documents_removed), (1, 0), "{r2:?}");
    let ids: Vec<String> = p
        .store()
        .documents("acme")
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    for kept in ["manual.pdf#p1", "manual.pdf#p2", "policy.html", "new.md"] {
        assert!(
            ids.contains(&kept.to_string()),
            "{kept} missing from {ids:?}"
        );
    }
    assert!(p.store().verify().await?.is_consistent());
    Ok(())
}

#[tokio::test]
async fn asks_are_recorded_for_drift_and_refusals_become_faq_gaps() -> R {
    use ragcore::drift::{AskRecord, DriftLog, DriftReportRequest};
    let kb = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    support::ingest(
        &p,
        "acme",
        vec![
            support::faq(
                "faq#1",
                "退貨要幾天內申請？",
                "收到商品後七天內可以申請退貨。",
            ),
            support::faq("faq#2", "運費怎麼算？", "滿千免運，未滿收 80 元。"),
        ],
    )
    .await?;
    let scope = Scope::tenant("acme");
    let mut refused = 0;
    for q in [
        "退貨要幾天內申請？",
        "運費怎麼算？",
        "可以用 Bitcoin 付款嗎？我的手機是 0912345678",
        "可以用 Bitcoin 付款嗎？",
    ] {
        let a = p.ask(AskRequest::new(q, scope.clone())).await?;
        assert_eq!(a.no_answer, q.contains("Bitcoin"), "{q}: {}", a.text);
        refused += usize::from(a.no_answer);
    }
    assert_eq!(refused, 2);
    let r = p.drift_report(DriftReportRequest::new("acme")).await?;
    assert_eq!(r.recent.asks, 4, "{r:?}");
    assert_eq!(r.recent.no_answer_rate, Some(0.5), "{r:?}");
    assert!(r.recent.mean_top_score.is_some_and(|s| s > 0.0), "{r:?}");
    let d = r
        .recent
        .mean_centroid_distance
        .ok_or("no centroid distance")?;
    assert!((0.0..=2.0).contains(&d), "{d}");
    let gap = r.gaps.first().ok_or("no FAQ gap")?;
    assert_eq!(gap.asks, 2, "{:?}", r.gaps);
    assert!(
        gap.examples.iter().all(|q| !q.contains("0912345678")),
        "PII kept: {:?}",
        gap.examples
    );
    assert_eq!(r.baseline.asks, 0);

    // The windows: a baseline of good days, then a recent week that got worse.
    let log = ragcore::SqliteDriftLog::open(kb.path().join("kb.sqlite"))?;
    let rec = |day: &str, score: f32, no: bool| AskRecord {
        day: day.into(),
        tenant: "beta".into(),
        top_score: Some(score),
        no_answer: no,
        query_vector: None,
        question: no.then(|| "營業時間？".to_string()),
    };
    for d in ["2026-01-01", "2026-01-10", "2026-01-20"] {
        log.record(rec(d, 0.8, false)).await?;
    }
    log.record(rec("2026-01-29", 0.4, true)).await?;
    log.record(rec("2026-02-01", 0.5, false)).await?;
    log.record(rec("2025-01-01", 0.9, false)).await?; // outside both windows
    let mut req = DriftReportRequest::new("beta");
    req.today = Some("2026-02-01".into());
    let r = log.report(req).await?;
    assert_eq!(
        r.recent_window,
        ("2026-01-26".to_string(), "2026-02-01".to_string())
    );
    assert_eq!(
        r.baseline_window,
        ("2025-12-29".to_string(), "2026-01-25".to_string())
    );
    assert_eq!((r.recent.asks, r.baseline.asks), (2, 3));
    assert_eq!(r.recent.no_answer_rate, Some(0.5));
    let change = r.top_score_change.ok_or("no change")?;
    assert!((change - (0.45 - 0.8)).abs() < 1e-6, "{change}");
    assert_eq!(r.no_answer_rate_change, Some(0.5));
    assert_eq!(r.days.len(), 5);
    Ok(())
}
