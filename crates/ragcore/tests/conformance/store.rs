//! Store checks every backend must pass: ingest, re-ingest, sync with edits and deletes,
//! versions, diffs and rollback, scope isolation (tenants and ACL principals), the shape of
//! BM25 and vector results on a small fixture, asks citing one version, and `verify`.

use ragcore::pipeline::SyncRequest;
use ragcore::{AskRequest, Document, DocumentKind, Fusion, IngestRequest, Pipeline, Scope};

fn faq(id: &str, q: &str, a: &str) -> Document {
    Document::faq(id, q, a)
}

fn text_doc(id: &str, title: &str, text: &str, acl: &[&str]) -> Document {
    let mut d = Document::new(id, text);
    d.title = title.to_string();
    d.kind = DocumentKind::Text;
    d.acl = acl.iter().map(|s| s.to_string()).collect();
    d
}

/// The small fixture: distinct topics in Chinese and English.
fn fixture() -> Vec<Document> {
    vec![
        faq(
            "returns",
            "退貨要幾天內申請？",
            "收到商品後七天內可以申請退貨，請保留發票。",
        ),
        faq(
            "warranty",
            "大型家電保固多久？",
            "大型家電保固兩年，電池保固六個月。",
        ),
        faq(
            "shipping",
            "運費怎麼算？",
            "訂單滿一千元免運費，未滿收取八十元。",
        ),
        faq(
            "hotline",
            "客服電話是多少？",
            "客服專線 0800-123-456，週一至週五服務。",
        ),
        faq(
            "password",
            "How do I reset my password?",
            "Open Settings, choose Security and press Reset password; a link is emailed.",
        ),
        faq(
            "invoice",
            "Where can I download invoices?",
            "Invoices are under Billing > History as PDF files.",
        ),
    ]
}

