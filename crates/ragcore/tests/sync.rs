//! `sync`: a tenant mirrors a directory — additions, edits and deletions in one version, deletes
//! reaching SQLite, BM25 and the vector index, failed files keeping their previous version,
//! strict mode, version history and diffs, verify and repair.

mod support;

use ragcore::pipeline::SyncRequest;
use ragcore::{Fusion, Scope};

type R = Result<(), Box<dyn std::error::Error>>;

fn sync_req(root: &std::path::Path) -> SyncRequest {
    SyncRequest {
        root: root.to_path_buf(),
        tenant: "acme".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn sync_adds_changes_and_removes_in_one_version() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    std::fs::write(
        src.path().join("return.md"),
        "# 退貨\n收到商品後七天內可以申請退貨。",
    )?;
    std::fs::write(src.path().join("warranty.md"), "# 保固\n大型家電保固兩年。")?;
    std::fs::write(
        src.path().join("ufo.md"),
        "# 飛碟\n我們提供 UFO 保固，期限一百年。",
    )?;
    // A document from elsewhere: sync must never delete it.
    support::ingest(
        &p,
        "acme",
        vec![support::faq("manual#1", "客服電話？", "0800-123-456。")],
    )
    .await?;
    let r1 = p.sync(sync_req(src.path())).await?;
    assert_eq!((r1.documents_added, r1.documents_removed), (3, 0));
    let scope = Scope::tenant("acme");
    assert!(p
        .retrieve_full("UFO 保固", &scope, Some(Fusion::LexicalOnly))
        .await?
        .hits
        .iter()
        .any(|h| h.document_id == "ufo.md"));

    std::fs::remove_file(src.path().join("ufo.md"))?;
    std::fs::write(src.path().join("warranty.md"), "# 保固\n大型家電保固三年。")?;
    std::fs::write(src.path().join("shipping.md"), "# 運費\n滿千免運。")?;
    let r2 = p.sync(sync_req(src.path())).await?;
    assert_eq!(
        (
            r2.documents_added,
            r2.documents_changed,
            r2.documents_removed
        ),
        (1, 1, 1),
        "{r2:?}"
    );
    assert_eq!(r2.kb_version, r1.kb_version + 1, "one sync, one version");
    // The deleted document is gone from both searches; the other source's document stays.
    for fusion in [Fusion::LexicalOnly, Fusion::VectorOnly] {
        let hits = p
            .retrieve_full("UFO 保固 飛碟", &scope, Some(fusion))
            .await?
            .hits;
        assert!(
            hits.iter().all(|h| h.document_id != "ufo.md"),
            "{fusion:?}: {hits:?}"
        );
    }
    assert!(p
        .retrieve("客服電話？", &scope)
        .await?
        .iter()
        .any(|h| h.document_id == "manual#1"));
    let a = p
        .ask(ragcore::AskRequest::new(
            "你們有提供 UFO 保固嗎？",
            scope.clone(),
        ))
        .await?;
    assert!(a.no_answer, "{}", a.text);

    let diff = p.store().diff("acme", r1.kb_version, r2.kb_version).await?;
    assert_eq!(
        (diff.added, diff.changed, diff.removed),
        (
            vec!["shipping.md".to_string()],
            vec!["warranty.md".to_string()],
            vec!["ufo.md".to_string()]
        )
    );
    let versions = p.store().versions().await?;
    assert_eq!(
        versions
            .last()
            .map(|v| (v.note.as_str(), v.documents_removed)),
        Some(("sync", 1))
    );

    // Unchanged re-sync: nothing embedded, no new version.
    let r3 = p.sync(sync_req(src.path())).await?;
    assert_eq!(
        (r3.chunks_embedded, r3.kb_version, r3.documents_removed),
        (0, r2.kb_version, 0)
    );
    let v = p.store().verify().await?;
    assert!(v.is_consistent(), "{v:?}");
    Ok(())
}

#[tokio::test]
async fn a_failed_file_keeps_its_previous_version_and_strict_commits_nothing() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    std::fs::write(
        src.path().join("return.md"),
        "# 退貨\n收到商品後七天內可以申請退貨。",
    )?;
    std::fs::write(
        src.path().join("faq.csv"),
        "question,answer\n運費怎麼算？,滿千免運。\n",
    )?;
    let r1 = p.sync(sync_req(src.path())).await?;
    assert_eq!(r1.documents_added, 2);
    // Both files become unreadable as text: errors, but their documents are kept.
    std::fs::write(src.path().join("return.md"), b"\x00\x01binary")?;
    std::fs::write(src.path().join("faq.csv"), "no_question_column\nx\n")?;
    std::fs::write(src.path().join("new.md"), "# 新\n新的文件。")?;
    let strict = p
        .sync(SyncRequest {
            strict: true,
            ..sync_req(src.path())
        })
        .await?;
    assert_eq!(strict.errors.len(), 2);
    assert_eq!(
        strict.kb_version, r1.kb_version,
        "strict: nothing committed"
    );
    let r2 = p.sync(sync_req(src.path())).await?;
    assert_eq!(r2.errors.len(), 2, "{:?}", r2.errors);
    assert_eq!((r2.documents_added, r2.documents_removed), (1, 0), "{r2:?}");
    let scope = Scope::tenant("acme");
    let a = p
        .ask(ragcore::AskRequest::new("運費怎麼算？", scope.clone()))
        .await?;
    assert!(a.text.contains("滿千免運"), "{}", a.text);
    let a = p
        .ask(ragcore::AskRequest::new("退貨要幾天內申請？", scope))
        .await?;
    assert!(a.text.contains("七天"), "{}", a.text);
    Ok(())
}

