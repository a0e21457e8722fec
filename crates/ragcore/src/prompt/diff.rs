//! Line diff of two prompt versions (longest common subsequence, unified-style output).

use serde::{Deserialize, Serialize};

use super::PromptVersion;

/// The differences between two versions of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptDiff {
    /// `name@a`.
    pub from: String,
    /// `name@b`.
    pub to: String,
    /// Whether anything differs.
    pub changed: bool,
    /// Unified-style text: `--- system` / `--- user` sections with ` `, `-` and `+` lines.
    pub text: String,
}

/// Diffs the system and user templates of two versions line by line.
pub fn diff_versions(a: &PromptVersion, b: &PromptVersion) -> PromptDiff {
    let mut text = String::new();
    let mut changed = false;
    for (section, x, y) in [("system", &a.system, &b.system), ("user", &a.user, &b.user)] {
        text.push_str(&format!(
            "--- {section} ({})\n+++ {section} ({})\n",
            a.id(),
            b.id()
        ));
        let lines = diff_lines(x, y);
        if lines.iter().all(|(op, _)| *op == ' ') {
            text.push_str("  (unchanged)\n");
            continue;
        }
        changed = true;
        for (op, line) in lines {
            text.push(op);
            text.push(' ');
            text.push_str(line);
            text.push('\n');
        }
    }
    PromptDiff {
        from: a.id(),
        to: b.id(),
        changed,
        text,
    }
}

/// `(op, line)` with op `' '`, `'-'` or `'+'`.
fn diff_lines<'a>(a: &'a str, b: &'a str) -> Vec<(char, &'a str)> {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    let (n, m) = (x.len(), y.len());
    // lcs[i][j] = LCS length of x[i..] and y[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if x[i] == y[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n && j < m {
        if x[i] == y[j] {
            out.push((' ', x[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(('-', x[i]));
            i += 1;
        } else {
            out.push(('+', y[j]));
            j += 1;
        }
    }
    out.extend(x[i..].iter().map(|l| ('-', *l)));
    out.extend(y[j..].iter().map(|l| ('+', *l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u32, system: &str, user: &str) -> PromptVersion {
        PromptVersion {
            name: "qa".into(),
            version: n,
            hash: String::new(),
            system: system.into(),
            user: user.into(),
            labels: vec![],
        }
    }

    #[test]
    fn diff_marks_removed_and_added_lines() {
        let d = diff_versions(&v(1, "a\nb\nc", "q"), &v(2, "a\nB\nc", "q"));
        assert!(d.changed);
        assert!(d.text.contains("- b\n+ B\n"), "{}", d.text);
        assert!(d.text.contains("  a\n"));
        assert!(d.text.contains("  (unchanged)"), "user section unchanged");
        assert!(!diff_versions(&v(1, "x", "y"), &v(2, "x", "y")).changed);
    }
}
