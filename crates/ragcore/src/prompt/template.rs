//! Rendering prompt templates with minijinja, and checking them when they are saved.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::PackedPassage;
use crate::error::{Error, Result};

/// Name of the built-in question-answering prompt.
pub const DEFAULT_PROMPT_NAME: &str = "qa";

/// The sentence a model is told to answer with when the passages do not contain the answer.
pub const DEFAULT_NO_ANSWER_TEXT: &str =
    "抱歉，知識庫中沒有這個問題的答案。Sorry, the knowledge base does not contain an answer to this question.";

pub(crate) const DEFAULT_SYSTEM: &str = "You are a customer-service assistant. Answer ONLY from the numbered passages \
the user gives you. Cite every fact with its passage number in square brackets, like [1]. Answer in the language of \
the question. If the passages do not contain the answer, reply exactly: {{ no_answer_text }}";

pub(crate) const DEFAULT_USER: &str = "Passages:\n{% for p in passages %}[{{ p.index }}] {{ p.title }}\n{{ p.text }}\n\n{% endfor %}Question: {{ question }}";

/// The rendered messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPrompt {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
}

/// The variables a prompt template can use.
const KNOWN_VARIABLES: [&str; 3] = ["question", "passages", "no_answer_text"];

#[derive(Serialize)]
struct Vars<'a> {
    question: &'a str,
    passages: &'a [PackedPassage],
    no_answer_text: &'a str,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Renders a system and a user template. Unknown variables are errors.
pub fn render(
    system: &str,
    user: &str,
    question: &str,
    passages: &[PackedPassage],
    no_answer_text: &str,
) -> Result<RenderedPrompt> {
    let env = env();
    let vars = Vars {
        question,
        passages,
        no_answer_text,
    };
    let one = |which: &str, src: &str| -> Result<String> {
        let tmpl = env.template_from_str(src).map_err(|e| {
            Error::invalid(
                format!("prompt.{which}"),
                format!("template syntax error: {e}"),
            )
        })?;
        tmpl.render(&vars).map_err(|e| {
            Error::invalid(
                format!("prompt.{which}"),
                format!("template cannot be rendered: {e}"),
            )
        })
    };
    Ok(RenderedPrompt {
        system: one("system", system)?,
        user: one("user", user)?,
    })
}

/// Checks templates at save time: they must parse, render with the known variables (`question`,
/// `passages` with `index`/`title`/`text`, `no_answer_text`), and use `question` and `passages`.
pub(crate) fn check(system: &str, user: &str) -> Result<()> {
    let env = env();
    for (which, src) in [("system", system), ("user", user)] {
        let tmpl = env.template_from_str(src).map_err(|e| {
            Error::invalid(
                format!("prompt.{which}"),
                format!("template syntax error: {e}"),
            )
        })?;
        let mut unknown: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !KNOWN_VARIABLES.contains(&v.as_str()))
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(Error::invalid(
                format!("prompt.{which}"),
                format!(
                    "unknown template variable(s) {}; the known ones are {}",
                    unknown.join(", "),
                    KNOWN_VARIABLES.join(", ")
                ),
            ));
        }
    }
    let sample = [PackedPassage {
        index: 1,
        chunk_id: "c".into(),
        title: "t".into(),
        text: "x".into(),
        tokens: 1,
        is_faq: false,
    }];
    let r = render(system, user, "QUESTION_MARKER", &sample, "NO_ANSWER_MARKER")?;
    let all = format!("{}\n{}", r.system, r.user);
    if !all.contains("QUESTION_MARKER") {
        return Err(Error::invalid(
            "prompt",
            "the templates never use {{ question }}",
        ));
    }
    if !(system.contains("passages") || user.contains("passages")) {
        return Err(Error::invalid(
            "prompt",
            "the templates never use {{ passages }}",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_templates_pass_the_check() {
        assert!(check(DEFAULT_SYSTEM, DEFAULT_USER).is_ok());
    }

    #[test]
    fn unknown_variable_is_an_error_at_save_time() {
        let e = check(DEFAULT_SYSTEM, "{{ question }} {{ pasages }}");
        assert!(matches!(e, Err(Error::InvalidInput { .. })), "{e:?}");
        assert!(format!("{e:?}").contains("pasages"), "{e:?}");
        let e = check(
            DEFAULT_SYSTEM,
            "{% for p in passages %}{{ p.text }}{% endfor %}",
        );
        assert!(e.is_err());
        let e = check("{{ unclosed", DEFAULT_USER);
        assert!(e.is_err());
    }
}
