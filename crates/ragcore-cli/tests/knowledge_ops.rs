//! `ragcore sync --watch`, `rollback` and `drift` through the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

type R = Result<(), Box<dyn std::error::Error>>;

fn ragcore(kb: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ragcore"));
    c.env("RAGCORE_KB", kb)
        .env("RAGCORE_TENANT", "acme")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("RAGCORE_EMBED_MODEL");
    c
}

fn ask(kb: &std::path::Path, q: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let out = ragcore(kb).args(["ask", q, "--json"]).output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Kills the watcher when the test ends, pass or fail.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_new_faq_file_becomes_answerable_while_watching() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    std::fs::write(
        src.path().join("shipping.md"),
        "# 運費\n滿千免運，未滿收 80 元。",
    )?;
    let mut child = Child(
        ragcore(kb.path())
            .args(["sync", "--watch", "--json"])
            .arg(src.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The initial sync reports first.
    let first: serde_json::Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(120))?)?;
    assert_eq!(first["documents_added"], 1, "{first}");

    std::fs::write(
        src.path().join("payment.csv"),
        "question,answer\n可以用比特幣付款嗎？,可以，結帳時選擇比特幣付款即可。\n",
    )?;
    let mut answered = None;
    for _ in 0..120 {
        let a = ask(kb.path(), "可以用比特幣付款嗎？")?;
        if a["no_answer"] == false
            && a["citations"][0]["document_id"]
                .as_str()
                .is_some_and(|d| d.starts_with("payment.csv"))
        {
            answered = Some(a);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let a = answered.ok_or("the new FAQ never became answerable within 30 s")?;
    assert!(
        a["text"].as_str().unwrap_or_default().contains("比特幣"),
        "{a}"
    );
    // One of the reports after the initial sync added the file (the watcher may also run
    // syncs that find nothing new, for events of the same save).
    let mut added = false;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        let report: serde_json::Value = serde_json::from_str(&line)?;
        if report["documents_added"] == 1 {
            added = true;
            break;
        }
    }
    assert!(added, "no sync report added the new file");
    Ok(())
}

#[test]
fn rollback_and_drift_from_the_command_line() -> R {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    std::fs::write(
        src.path().join("ufo.md"),
        "# 飛碟\n我們提供 UFO 保固，期限一百年。",
    )?;
    std::fs::write(src.path().join("shipping.md"), "# 運費\n滿千免運。")?;
    let sync = |kb: &std::path::Path| ragcore(kb).arg("sync").arg(src.path()).output();
    assert!(sync(kb.path())?.status.success());
    std::fs::remove_file(src.path().join("ufo.md"))?;
    assert!(sync(kb.path())?.status.success());
    assert_eq!(ask(kb.path(), "UFO 保固多久？")?["no_answer"], true);

    let out = ragcore(kb.path()).args(["rollback", "1"]).output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kb version 3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let a = ask(kb.path(), "UFO 保固多久？")?;
    assert_eq!(a["no_answer"], false, "{a}");
    assert_eq!(a["kb_version"], 3);

    for q in [
        "可以用比特幣付款嗎？",
        "比特幣付款可以嗎？",
        "營業時間是幾點？",
    ] {
        assert_eq!(ask(kb.path(), q)?["no_answer"], true, "{q}");
    }
    let out = ragcore(kb.path()).args(["drift", "--json"]).output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(d["recent"]["asks"], 5, "{d}");
    let rate = d["recent"]["no_answer_rate"].as_f64().ok_or("no rate")?;
    assert!((rate - 0.8).abs() < 1e-9, "4 of 5 refused: {d}");
    assert_eq!(d["gaps"][0]["asks"], 2, "{d}");
    let out = ragcore(kb.path()).arg("drift").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAQ gaps") && text.contains("比特"), "{text}");
    Ok(())
}
