"""Tool calls and reasoning end to end. (SentencePiece encodes the forced text with its dummy-prefix
space, so generated text starts with " "; assertions strip it.) The tiny fixture model never writes a tool call by itself,
so a second server runs with the test hook --test-forced-output: the engine emits exactly the given
text's tokens (through the real scheduler, detokenizer, parser and HTTP layers)."""
import json

import jsonschema
import pytest

from conftest import MODEL_ID, Server

CALL = ('Checking.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
        '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>')
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
MSGS = [{"role": "user", "content": "Weather in Paris?"}]


@pytest.fixture(scope="module")
def forced_server():
    s = Server("--quiet", "-c", "1024", "--test-forced-output", CALL)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain_response(forced_server):
    """The non-streamed answer, made once (the streamed test compares against it)."""
    return forced_server.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS)


def test_tool_calls_plain(plain_response):
    choice = plain_response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content.lstrip() == "Checking."
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert json.loads(calls[1].function.arguments) == {}
    assert all(c.id.startswith("call_") and c.type == "function" for c in calls)


def streamed_tool_calls(stream):
    """What a client assembles from a stream, checking OpenAI's piece-by-piece protocol on the way:
    a call's first delta has index, id, type and name; later ones only index and arguments text."""
    content, calls, finish = "", {}, None
    for chunk in stream:
        for c in chunk.choices:
            content += c.delta.content or ""
            for t in c.delta.tool_calls or []:
                if t.index not in calls:
                    assert t.index == len(calls), "calls are numbered 0, 1, ... in order"
                    assert t.id.startswith("call_") and t.type == "function" and t.function.name
                    calls[t.index] = {"id": t.id, "name": t.function.name, "arguments": "", "n_pieces": 0}
                else:
                    assert t.id is None and t.function.name is None
                calls[t.index]["arguments"] += t.function.arguments or ""
                calls[t.index]["n_pieces"] += 1 if t.function.arguments else 0
            finish = c.finish_reason or finish
    return content, [calls[i] for i in sorted(calls)], finish


def test_tool_calls_streamed(forced_server, plain_response):
    plain = plain_response.choices[0].message
    content, calls, finish = streamed_tool_calls(
        forced_server.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS, stream=True))
    assert content.lstrip() == "Checking."
    assert finish == "tool_calls"
    assert [c["name"] for c in calls] == [t.function.name for t in plain.tool_calls] == ["get_weather", "get_time"]
    # The pieces add up to exactly the non-streamed arguments: the model's text, as OpenAI sends it.
    assert [c["arguments"] for c in calls] == [t.function.arguments for t in plain.tool_calls]
    assert calls[0]["arguments"] == '{"city": "Paris"}'
    # ...and they arrived a few tokens at a time, as the model wrote them.
    assert calls[0]["n_pieces"] > 1


def test_streamed_pieces_match_the_openapi_document(forced_server):
    doc = json.loads(forced_server.request("GET", "/openapi.json")[2])
    schema = lambda name: jsonschema.Draft202012Validator({**doc, "$ref": "#/components/schemas/" + name})  # noqa: E731
    status, _, body = forced_server.request("POST", "/v1/chat/completions",
                                            {"model": MODEL_ID, "messages": MSGS, "tools": TOOLS, "stream": True})
    assert status == 200
    chunks = [json.loads(ev[len("data: "):]) for ev in body.decode().split("\n\n") if ev.startswith("data: {")]
    for chunk in chunks:
        schema("ChatCompletionChunk").validate(chunk)
    pieces = [t for c in chunks for choice in c["choices"] for t in choice["delta"].get("tool_calls", [])]
    assert len(pieces) > 2
    with pytest.raises(jsonschema.ValidationError):  # a later piece is not a whole ToolCall (no id)
        schema("ToolCall").validate(pieces[1])


def test_without_tools_the_text_is_content(forced_server):
    r = forced_server.client().chat.completions.create(model=MODEL_ID, messages=MSGS)
    assert r.choices[0].message.content.lstrip() == CALL
    assert r.choices[0].finish_reason == "stop"
    assert not r.choices[0].message.tool_calls


def test_malformed_call_is_text():
    bad = 'Sure <tool_call>{"name": "get_weather", "arguments": {"city": </tool_call>'
    s = Server("--quiet", "-c", "1024", "--test-forced-output", bad)
    try:
        r = s.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS)
        assert r.choices[0].message.content.lstrip() == bad
        assert r.choices[0].finish_reason == "stop"
        stream = s.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS,
                                                    stream=True)
        content, calls, finish = streamed_tool_calls(stream)
        assert content.lstrip() == bad
        assert finish == "stop"
        # The call was shown as its arguments began, then judged malformed: what the client holds for
        # its arguments is not JSON, and finish_reason is not "tool_calls".
        assert [c["name"] for c in calls] == ["get_weather"]
        with pytest.raises(json.JSONDecodeError):
            json.loads(calls[0]["arguments"])
    finally:
        s.stop()


def test_reasoning_content():
    s = Server("--quiet", "-c", "1024", "--test-forced-output", "<think>The user wants a story.</think>\n\nOnce there was a cat.")
    try:
        r = s.client().chat.completions.create(model=MODEL_ID, messages=MSGS)
        msg = r.choices[0].message
        assert msg.content == "Once there was a cat."
        assert msg.model_extra["reasoning_content"] == "The user wants a story."
    finally:
        s.stop()
