//! The SQLite prompt registry: versions, labels, checks at save time, and label moves seen by a
//! running pipeline without a restart.

mod support;

use ragcore::prompt::{
    diff_versions, export_prompts, import_prompts, BundleFormat, GetPromptRequest,
    GetVersionRequest, LabelHistoryRequest, PromoteLabelRequest, PromptBundle, PromptRegistry,
    RollbackRequest, SavePromptRequest, SetLabelRequest, SqlitePromptRegistry,
};
use ragcore::{AskRequest, ErrorKind, Scope};

type R = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn versions_labels_and_save_time_checks() -> R {
    let dir = tempfile::tempdir()?;
    let reg = SqlitePromptRegistry::open(dir.path().join("kb.sqlite"))?;
    let get = |label: &str| GetPromptRequest {
        name: "qa".into(),
        label: label.into(),
    };
    let v1 = reg.get(get("production")).await?;
    assert_eq!((v1.version, v1.id()), (1, "qa@1".to_string()));
    let v2 = reg
        .save(SavePromptRequest {
            name: "qa".into(),
            system: "Be brief. {{ no_answer_text }}".into(),
            user:
                "{% for p in passages %}[{{ p.index }}] {{ p.text }}\n{% endfor %}Q: {{ question }}"
                    .into(),
            labels: vec!["staging".into()],
        })
        .await?;
    assert_eq!(v2.version, 2);
    assert_eq!(reg.get(get("staging")).await?.version, 2);
    assert_eq!(reg.get(get("latest")).await?.version, 2);
    assert_eq!(
        reg.get(get("production")).await?.version,
        1,
        "production did not move"
    );
    // Saving identical content returns the same version.
    let again = reg
        .save(SavePromptRequest {
            name: "qa".into(),
            system: v2.system.clone(),
            user: v2.user.clone(),
            labels: vec![],
        })
        .await?;
    assert_eq!(again.version, 2);
    // Unknown variables and syntax errors are refused when saving, not when a user asks.
    for (system, user) in [
        ("{{ oops }}", "{{ question }} {{ passages }}"),
        ("ok", "{{ question }"),
        ("ok", "no variables"),
    ] {
        let e = reg
            .save(SavePromptRequest {
                name: "qa".into(),
                system: system.into(),
                user: user.into(),
                labels: vec![],
            })
            .await
            .err()
            .ok_or("bad template accepted")?;
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    assert_eq!(reg.list().await?.len(), 2);
    let e = reg.get(get("nope")).await.err().ok_or("unknown label")?;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = reg
        .set_label(SetLabelRequest {
            name: "qa".into(),
            label: "production".into(),
            version: 9,
        })
        .await
        .err()
        .ok_or("v9")?;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    Ok(())
}

#[tokio::test]
async fn a_running_pipeline_sees_label_moves() -> R {
    let dir = tempfile::tempdir()?;
    let p = support::open(dir.path()).await?;
    support::ingest(
        &p,
        "acme",
        vec![support::faq("a", "退貨要在幾天內申請？", "七天內。")],
    )
    .await?;
    let scope = Scope::tenant("acme");
    assert_eq!(
        p.ask(AskRequest::new("退貨要在幾天內申請？", scope.clone()))
            .await?
            .prompt_version,
        "qa@1"
    );
    // Another handle (another process, the CLI) saves v2 and moves `production`.
    let reg = SqlitePromptRegistry::open(dir.path().join("kb.sqlite"))?;
    let v = reg
        .get(GetPromptRequest {
            name: "qa".into(),
            label: "production".into(),
        })
        .await?;
    let v2 = reg
        .save(SavePromptRequest {
            name: "qa".into(),
            system: format!("{} Be polite.", v.system),
            user: v.user,
            labels: vec![],
        })
        .await?;
    reg.promote_label(PromoteLabelRequest {
        name: "qa".into(),
        label: "production".into(),
        version: v2.version,
        reason: "test".into(),
    })
    .await?;
    assert_eq!(
        p.ask(AskRequest::new("退貨要在幾天內申請？", scope))
            .await?
            .prompt_version,
        v2.id()
    );
    // A rollback from the other handle is seen by the next ask too.
    reg.rollback(RollbackRequest {
        name: "qa".into(),
        label: "production".into(),
    })
    .await?;
    assert_eq!(
        p.ask(AskRequest::new(
            "退貨要在幾天內申請？",
            Scope::tenant("acme")
        ))
        .await?
        .prompt_version,
        "qa@1"
    );
    Ok(())
}

const USER: &str =
    "{% for p in passages %}[{{ p.index }}] {{ p.text }}\n{% endfor %}Q: {{ question }}";

fn save(system: &str, labels: &[&str]) -> SavePromptRequest {
    SavePromptRequest {
        name: "qa".into(),
        system: system.into(),
        user: USER.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

#[tokio::test]
async fn protected_labels_move_only_through_the_explicit_override() -> R {
    let dir = tempfile::tempdir()?;
    let reg = SqlitePromptRegistry::open(dir.path().join("kb.sqlite"))?;
    assert_eq!(
        reg.protected_labels().await?,
        vec!["production".to_string()]
    );
    let v2 = reg
        .save(save("v2 {{ no_answer_text }}", &["staging"]))
        .await?;
    // Neither saving with nor setting the protected label moves it.
    let e = reg
        .save(save("v3", &["production"]))
        .await
        .err()
        .ok_or("saved onto production")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("protected"), "{e}");
    assert_eq!(
        reg.list().await?.len(),
        2,
        "the refused save stored nothing"
    );
    let e = reg
        .set_label(SetLabelRequest {
            name: "qa".into(),
            label: "production".into(),
            version: 2,
        })
        .await
        .err()
        .ok_or("set production")?;
    assert!(e.to_string().contains("ragcore prompt promote"), "{e}");
    let get = |l: &str| GetPromptRequest {
        name: "qa".into(),
        label: l.into(),
    };
    assert_eq!(reg.get(get("production")).await?.version, 1);
    // The override moves it and records why.
    let m = reg
        .promote_label(PromoteLabelRequest {
            name: "qa".into(),
            label: "production".into(),
            version: v2.version,
            reason: "golden set passed".into(),
        })
        .await?;
    assert_eq!((m.from_version, m.to_version), (Some(1), 2));
    assert_eq!(reg.get(get("production")).await?.version, 2);
    // Unprotected labels move freely; `@...` names are reserved for pins.
    reg.set_label(SetLabelRequest {
        name: "qa".into(),
        label: "staging".into(),
        version: 1,
    })
    .await?;
    let e = reg
        .set_label(SetLabelRequest {
            name: "qa".into(),
            label: "@1".into(),
            version: 1,
        })
        .await
        .err()
        .ok_or("@ label")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A protection can be added.
    reg.protect_label("staging", true)?;
    assert!(reg
        .set_label(SetLabelRequest {
            name: "qa".into(),
            label: "staging".into(),
            version: 2
        })
        .await
        .is_err());
    Ok(())
}

#[tokio::test]
async fn rollback_walks_back_and_versions_are_found_by_number_hash_or_pin() -> R {
    let dir = tempfile::tempdir()?;
    let reg = SqlitePromptRegistry::open(dir.path().join("kb.sqlite"))?;
    let v2 = reg.save(save("two {{ no_answer_text }}", &[])).await?;
    let v3 = reg.save(save("three {{ no_answer_text }}", &[])).await?;
    for v in [2, 3] {
        reg.promote_label(PromoteLabelRequest {
            name: "qa".into(),
            label: "production".into(),
            version: v,
            reason: String::new(),
        })
        .await?;
    }
    let get = |l: &str| GetPromptRequest {
        name: "qa".into(),
        label: l.into(),
    };
    let rb = RollbackRequest {
        name: "qa".into(),
        label: "production".into(),
    };
    assert_eq!(reg.rollback(rb.clone()).await?.to_version, 2);
    assert_eq!(reg.rollback(rb.clone()).await?.to_version, 1);
    assert_eq!(reg.get(get("production")).await?.version, 1);
    let e = reg
        .rollback(rb)
        .await
        .err()
        .ok_or("rolled back past the first version")?;
    assert!(e.to_string().contains("no earlier version"), "{e}");
    let hist = reg
        .label_history(LabelHistoryRequest {
            name: "qa".into(),
            label: "production".into(),
        })
        .await?;
    let hows: Vec<&str> = hist.iter().map(|m| m.how.as_str()).collect();
    assert_eq!(hows, ["save", "promote", "promote", "rollback", "rollback"]);
    // `latest` follows new versions; `@N` pins one; hashes identify versions.
    assert_eq!(reg.get(get("latest")).await?.version, 3);
    assert_eq!(reg.get(get("@2")).await?.hash, v2.hash);
    let by_hash = reg
        .version(GetVersionRequest {
            name: "qa".into(),
            reference: v3.hash[..8].to_string(),
        })
        .await?;
    assert_eq!(by_hash.version, 3);
    assert_eq!(
        by_hash.hash,
        SqlitePromptRegistry::content_hash(&v3.system, &v3.user)
    );
    let e = reg
        .version(GetVersionRequest {
            name: "qa".into(),
            reference: "zz".into(),
        })
        .await
        .err()
        .ok_or("bad ref")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // The diff shows the changed system line only.
    let d = diff_versions(&v2, &v3);
    assert!(d.changed);
    assert!(
        d.text
            .contains("- two {{ no_answer_text }}\n+ three {{ no_answer_text }}"),
        "{}",
        d.text
    );
    Ok(())
}

#[tokio::test]
async fn export_and_import_round_trip_through_yaml_and_json() -> R {
    let dir = tempfile::tempdir()?;
    let reg = SqlitePromptRegistry::open(dir.path().join("a.sqlite"))?;
    reg.save(save("two {{ no_answer_text }}", &["staging"]))
        .await?;
    let v3 = reg
        .save(save("three\nlines: yes # not a comment", &[]))
        .await?;
    reg.promote_label(PromoteLabelRequest {
        name: "qa".into(),
        label: "production".into(),
        version: v3.version,
        reason: String::new(),
    })
    .await?;
    let bundle = export_prompts(&reg).await?;
    assert_eq!(bundle.prompts.len(), 3);
    for format in [BundleFormat::Yaml, BundleFormat::Json] {
        let text = bundle.to_string(format)?;
        let back = PromptBundle::parse(&text, format)?;
        assert_eq!(back, bundle, "{format:?} round trip");
        // Into a fresh registry: without the override the protected label is skipped.
        let other = SqlitePromptRegistry::open(dir.path().join(format!("{format:?}.sqlite")))?;
        let r = import_prompts(&other, &back, false).await?;
        assert_eq!(r.saved.len(), 2, "{r:?}");
        assert_eq!(r.unchanged, vec!["qa@1".to_string()]);
        assert_eq!(r.protected_skipped, vec!["qa:production -> 3".to_string()]);
        let get = |l: &str| GetPromptRequest {
            name: "qa".into(),
            label: l.into(),
        };
        assert_eq!(other.get(get("production")).await?.version, 1);
        assert_eq!(other.get(get("staging")).await?.version, 2);
        // With it, production follows; importing again changes nothing.
        let r = import_prompts(&other, &back, true).await?;
        assert!(
            r.saved.is_empty() && r.protected_skipped.is_empty(),
            "{r:?}"
        );
        assert_eq!(other.get(get("production")).await?.hash, v3.hash);
        assert_eq!(other.list().await?.len(), 3);
    }
    // A hand-edited template whose hash no longer matches, or that fails the variable check,
    // stores nothing.
    let mut bad = bundle.clone();
    bad.prompts[1].system = "edited {{ no_answer_text }}".into();
    let fresh = SqlitePromptRegistry::open(dir.path().join("bad.sqlite"))?;
    assert!(import_prompts(&fresh, &bad, true).await.is_err());
    bad.prompts[1].hash.clear();
    bad.prompts[2].user = "{{ question }} {{ pasages }}".into();
    bad.prompts[2].hash.clear();
    let e = import_prompts(&fresh, &bad, true)
        .await
        .err()
        .ok_or("bad template imported")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(fresh.list().await?.len(), 1, "only the built-in version");
    let e = PromptBundle::parse("prompts: [ {name: qa", BundleFormat::Yaml)
        .err()
        .ok_or("bad yaml")?;
    assert!(e.to_string().contains("YAML"), "{e}");
    Ok(())
}
