//! The prompt registry conformance test.

use std::sync::Arc;

use ragcore::prompt::{
    GetPromptRequest, GetVersionRequest, LabelHistoryRequest, PromoteLabelRequest, PromptRegistry,
    RollbackRequest, SavePromptRequest, SetLabelRequest,
};
use ragcore::Error;

use super::R;

// ---------------------------------------------------------------- prompt registry

fn save(name: &str, system: &str, labels: &[&str]) -> SavePromptRequest {
    SavePromptRequest {
        name: name.into(),
        system: system.into(),
        user: "Q: {{ question }}\n{% for p in passages %}[{{ p.index }}] {{ p.text }}{% endfor %}"
            .into(),
        labels: labels.iter().map(|s| s.to_string()).collect(),
    }
}

fn get(name: &str, label: &str) -> GetPromptRequest {
    GetPromptRequest {
        name: name.into(),
        label: label.into(),
    }
}

/// Versions, content hashes, pins, labels, protection, promotion, rollback, list, and label
/// moves that stay a consistent chain under concurrency.
pub async fn prompt_registry(reg: Arc<dyn PromptRegistry>) -> R {
    // The built-in prompt is there, at production and latest.
    let qa = reg.get(get("qa", "production")).await?;
    assert_eq!(qa.version, 1);
    assert!(qa.labels.contains(&"latest".to_string()), "{qa:?}");

    let v1 = reg.save(save("faq", "one", &["staging"])).await?;
    assert_eq!(v1.version, 1);
    assert_eq!(v1.labels, vec!["latest".to_string(), "staging".to_string()]);
    let same = reg.save(save("faq", "one", &[])).await?;
    assert_eq!(same.version, 1, "identical content is the same version");
    let v2 = reg.save(save("faq", "two", &[])).await?;
    assert_eq!(v2.version, 2);
    assert_ne!(v1.hash, v2.hash);
    assert_eq!(reg.get(get("faq", "latest")).await?.version, 2);
    assert_eq!(reg.get(get("faq", "@1")).await?.system, "one");
    assert_eq!(reg.get(get("faq", "staging")).await?.version, 1);
    let by_hash = reg
        .version(GetVersionRequest {
            name: "faq".into(),
            reference: v2.hash[..6].to_string(),
        })
        .await?;
    assert_eq!(by_hash.version, 2);
    assert!(matches!(
        reg.get(get("faq", "nope")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(reg.get(get("faq", "@x")).await.is_err());
    assert!(reg.get(get("faq", "@9")).await.is_err());

    // Protected labels move only by promotion.
    assert!(reg.protected_labels().await?.contains(&"production".into()));
    let refused = reg
        .set_label(SetLabelRequest {
            name: "faq".into(),
            label: "production".into(),
            version: 2,
        })
        .await;
    assert!(refused.is_err(), "production is protected");
    assert!(reg
        .save(save("faq", "three", &["production"]))
        .await
        .is_err());
    for v in [1, 2] {
        reg.promote_label(PromoteLabelRequest {
            name: "faq".into(),
            label: "production".into(),
            version: v,
            reason: format!("golden set passed for v{v}"),
        })
        .await?;
    }
    assert_eq!(reg.get(get("faq", "production")).await?.version, 2);
    let back = reg
        .rollback(RollbackRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await?;
    assert_eq!((back.from_version, back.to_version), (Some(2), 1));
    assert_eq!(reg.get(get("faq", "production")).await?.version, 1);
    assert!(
        reg.rollback(RollbackRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await
        .is_err(),
        "nothing before v1"
    );
    let hist = reg
        .label_history(LabelHistoryRequest {
            name: "faq".into(),
            label: "production".into(),
        })
        .await?;
    let hows: Vec<&str> = hist.iter().map(|m| m.how.as_str()).collect();
    assert_eq!(hows, ["promote", "promote", "rollback"]);
    assert_eq!(hist[0].reason, "golden set passed for v1");

    let list = reg.list().await?;
    let faq: Vec<_> = list.iter().filter(|p| p.name == "faq").collect();
    assert_eq!(faq.len(), 2);
    assert_eq!(
        faq[0].labels,
        vec!["production".to_string(), "staging".to_string()]
    );
    assert_eq!(faq[1].labels, vec!["latest".to_string()]);

    // Concurrent saves get distinct versions; concurrent label moves form one chain.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            reg.save(save("race", &format!("content {i}"), &[])).await
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await??.version);
    }
    versions.sort();
    assert_eq!(versions, (1..=8).collect::<Vec<u32>>());
    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            reg.set_label(SetLabelRequest {
                name: "race".into(),
                label: "canary".into(),
                version: i % 8 + 1,
            })
            .await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let hist = reg
        .label_history(LabelHistoryRequest {
            name: "race".into(),
            label: "canary".into(),
        })
        .await?;
    assert!(!hist.is_empty());
    assert_eq!(hist[0].from_version, None);
    for w in hist.windows(2) {
        assert_eq!(
            w[1].from_version,
            Some(w[0].to_version),
            "each move replaced the version the previous one set: {hist:?}"
        );
    }
    let last = hist.last().map(|m| m.to_version);
    assert_eq!(Some(reg.get(get("race", "canary")).await?.version), last);
    Ok(())
}
