//! The SQLite prompt registry: versions, labels, checks at save time, and label moves seen by a
//! running pipeline without a restart.

mod support;

use ragcore::prompt::{
    GetPromptRequest, PromptRegistry, SavePromptRequest, SetLabelRequest, SqlitePromptRegistry,
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
            labels: vec!["production".into()],
        })
        .await?;
    assert_eq!(
        p.ask(AskRequest::new("退貨要在幾天內申請？", scope))
            .await?
            .prompt_version,
        v2.id()
    );
    Ok(())
}