#[tokio::test]
async fn verify_finds_and_repair_fixes_inconsistencies() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    for i in 0..5 {
        std::fs::write(
            src.path().join(format!("d{i}.md")),
            format!("# 文件 {i}\n第 {i} 份文件的內容。"),
        )?;
    }
    {
        let p = support::open(kb.path()).await?;
        p.sync(sync_req(src.path())).await?;
        assert!(p.store().verify().await?.is_consistent());
    }
    // Damage the derived BM25 index behind the store's back.
    {
        let conn = rusqlite::Connection::open(kb.path().join("kb.sqlite"))?;
        conn.execute(
            "INSERT INTO chunks_fts(rowid, terms) VALUES (99999, 'stray')",
            [],
        )?;
    }
    let p = support::open(kb.path()).await?;
    let v = p.store().verify().await?;
    assert_eq!(v.stray_lexical, 1, "{v:?}");
    assert!(!v.is_consistent());
    let fixed = p.store().repair().await?;
    assert!(fixed.is_consistent(), "{fixed:?}");
    assert_eq!(fixed.live_chunks, 5);
    Ok(())
}

#[tokio::test]
async fn expired_documents_are_flagged_in_answers() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let p = support::open(kb.path()).await?;
    std::fs::write(
        src.path().join("promo.md"),
        "---\ntitle: 週年慶\nvalid_until: 2020-01-31\n---\n週年慶期間全館八折，會員再享免運。",
    )?;
    std::fs::write(src.path().join("faq.csv"), "question,answer,valid_until\n保固多久？,兩年保固。,2999-12-31\n運費？,滿千免運。,31/12/2020\n")?;
    let r = p.sync(sync_req(src.path())).await?;
    assert_eq!(r.documents_added, 2, "{r:?}");
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("row 3, field \"valid_until\"")
                && e.message.contains("YYYY-MM-DD")),
        "{:?}",
        r.errors
    );
    let scope = Scope::tenant("acme");
    let a = p
        .ask(ragcore::AskRequest::new("週年慶有打折嗎？", scope.clone()))
        .await?;
    assert!(a.text.contains("八折"), "{}", a.text);
    let v = a
        .verdicts
        .iter()
        .find(|v| v.name == "stale")
        .ok_or("no stale verdict")?;
    assert!(
        v.detail.contains("promo.md") && v.detail.contains("2020-01-31"),
        "{}",
        v.detail
    );
    let a = p.ask(ragcore::AskRequest::new("保固多久？", scope)).await?;
    assert!(
        a.verdicts.iter().all(|v| v.name != "stale"),
        "{:?}",
        a.verdicts
    );
    let docs = p.store().documents("acme").await?;
    let promo = docs
        .iter()
        .find(|d| d.id == "promo.md")
        .ok_or("promo missing")?;
    assert_eq!(
        (promo.title.as_str(), promo.valid_until.as_deref()),
        ("週年慶", Some("2020-01-31"))
    );
    Ok(())
}

#[tokio::test]
async fn deletions_shrink_the_vector_index() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    for i in 0..200 {
        std::fs::write(
            src.path().join(format!("d{i:03}.md")),
            format!("# 文件 {i}\n第 {i} 份文件，代號 X{i}Y。"),
        )?;
    }
    // A second handle on the same directory loads the persisted graph: its size is what is on disk.
    let persisted_graph = || async {
        let cfg = ragcore::store::LocalStoreConfig {
            fingerprint: ragcore::Embedder::fingerprint(&ragcore::HashingEmbedder::default()),
            profile: ragcore::PipelineConfig::default().store_profile(),
            ann: Default::default(),
        };
        ragcore::LocalStore::open_async(kb.path(), cfg)
            .await?
            .graph_len()
    };
    let p = support::open(kb.path()).await?;
    p.sync(sync_req(src.path())).await?;
    assert_eq!(persisted_graph().await?, 200);
    for i in 0..150 {
        std::fs::remove_file(src.path().join(format!("d{i:03}.md")))?;
    }
    let r = p.sync(sync_req(src.path())).await?;
    assert_eq!(r.documents_removed, 150);
    assert_eq!(
        persisted_graph().await?,
        50,
        "tombstones were compacted away"
    );
    let hits = p
        .retrieve_full(
            "代號 X170Y",
            &Scope::tenant("acme"),
            Some(Fusion::VectorOnly),
        )
        .await?
        .hits;
    assert_eq!(
        hits.first().map(|h| h.document_id.as_str()),
        Some("d170.md")
    );
    assert!(p.store().verify().await?.is_consistent());
    Ok(())
}
