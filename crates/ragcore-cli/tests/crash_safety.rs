//! kill -9 during syncs: after every kill the knowledge base opens, `verify` finds nothing
//! inconsistent, and it holds exactly the documents of either the last completed sync or the
//! killed one (a sync is atomic) — no committed document is ever lost.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn ragcore(args: &[&str], kb: &Path) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_ragcore"))
        .args(args)
        .env("RAGCORE_KB", kb)
        .env("RAGCORE_TENANT", "acme")
        .output()
}

/// A small deterministic generator (xorshift), so failures can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn source_ids(dir: &Path) -> std::io::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    for e in std::fs::read_dir(dir)? {
        ids.insert(e?.file_name().to_string_lossy().to_string());
    }
    Ok(ids)
}

fn kb_ids(kb: &Path) -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
    let out = ragcore(&["documents", "--json"], kb)?;
    assert!(
        out.status.success(),
        "documents failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(docs
        .as_array()
        .ok_or("not an array")?
        .iter()
        .filter_map(|d| d["id"].as_str().map(String::from))
        .collect())
}

#[test]
fn kill_9_during_50_syncs_loses_nothing_committed() -> Result<(), Box<dyn std::error::Error>> {
    let kb = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let topics = [
        "退貨", "保固", "運費", "付款", "會員", "發票", "安裝", "回收", "客服", "分期", "shipping",
        "refund",
    ];
    let mut committed: BTreeSet<String> = BTreeSet::new();
    let (mut killed, mut completed) = (0, 0);
    for round in 0..50 {
        // Change the source: add, edit and delete a few files.
        for _ in 0..6 {
            let n = rng.next() % 40;
            let path = src.path().join(format!("doc{n:02}.md"));
            match rng.next() % 4 {
                0 if path.exists() => std::fs::remove_file(&path)?,
                _ => {
                    let body: String = (0..30)
                        .map(|i| {
                            format!(
                                "{}的規定第 {i} 條，版本 {round}。",
                                topics[(rng.next() % topics.len() as u64) as usize]
                            )
                        })
                        .collect();
                    std::fs::write(&path, format!("# 文件 {n}\n{body}"))?;
                }
            }
        }
        let wanted = source_ids(src.path())?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ragcore"))
            .args(["sync", &src.path().to_string_lossy()])
            .env("RAGCORE_KB", kb.path())
            .env("RAGCORE_TENANT", "acme")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_millis(rng.next() % 700));
        let finished = child.try_wait()?.is_some();
        if !finished {
            child.kill()?; // SIGKILL
            killed += 1;
        }
        let status = child.wait()?;
        if finished && status.success() {
            completed += 1;
        }
        let verify = ragcore(&["verify"], kb.path())?;
        assert!(
            verify.status.success(),
            "round {round}: inconsistent after kill: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let have = kb_ids(kb.path())?;
        // Atomic: either the previous committed state, or all of this sync.
        assert!(
            have == committed || have == wanted,
            "round {round}: half-applied sync: {} docs",
            have.len()
        );
        committed = have;
    }
    // A final uninterrupted sync converges to the source.
    let out = ragcore(&["sync", &src.path().to_string_lossy()], kb.path())?;
    assert!(out.status.success());
    assert_eq!(kb_ids(kb.path())?, source_ids(src.path())?);
    assert!(ragcore(&["verify"], kb.path())?.status.success());
    eprintln!("{killed} syncs killed, {completed} completed, 0 inconsistencies");
    assert!(
        killed >= 5,
        "the test killed too few syncs ({killed}) to mean anything"
    );
    Ok(())
}