async fn ingest(kb: &Pipeline, tenant: &str, docs: Vec<Document>) -> ragcore::IngestReport {
    let r = kb
        .ingest(IngestRequest::documents(tenant, docs))
        .await
        .expect("ingest");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

async fn top(kb: &Pipeline, q: &str, scope: &Scope, fusion: Fusion) -> Vec<String> {
    kb.retrieve_full(q, scope, Some(fusion))
        .await
        .expect("retrieve")
        .hits
        .into_iter()
        .map(|h| h.document_id)
        .collect()
}

/// Ingest writes one version; the same documents again embed and write nothing.
pub async fn ingest_then_reingest_embeds_nothing(kb: &Pipeline) {
    let r1 = ingest(kb, "acme", fixture()).await;
    assert_eq!(r1.documents_added, 6, "{r1:?}");
    assert!(r1.chunks_added >= 6 && r1.chunks_embedded >= 6, "{r1:?}");
    assert_eq!(r1.kb_version, 1);
    let r2 = ingest(kb, "acme", fixture()).await;
    assert_eq!(
        (r2.documents_unchanged, r2.chunks_embedded, r2.chunks_added),
        (6, 0, 0),
        "{r2:?}"
    );
    assert_eq!(r2.kb_version, 1, "nothing changed, no new version");
    let info = kb.store().info().await.expect("info");
    assert_eq!(
        (info.documents, info.tenants.clone()),
        (6, vec!["acme".to_string()])
    );
    assert_eq!(info.chunks, r1.chunks_added);
    // One changed document: only its chunks are embedded again.
    let mut docs = fixture();
    docs[2] = faq(
        "shipping",
        "運費怎麼算？",
        "訂單滿兩千元免運費，未滿收取一百元。",
    );
    let r3 = ingest(kb, "acme", docs).await;
    assert_eq!(
        (r3.documents_changed, r3.documents_unchanged),
        (1, 5),
        "{r3:?}"
    );
    assert_eq!(r3.kb_version, 2);
    assert!(
        r3.chunks_embedded >= 1 && r3.chunks_embedded < r1.chunks_embedded,
        "{r3:?}"
    );
}

/// A sync mirrors a directory: additions, edits and deletions as one version, deletions gone
/// from both searches, documents from elsewhere kept.
pub async fn sync_adds_edits_and_deletes_in_one_version(kb: &Pipeline) {
    let src = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, text: &str| std::fs::write(src.path().join(name), text).expect("write");
    w("return.md", "# 退貨\n收到商品後七天內可以申請退貨。");
    w("warranty.md", "# 保固\n大型家電保固兩年。");
    w("ufo.md", "# 飛碟\n我們提供 UFO 保固，期限一百年。");
    ingest(
        kb,
        "acme",
        vec![faq("manual#1", "客服電話？", "0800-123-456。")],
    )
    .await;
    let req = || SyncRequest {
        root: src.path().to_path_buf(),
        tenant: "acme".into(),
        ..Default::default()
    };
    let r1 = kb.sync(req()).await.expect("sync");
    assert_eq!((r1.documents_added, r1.documents_removed), (3, 0), "{r1:?}");
    let scope = Scope::tenant("acme");
    assert!(top(kb, "UFO 保固", &scope, Fusion::LexicalOnly)
        .await
        .contains(&"ufo.md".to_string()));

    std::fs::remove_file(src.path().join("ufo.md")).expect("rm");
    w("warranty.md", "# 保固\n大型家電保固三年。");
    w("shipping.md", "# 運費\n滿千免運。");
    let r2 = kb.sync(req()).await.expect("sync");
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
    for fusion in [Fusion::LexicalOnly, Fusion::VectorOnly] {
        let hits = top(kb, "UFO 保固 飛碟", &scope, fusion).await;
        assert!(
            !hits.contains(&"ufo.md".to_string()),
            "{fusion:?}: {hits:?}"
        );
    }
    assert!(top(kb, "客服電話？", &scope, Fusion::LexicalOnly)
        .await
        .contains(&"manual#1".to_string()));
    let d = kb
        .store()
        .diff("acme", r1.kb_version, r2.kb_version)
        .await
        .expect("diff");
    assert_eq!(d.added, vec!["shipping.md"]);
    assert_eq!(d.changed, vec!["warranty.md"]);
    assert_eq!(d.removed, vec!["ufo.md"]);
    // Unchanged directory: no version.
    let r3 = kb.sync(req()).await.expect("sync");
    assert_eq!(r3.kb_version, r2.kb_version, "{r3:?}");
}

/// Versions are recorded with their counts; diff nets changes; rollback writes the old
/// documents as a new version without embedding.
pub async fn versions_diff_and_rollback(kb: &Pipeline) {
    ingest(kb, "acme", fixture()).await; // v1
    let mut docs = fixture();
    docs[1] = faq(
        "warranty",
        "大型家電保固多久？",
        "大型家電保固五年，電池保固一年。",
    );
    ingest(kb, "acme", docs).await; // v2
    let store = kb.store();
    let removed = store
        .delete(ragcore::store::DeleteRequest {
            tenant: "acme".into(),
            document_ids: vec!["hotline".into(), "missing".into()],
        })
        .await
        .expect("delete"); // v3
    assert_eq!((removed.kb_version, removed.documents_removed), (3, 1));
    let versions = store.versions().await.expect("versions");
    let counts: Vec<(u64, u64, u64, u64)> = versions
        .iter()
        .map(|v| {
            (
                v.version,
                v.documents_added,
                v.documents_changed,
                v.documents_removed,
            )
        })
        .collect();
    assert_eq!(counts, vec![(1, 6, 0, 0), (2, 0, 1, 0), (3, 0, 0, 1)]);
    let d = store.diff("acme", 0, 3).await.expect("diff");
    assert_eq!(d.added.len(), 5, "{d:?}");
    assert!(d.removed.is_empty() && d.changed.is_empty(), "{d:?}");
    let d = store.diff("acme", 1, 3).await.expect("diff");
    assert_eq!(
        (d.changed.clone(), d.removed.clone()),
        (vec!["warranty".to_string()], vec!["hotline".to_string()])
    );
    assert_eq!(store.documents_at("acme", 1).await.expect("at").len(), 6);
    assert_eq!(store.documents_at("acme", 3).await.expect("at").len(), 5);
    assert!(store.diff("nobody", 0, 3).await.is_err(), "unknown tenant");

    let rb = kb.rollback(Some("acme"), 1).await.expect("rollback"); // v4
    assert_eq!(rb.kb_version, 4, "{rb:?}");
    assert_eq!((rb.documents_added, rb.documents_changed), (1, 1), "{rb:?}");
    let scope = Scope::tenant("acme");
    let hits = kb
        .retrieve_full("大型家電保固多久", &scope, Some(Fusion::LexicalOnly))
        .await
        .expect("retrieve")
        .hits;
    let warranty = hits
        .iter()
        .find(|h| h.document_id == "warranty")
        .expect("warranty back");
    assert!(warranty.text.contains("兩年"), "{}", warranty.text);
    assert!(top(kb, "客服電話是多少", &scope, Fusion::LexicalOnly)
        .await
        .contains(&"hotline".to_string()));
    let docs = store.documents("acme").await.expect("documents");
    assert_eq!(docs.len(), 6);
    assert!(
        kb.rollback(Some("acme"), 99).await.is_err(),
        "future version"
    );
    // Rolling back to the current content changes nothing.
    let again = kb.rollback(Some("acme"), 4).await.expect("rollback");
    assert_eq!(again.kb_version, 4);
}

/// Two tenants with the same words and ACL documents inside one: no search of any fusion
/// returns another tenant's or a forbidden document, over many probes.
pub async fn scope_isolation_never_leaks(kb: &Pipeline) {
    let topics = [
        "退貨", "保固", "運費", "客服", "password", "invoice", "refund", "電池",
    ];
    for tenant in ["alpha", "beta"] {
        let mut docs = Vec::new();
        for (i, t) in topics.iter().enumerate() {
            docs.push(text_doc(
                &format!("{tenant}-pub-{i}"),
                &format!("{t} {tenant}"),
                &format!("{tenant} 的 {t} 說明：{t} 相關規定第 {i} 條，about {t}."),
                &[],
            ));
            docs.push(text_doc(
                &format!("{tenant}-hr-{i}"),
                &format!("{t} 人資"),
                &format!("{tenant} 人資專用 {t} 機密：{t} salary bands {i}."),
                &["hr"],
            ));
        }
        ingest(kb, tenant, docs).await;
    }
    let mut probes = 0;
    for tenant in ["alpha", "beta"] {
        let other = if tenant == "alpha" { "beta" } else { "alpha" };
        for principals in [vec![], vec!["hr".to_string()], vec!["eng".to_string()]] {
            let scope = Scope::tenant(tenant).with_principals(principals.clone());
            for t in topics {
                for q in [
                    t.to_string(),
                    format!("{t} 機密 salary"),
                    format!("{other} {t}"),
                ] {
                    for fusion in [Fusion::LexicalOnly, Fusion::VectorOnly, Fusion::default()] {
                        let hits = top(kb, &q, &scope, fusion).await;
                        probes += 1;
                        for h in &hits {
                            assert!(h.starts_with(tenant), "{tenant} {principals:?} {q}: {h}");
                            if !principals.contains(&"hr".to_string()) {
                                assert!(!h.contains("-hr-"), "{tenant} {principals:?} {q}: {h}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(probes >= 400, "{probes}");
    // The HR principal does see HR documents.
    let hr = top(
        kb,
        "保固 機密 salary",
        &Scope::tenant("alpha").with_principals(["hr"]),
        Fusion::LexicalOnly,
    )
    .await;
    assert!(hr.iter().any(|h| h.contains("-hr-")), "{hr:?}");
    // An unknown tenant is told so, on every backend.
    let err = kb
        .retrieve_full("保固", &Scope::tenant("gamma"), None)
        .await
        .expect_err("unknown tenant");
    assert!(err.to_string().contains("gamma"), "{err}");
}

/// The expected top hit of each fixture question, for BM25 and vectors alike.
pub async fn searches_agree_on_the_fixture(kb: &Pipeline) {
    ingest(kb, "acme", fixture()).await;
    let scope = Scope::tenant("acme");
    let cases = [
        ("退貨要幾天內申請", "returns"),
        ("大型家電保固多久", "warranty"),
        ("運費怎麼算", "shipping"),
        ("客服電話", "hotline"),
        ("reset my password", "password"),
        ("download invoices", "invoice"),
    ];
    for (q, want) in cases {
        for fusion in [Fusion::LexicalOnly, Fusion::VectorOnly, Fusion::default()] {
            let hits = kb
                .retrieve_full(q, &scope, Some(fusion))
                .await
                .expect("retrieve")
                .hits;
            assert_eq!(
                hits.first().map(|h| h.document_id.as_str()),
                Some(want),
                "{q} {fusion:?}: {hits:?}"
            );
            assert!(
                hits.windows(2).all(|w| w[0].score >= w[1].score),
                "{q} {fusion:?}: ordered"
            );
            assert!(hits.iter().all(|h| h.score.is_finite()), "{hits:?}");
        }
    }
}

/// What `hybrid_search_equals_fusing_both_searches` compares of a fused hit: chunk id, document
/// id, title, text, fused score, vector score, lexical score.
type FusedShape = (
    String,
    String,
    String,
    String,
    f32,
    Option<f32>,
    Option<f32>,
);

/// The store's `hybrid_search` (the local store ranks candidates by id before it reads rows)
/// gives exactly what fusing the rows of both searches gives, for every fusion, inside tenant
/// and ACL scopes.
pub async fn hybrid_search_equals_fusing_both_searches(kb: &Pipeline) {
    use ragcore::embed::{EmbedRequest, InputType};
    use ragcore::store::{HybridSearchRequest, LexicalSearchRequest, VectorSearchRequest};
    ingest(kb, "acme", fixture()).await;
    ingest(
        kb,
        "acme",
        vec![
            text_doc(
                "hr",
                "年終獎金",
                "年終獎金於一月底發放，依考績計算。",
                &["hr"],
            ),
            text_doc(
                "ops",
                "Shipping ops",
                "Warehouse shipping cut-off is 3 pm.",
                &["ops"],
            ),
        ],
    )
    .await;
    ingest(
        kb,
        "globex",
        vec![faq("g1", "退貨流程？", "Globex 不接受退貨。")],
    )
    .await;
    let store = kb.store();
    let fusions = [
        Fusion::LexicalOnly,
        Fusion::VectorOnly,
        Fusion::Linear { vector_weight: 0.3 },
        Fusion::Normalized { vector_weight: 0.5 },
        Fusion::Rrf {
            k: 60.0,
            vector_weight: 0.5,
            lexical_weight: 0.5,
        },
    ];
    let scopes = [
        Scope::tenant("acme"),
        Scope::tenant("acme").with_principals(["hr"]),
        Scope::tenant("globex"),
        Scope::tenant("nobody"),
    ];
    let queries = [
        "退貨要幾天內申請",
        "年終獎金",
        "shipping cut-off",
        "reset my password",
        "保固",
    ];
    for q in queries {
        let vector = kb
            .embedder()
            .embed(EmbedRequest {
                texts: vec![q.to_string()],
                input_type: InputType::Query,
            })
            .await
            .expect("embed")
            .vectors
            .remove(0);
        let terms: Vec<String> = ragcore::text::Segmenter::default()
            .terms(q)
            .into_iter()
            .filter(|t| !t.stop)
            .map(|t| t.text)
            .collect();
        for scope in &scopes {
            for fusion in fusions {
                for (k, keep) in [(40, 5), (3, 2), (10, 0)] {
                    let want = {
                        let v = if matches!(fusion, Fusion::LexicalOnly) {
                            Vec::new()
                        } else {
                            store
                                .vector_search(VectorSearchRequest {
                                    vector: vector.clone(),
                                    scope: scope.clone(),
                                    k,
                                })
                                .await
                                .expect("vector search")
                        };
                        let l = if matches!(fusion, Fusion::VectorOnly) {
                            Vec::new()
                        } else {
                            store
                                .lexical_search(LexicalSearchRequest {
                                    terms: terms.clone(),
                                    scope: scope.clone(),
                                    k,
                                })
                                .await
                                .expect("lexical search")
                        };
                        let top = v.first().map(|c| c.score);
                        let mut f = ragcore::retrieve::fuse(&fusion, v, l);
                        f.truncate(keep);
                        (top, f)
                    };
                    let got = store
                        .hybrid_search(HybridSearchRequest {
                            vector: (!matches!(fusion, Fusion::LexicalOnly))
                                .then(|| vector.clone()),
                            terms: (!matches!(fusion, Fusion::VectorOnly)).then(|| terms.clone()),
                            scope: scope.clone(),
                            k,
                            keep,
                            fusion,
                        })
                        .await
                        .expect("hybrid search");
                    let case = format!("{q:?} {scope:?} {fusion:?} k={k} keep={keep}");
                    assert_eq!(got.top_similarity, want.0, "{case}");
                    let shape = |f: &[ragcore::retrieve::Fused]| -> Vec<FusedShape> {
                        f.iter()
                            .map(|x| {
                                (
                                    x.chunk.chunk.id.clone(),
                                    x.chunk.chunk.document_id.clone(),
                                    x.chunk.title.clone(),
                                    x.chunk.chunk.text.clone(),
                                    x.score,
                                    x.vector_score,
                                    x.lexical_score,
                                )
                            })
                            .collect()
                    };
                    assert_eq!(shape(&got.fused), shape(&want.1), "{case}");
                    if matches!(scope.tenant.as_str(), "globex" | "nobody") {
                        assert!(
                            got.fused.iter().all(|f| f.chunk.chunk.document_id == "g1"),
                            "{case}: another tenant's chunk"
                        );
                    }
                    if scope.principals.is_empty() {
                        assert!(
                            got.fused.iter().all(|f| f.chunk.chunk.document_id != "hr"),
                            "{case}: an ACL'd chunk without the principal"
                        );
                    }
                }
            }
        }
    }
}

/// `ask` works end to end with the default prompt and cites the version it read.
pub async fn ask_cites_one_version(kb: &Pipeline) {
    ingest(kb, "acme", fixture()).await;
    let a = kb
        .ask(AskRequest::new("退貨要幾天內申請？", Scope::tenant("acme")))
        .await
        .expect("ask");
    assert!(!a.no_answer, "{a:?}");
    assert_eq!(a.kb_version, 1);
    assert!(
        a.citations.iter().any(|c| c.document_id == "returns"),
        "{:?}",
        a.citations
    );
    assert!(a.text.contains("七天"), "{}", a.text);
    let none = kb
        .ask(AskRequest::new(
            "UFO 的保固期限是多久？",
            Scope::tenant("acme"),
        ))
        .await
        .expect("ask");
    assert!(none.no_answer, "{none:?}");
}

/// After ingests, edits, deletes and a rollback, `verify` finds nothing inconsistent.
pub async fn verify_is_consistent_after_writes(kb: &Pipeline) {
    ingest(kb, "acme", fixture()).await;
    ingest(kb, "beta", fixture()).await;
    let mut docs = fixture();
    docs.truncate(3);
    docs[0] = faq("returns", "退貨要幾天內申請？", "十四天內可以申請退貨。");
    ingest(kb, "acme", docs).await;
    kb.store()
        .delete(ragcore::store::DeleteRequest {
            tenant: "beta".into(),
            document_ids: vec!["invoice".into()],
        })
        .await
        .expect("delete");
    kb.rollback(None, 1).await.expect("rollback");
    let report = kb.store().verify().await.expect("verify");
    assert!(report.is_consistent(), "{report:?}");
    // Rolling every tenant back to v1 restores acme's first content and empties beta (it had
    // nothing at v1).
    let info = kb.store().info().await.expect("info");
    assert_eq!(info.documents, 6, "{info:?}");
    assert!(kb
        .store()
        .documents("beta")
        .await
        .expect("documents")
        .is_empty());
    assert_eq!(report.live_chunks, info.chunks);
}
