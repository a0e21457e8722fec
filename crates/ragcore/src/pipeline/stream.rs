//! `Pipeline::ask_stream`: the same stages as `ask` (prepare, generate, finish), with the model's
//! text deltas passed on as they arrive and the checked [`Answer`] as the last event.

use std::collections::VecDeque;
use std::time::Instant;

use futures::stream::{self, BoxStream, StreamExt};

use super::ask::{AskState, Prepared};
use super::{ms, AskRequest, Pipeline};
use crate::error::Result;
use crate::llm::{ChatEvent, ChatRequest, ChatStream};
use crate::types::Answer;

/// One event of [`Pipeline::ask_stream`].
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of the answer text as the model produced it.
    Delta(String),
    /// The final answer after the output checks; always the last event. Its `text` is
    /// authoritative: output guards may have redacted what the deltas showed, and after a
    /// failure mid-stream it is the degraded (extractive) answer.
    Answer(Box<Answer>),
}

/// The stream returned by [`Pipeline::ask_stream`].
pub type AnswerStream = BoxStream<'static, Result<StreamEvent>>;

struct Streaming {
    pipeline: Pipeline,
    state: Option<(Box<AskState>, ChatRequest)>,
    inner: Option<ChatStream>,
    pending: VecDeque<Result<StreamEvent>>,
    sent_text: bool,
    started: Instant,
}

impl Pipeline {
    /// Like [`Pipeline::ask`], streamed: text deltas, then the final [`Answer`]. Errors before
    /// generation (bad input, unknown tenant, a blocked question, an exhausted budget under the
    /// error policy) are returned here; a model failure degrades to the extractive answer (by
    /// policy) even after some deltas were sent. Answers that need no streaming model (a
    /// refusal, a cache hit, a degraded answer) arrive as one delta and the answer.
    pub async fn ask_stream(&self, request: AskRequest) -> Result<AnswerStream> {
        let (mut state, chat_req) = match self.prepare(request).await? {
            Prepared::Done(answer) => return Ok(whole(*answer)),
            Prepared::Generate(state, chat_req) => (state, chat_req),
        };
        let chat_req = *chat_req;
        if let Some(hit) = self.cache_lookup(&mut state).await? {
            return Ok(whole(hit));
        }
        let started = Instant::now();
        if let Some(e) = self.admit(&mut state, &chat_req).await? {
            let (resp, degraded) = self.degrade_over_budget(&mut state, chat_req, e).await?;
            state.timings.insert("generate".to_string(), ms(started));
            return Ok(whole(self.finish(*state, resp, degraded).await?));
        }
        let inner = match self.inner.chat.chat_stream(chat_req.clone()).await {
            Ok(s) => s,
            Err(e) => {
                let (resp, degraded) = self.degrade(&mut state, chat_req, e).await?;
                state.timings.insert("generate".to_string(), ms(started));
                let answer = self.finish(*state, resp, degraded).await?;
                return Ok(whole(answer));
            }
        };
        let st = Streaming {
            pipeline: self.clone(),
            state: Some((state, chat_req)),
            inner: Some(inner),
            pending: VecDeque::new(),
            sent_text: false,
            started,
        };
        Ok(stream::unfold(st, |mut st| async move {
            loop {
                if let Some(ev) = st.pending.pop_front() {
                    return Some((ev, st));
                }
                let inner = st.inner.as_mut()?;
                match inner.next().await {
                    Some(Ok(ChatEvent::Delta(d))) => {
                        st.sent_text = true;
                        return Some((Ok(StreamEvent::Delta(d)), st));
                    }
                    Some(Ok(ChatEvent::Done(resp))) => {
                        st.inner = None;
                        let (state, _) = st.state.take()?;
                        let r = st.settle(state, Ok(resp)).await;
                        st.push_answer(r);
                    }
                    Some(Err(e)) => {
                        st.inner = None;
                        let r = st.fail(e).await;
                        st.push_answer(r);
                    }
                    None => {
                        st.inner = None;
                        let r = st
                            .fail(crate::llm::stream::truncated(
                                "the chat stream ended without a final reply",
                            ))
                            .await;
                        st.push_answer(r);
                    }
                }
            }
        })
        .boxed())
    }
}

impl Streaming {
    async fn settle(
        &mut self,
        mut state: Box<AskState>,
        resp: Result<crate::llm::ChatResponse>,
    ) -> Result<Answer> {
        state
            .timings
            .insert("generate".to_string(), ms(self.started));
        self.pipeline.finish(*state, resp?, false).await
    }

    async fn fail(&mut self, e: crate::error::Error) -> Result<Answer> {
        let Some((mut state, chat_req)) = self.state.take() else {
            return Err(e);
        };
        let (resp, degraded) = self.pipeline.degrade(&mut state, chat_req, e).await?;
        state
            .timings
            .insert("generate".to_string(), ms(self.started));
        self.pipeline.finish(*state, resp, degraded).await
    }

    fn push_answer(&mut self, r: Result<Answer>) {
        match r {
            Ok(a) => {
                if !self.sent_text {
                    self.pending
                        .push_back(Ok(StreamEvent::Delta(a.text.clone())));
                }
                self.pending.push_back(Ok(StreamEvent::Answer(Box::new(a))));
            }
            Err(e) => self.pending.push_back(Err(e)),
        }
    }
}

/// An answer that was complete before streaming: its text as one delta, then the answer.
fn whole(answer: Answer) -> AnswerStream {
    stream::iter([
        Ok(StreamEvent::Delta(answer.text.clone())),
        Ok(StreamEvent::Answer(Box::new(answer))),
    ])
    .boxed()
}
