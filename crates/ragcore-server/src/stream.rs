//! The answer as a stream of events for `stream: true`.
//!
//! STREAMING ADAPTER — [`answer_stream`] is the one place that turns a pipeline answer into
//! events. Today it runs `Pipeline::ask` to the end and cuts the final text into pieces; when
//! `Pipeline::ask_stream` (model tokens as they arrive) lands, replace the body of
//! [`answer_stream`] with a mapping of its events and nothing else in the server changes.

use futures::stream::{self, BoxStream, StreamExt};
use ragcore::{Answer, AskRequest, Pipeline};

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerEvent {
    /// The next piece of the answer text.
    Delta(String),
    /// The finished answer (citations, versions, cost, verdicts); always the last event.
    Done(Box<Answer>),
}

/// Characters per streamed piece (the adapter's cut; model tokens will replace it).
const PIECE_CHARS: usize = 24;

/// Cuts a text into pieces of at most [`PIECE_CHARS`] characters, preferring to end a piece
/// after a space.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut n = 0;
    for c in text.chars() {
        cur.push(c);
        n += 1;
        if (n >= PIECE_CHARS / 2 && c == ' ') || n >= PIECE_CHARS {
            out.push(std::mem::take(&mut cur));
            n = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The answer to `request` as events: text pieces, then [`AnswerEvent::Done`]. An error before
/// any text is the stream's first item.
pub fn answer_stream(
    pipeline: Pipeline,
    request: AskRequest,
) -> BoxStream<'static, ragcore::Result<AnswerEvent>> {
    stream::once(async move { pipeline.ask(request).await })
        .flat_map(|r| {
            let events: Vec<ragcore::Result<AnswerEvent>> = match r {
                Ok(answer) => pieces(&answer.text)
                    .into_iter()
                    .map(|p| Ok(AnswerEvent::Delta(p)))
                    .chain(std::iter::once(Ok(AnswerEvent::Done(Box::new(answer)))))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            stream::iter(events)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn pieces_rejoin_to_the_text() {
        let t = "退貨要在收到商品後七天內申請 [1]. Refunds take five working days.";
        let p = pieces(t);
        assert!(p.len() > 2);
        assert!(p.iter().all(|x| x.chars().count() <= 24));
        assert_eq!(p.concat(), t);
        assert!(pieces("").is_empty());
    }
}
