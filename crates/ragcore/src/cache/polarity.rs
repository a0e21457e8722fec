//! The opposite-question check: a cached answer is served only to a question with the same
//! negations and the same pole of every antonym pair ("能退貨嗎" vs "不能退貨嗎", "can I cancel"
//! vs "can't I cancel", "before" vs "after"). Embeddings put such pairs close together, so the
//! semantic cache must not rely on similarity alone.

/// Chinese question forms that contain a negation character but ask a plain yes/no question.
const ZH_QUESTION_FORMS: &[&str] = &["是否", "能否", "可否", "與否", "与否", "會否", "要否"];

/// Chinese negation characters (Traditional and Simplified).
const ZH_NEGATIONS: &[char] = &[
    '不', '沒', '没', '無', '无', '未', '別', '别', '非', '莫', '勿', '禁',
];

/// English negation words (after contractions are expanded).
const EN_NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "none", "nobody", "nothing", "neither", "nor", "cannot",
];

/// Antonym pairs: a question mentioning one side never matches one mentioning the other.
const ANTONYMS: &[(&str, &str)] = &[
    ("before", "after"),
    ("early", "late"),
    ("increase", "decrease"),
    ("more", "less"),
    ("maximum", "minimum"),
    ("max", "min"),
    ("highest", "lowest"),
    ("enable", "disable"),
    ("open", "close"),
    ("start", "stop"),
    ("add", "remove"),
    ("accept", "reject"),
    ("include", "exclude"),
    ("allow", "forbid"),
    ("upgrade", "downgrade"),
    ("buy", "sell"),
    ("login", "logout"),
    ("subscribe", "unsubscribe"),
    ("之前", "之後"),
    ("之前", "之后"),
    ("以前", "以後"),
    ("提前", "延後"),
    ("增加", "減少"),
    ("增加", "减少"),
    ("最多", "最少"),
    ("最高", "最低"),
    ("最早", "最晚"),
    ("開啟", "關閉"),
    ("打開", "關閉"),
    ("允許", "禁止"),
    ("加入", "退出"),
    ("升級", "降級"),
    ("買", "賣"),
    ("登入", "登出"),
    ("訂閱", "取消訂閱"),
    ("上班", "下班"),
];

/// The polarity signature of a question: its negation markers and antonym poles, in order of
/// kind. Two questions may share a cached answer only when their signatures are equal.
pub fn signature(question: &str) -> Vec<String> {
    let q = crate::text::normalize(question);
    let mut zh = q.clone();
    for f in ZH_QUESTION_FORMS {
        zh = zh.replace(f, " ");
    }
    let mut sig: Vec<String> = Vec::new();
    let zh_neg = zh.chars().filter(|c| ZH_NEGATIONS.contains(c)).count();
    if zh_neg > 0 {
        sig.push(format!("zh-neg:{zh_neg}"));
    }
    let en = q
        .replace("n't", " not")
        .replace("n’t", " not")
        .replace("cannot", "can not");
    let words: Vec<&str> = en
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let en_neg = words.iter().filter(|w| EN_NEGATIONS.contains(w)).count();
    if en_neg > 0 {
        sig.push(format!("en-neg:{en_neg}"));
    }
    for (a, b) in ANTONYMS {
        let has = |t: &str| {
            if t.is_ascii() {
                words
                    .iter()
                    .any(|w| w.starts_with(t) && w.len() <= t.len() + 3)
            } else {
                q.contains(t)
            }
        };
        // "取消訂閱" contains "訂閱": the longer side wins.
        let (ha, hb) = (has(a), has(b));
        let (ha, hb) = if ha && hb && b.contains(a) {
            (false, true)
        } else {
            (ha, hb)
        };
        if ha != hb {
            sig.push(format!("{a}/{b}:{}", if ha { a } else { b }));
        }
    }
    sig
}
