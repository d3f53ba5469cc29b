"""Tool calls and reasoning end to end. (SentencePiece encodes the forced text with its dummy-prefix
space, so generated text starts with " "; assertions strip it.) The tiny fixture model never writes a tool call by itself,
so a second server runs with the test hook --test-forced-output: the engine emits exactly the given
text's tokens (through the real scheduler, detokenizer, parser and HTTP layers)."""
import json

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


def test_tool_calls_plain(forced_server):
    r = forced_server.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content.lstrip() == "Checking."
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert json.loads(calls[1].function.arguments) == {}
    assert all(c.id.startswith("call_") and c.type == "function" for c in calls)


def test_tool_calls_streamed(forced_server):
    stream = forced_server.client().chat.completions.create(model=MODEL_ID, messages=MSGS, tools=TOOLS,
                                                            stream=True)
    content, calls, finish = "", {}, None
    for chunk in stream:
        for c in chunk.choices:
            content += c.delta.content or ""
            for t in c.delta.tool_calls or []:
                entry = calls.setdefault(t.index, {"name": "", "arguments": ""})
                entry["name"] += t.function.name or ""
                entry["arguments"] += t.function.arguments or ""
            finish = c.finish_reason or finish
    assert content.lstrip() == "Checking."
    assert finish == "tool_calls"
    assert calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert calls[1]["name"] == "get_time"


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
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).lstrip() == bad
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
