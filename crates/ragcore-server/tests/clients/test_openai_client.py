"""The official `openai` Python package against `ragcore serve` (started by run.sh, which sets
RAGCORE_SERVER_URL and RAGCORE_SERVER_KEY)."""

import os

import openai
import pytest

QUESTION = "How many days do I have to return a product?"


@pytest.fixture(scope="module")
def client() -> openai.OpenAI:
    return openai.OpenAI(
        base_url=os.environ["RAGCORE_SERVER_URL"],
        api_key=os.environ["RAGCORE_SERVER_KEY"],
        max_retries=0,
    )


def test_chat_completion_with_citations(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="ragcore", messages=[{"role": "user", "content": QUESTION}]
    )
    assert r.object == "chat.completion"
    assert "7" in (r.choices[0].message.content or "")
    ext = (r.model_extra or {})["ragcore"]
    assert ext["citations"][0]["document_id"].endswith("#en-return")
    assert ext["kb_version"] >= 1
    assert "@" in ext["prompt_version"]
    assert r.usage is not None


def test_streaming_matches_the_plain_answer(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="ragcore", messages=[{"role": "user", "content": QUESTION}]
    )
    stream = client.chat.completions.create(
        model="ragcore",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, chunks, usage, finish = "", 0, None, None
    for chunk in stream:
        chunks += 1
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert chunks > 3
    assert text == plain.choices[0].message.content
    assert finish == "stop"
    assert usage is not None and usage.total_tokens >= 0


def test_errors_map_to_the_clients_exceptions(client: openai.OpenAI) -> None:
    bad = openai.OpenAI(
        base_url=os.environ["RAGCORE_SERVER_URL"], api_key="sk-wrong", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(
            model="ragcore", messages=[{"role": "user", "content": QUESTION}]
        )
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": QUESTION}]
        )
    assert e.value.code == "model_not_found"


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["ragcore"]
