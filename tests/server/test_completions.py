"""Chat and text completions through the official openai client: plain, streamed, n>1, stop
strings, seeds, logprobs, usage — checked against `kaiyuan run` and against each other."""
import concurrent.futures

import pytest

from conftest import MODEL_ID, kaiyuan_run

PROMPTS = ["Once upon a time", "Lily and Tom", "The cat sat on the mat", "One day, a little dog",
           "Tim", "She was very happy because", "Zoo", "The sun was"]


def test_models_and_health(server, client):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL_ID]
    status, _, body = server.request("GET", "/health", headers={"Authorization": ""})
    assert status == 200 and b'"ok"' in body


def test_greedy_completion_equals_kaiyuan_run(client):
    ref = kaiyuan_run("Once upon a time", 40)
    r = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=40, temperature=0)
    assert r.choices[0].text == ref["text"]
    assert r.usage.prompt_tokens == len(ref["prompt_ids"])
    assert r.usage.completion_tokens == len(ref["ids"])
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.choices[0].finish_reason == ("length" if len(ref["ids"]) == 40 else "stop")


def test_eight_concurrent_requests_equal_kaiyuan_run(client):
    refs = [kaiyuan_run(p, 48)["text"] for p in PROMPTS]

    def one(p):
        return client.completions.create(model=MODEL_ID, prompt=p, max_tokens=48, temperature=0).choices[0].text

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        got = list(ex.map(one, PROMPTS))
    assert got == refs


def test_streaming_completion_equals_plain(client):
    plain = client.completions.create(model=MODEL_ID, prompt="Lily and Tom", max_tokens=30, temperature=0)
    stream = client.completions.create(model=MODEL_ID, prompt="Lily and Tom", max_tokens=30, temperature=0,
                                       stream=True, stream_options={"include_usage": True})
    text, finish, usage, n_chunks = "", None, None, 0
    for chunk in stream:
        n_chunks += 1
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.text
            finish = c.finish_reason or finish
    assert text == plain.choices[0].text
    assert finish == plain.choices[0].finish_reason
    assert usage.completion_tokens == plain.usage.completion_tokens
    assert n_chunks > 10  # flushed token by token


def test_chat_plain_and_streaming_agree(client):
    msgs = [{"role": "user", "content": "Tell me a story."}]
    plain = client.chat.completions.create(model=MODEL_ID, messages=msgs, max_tokens=25, temperature=0)
    assert plain.object == "chat.completion"
    assert plain.choices[0].message.role == "assistant"
    assert len(plain.choices[0].message.content) > 0
    assert plain.usage.completion_tokens == 25 or plain.choices[0].finish_reason == "stop"
    text, roles, finish = "", [], None
    for chunk in client.chat.completions.create(model=MODEL_ID, messages=msgs, max_tokens=25, temperature=0,
                                                stream=True):
        assert chunk.object == "chat.completion.chunk"
        for c in chunk.choices:
            if c.delta.role:
                roles.append(c.delta.role)
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert roles == ["assistant"]
    assert text == plain.choices[0].message.content
    assert finish == plain.choices[0].finish_reason


def test_chat_content_parts(client):
    a = client.chat.completions.create(model=MODEL_ID, max_tokens=10, temperature=0,
                                       messages=[{"role": "user", "content": "Hello there"}])
    b = client.chat.completions.create(model=MODEL_ID, max_tokens=10, temperature=0,
                                       messages=[{"role": "user", "content": [{"type": "text", "text": "Hello "},
                                                                              {"type": "text", "text": "there"}]}])
    assert a.choices[0].message.content == b.choices[0].message.content


def test_n_choices_and_seed(client):
    kw = dict(model=MODEL_ID, prompt="Once upon a time", max_tokens=20, temperature=1.0, seed=7, n=3)
    a = client.completions.create(**kw)
    b = client.completions.create(**kw)
    assert [c.index for c in a.choices] == [0, 1, 2]
    assert [c.text for c in a.choices] == [c.text for c in b.choices]
    assert len({c.text for c in a.choices}) > 1  # choices are sampled independently
    assert a.usage.prompt_tokens == b.usage.prompt_tokens  # the prompt counts once
    c = client.completions.create(**{**kw, "seed": 8})
    assert [x.text for x in c.choices] != [x.text for x in a.choices]


def test_stop_strings(client):
    full = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=60, temperature=0)
    text = full.choices[0].text
    stop = text[20:24]
    cut = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=60, temperature=0,
                                    stop=[stop, "zzzz"])
    assert cut.choices[0].text == text[:text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=MODEL_ID, prompt="Once upon a time", max_tokens=60, temperature=0, stop=stop, stream=True)
        if c.choices)
    assert streamed == cut.choices[0].text


def test_logprobs(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=8,
                                       temperature=0, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert entry.top_logprobs[0].token == entry.token
        assert abs(entry.top_logprobs[0].logprob - entry.logprob) < 1e-6
        assert bytes(entry.bytes).decode("utf-8", "replace") == entry.token or entry.token == "\ufffd"
    c = client.completions.create(model=MODEL_ID, prompt="Tim", max_tokens=5, temperature=0, logprobs=2)
    lp = c.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == c.usage.completion_tokens
    assert all(len(t) == 2 for t in lp.top_logprobs)


def test_penalties_change_output(client):
    base = dict(model=MODEL_ID, prompt="Once upon a time", max_tokens=60, temperature=0)
    plain = client.completions.create(**base).choices[0].text
    penalised = client.completions.create(**base, frequency_penalty=2.0, presence_penalty=2.0).choices[0].text
    assert plain != penalised


def test_logit_bias_forces_tokens(client):
    # Token 300 of tok512 gets +100: greedy decoding must pick it every time.
    r = client.completions.create(model=MODEL_ID, prompt=[1, 403], max_tokens=4, temperature=0,
                                  logit_bias={"300": 100}, logprobs=0)
    toks = r.choices[0].logprobs.tokens
    assert len(toks) == 4 and len(set(toks)) == 1
    assert r.choices[0].text == toks[0] * 4


def test_utf8_streaming_is_whole_characters(client):
    # Force byte tokens <0xE4><0xB8><0x96> (U+4E16 "世") : ids 3 + byte value.
    bias = {str(3 + 0xE4): 100}
    r = client.completions.create(model=MODEL_ID, prompt="Tim", max_tokens=3, temperature=0, logit_bias=bias, stream=True)
    pieces = [c.choices[0].text for c in r if c.choices and c.choices[0].text]
    # Three 0xE4 bytes never form a character: each becomes U+FFFD, none is split inside JSON.
    assert "".join(pieces) == "\ufffd" * 3
