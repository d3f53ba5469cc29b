"""Errors come back as OpenAI error objects with the right status, and the client raises the
matching exception."""
import json

import openai
import pytest

from conftest import MODEL_ID, Server


def error_of(status_body):
    status, headers, body = status_body
    e = json.loads(body)["error"]
    assert set(e) == {"message", "type", "param", "code"}
    return status, e, headers


def test_bad_json(server):
    status, e, _ = error_of(server.request("POST", "/v1/chat/completions", raw=b"{not json"))
    assert status == 400 and e["type"] == "invalid_request_error"


@pytest.mark.parametrize("field,value", [("temperature", "hot"), ("max_tokens", "10"), ("n", 1.5),
                                         ("stream", "yes"), ("messages", "hi"), ("stop", 5),
                                         ("top_p", 7), ("logit_bias", [1])])
def test_wrong_types_are_400(server, field, value):
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": "x"}], field: value}
    status, e, _ = error_of(server.request("POST", "/v1/chat/completions", body))
    assert status == 400
    assert e["param"] == field


def test_client_raises_bad_request(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[], max_tokens=3)


def test_unknown_fields_are_ignored(server):
    body = {"model": MODEL_ID, "prompt": "Tim", "max_tokens": 2, "frobnicate": {"a": 1}}
    status, _, out = server.request("POST", "/v1/completions", body)
    assert status == 200 and json.loads(out)["object"] == "text_completion"


def test_unknown_model(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.completions.create(model="gpt-9", prompt="x", max_tokens=2)
    assert err.value.code == "model_not_found"


def test_too_long_prompt_and_max_tokens(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model=MODEL_ID, prompt="Once upon a time " * 200, max_tokens=2)
    assert err.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model=MODEL_ID, prompt="Tim", max_tokens=600)  # context 128
    assert err.value.code == "context_length_exceeded"


def test_api_key(server):
    bad = server.client(api_key="wrong")
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    status, e, _ = error_of(server.request("GET", "/v1/models", headers={"Authorization": ""}))
    assert status == 401 and e["code"] == "invalid_api_key"
    status, e, _ = error_of(server.request("GET", "/metrics", headers={"Authorization": "Bearer nope"}))
    assert status == 401
    assert server.request("GET", "/health", headers={"Authorization": ""})[0] == 200


def test_api_key_from_environment():
    s = Server("--quiet", api_key=None, env={"KAIYUAN_API_KEY": "from-env"})
    try:
        assert s.request("GET", "/v1/models")[0] == 401
        assert s.request("GET", "/v1/models", headers={"Authorization": "Bearer from-env"})[0] == 200
    finally:
        s.stop()


def test_body_limit_and_unknown_route(server):
    status, e, _ = error_of(server.request("POST", "/v1/completions", raw=b" " * (9 << 20)))
    assert status == 413
    status, e, _ = error_of(server.request("GET", "/v1/nothing"))
    assert status == 404


def test_queue_full_is_503_with_retry_after():
    # stories260K writes a token in well under a millisecond, so a busy slot is a window of
    # tens of milliseconds: the probe can lose the race on a loaded machine and find the slot
    # free again (a 200 is then correct). Banning end-of-text (id 2) keeps each long request
    # at its full length, and the test retries until a probe lands inside one; a server that
    # never answers 503 still fails.
    import threading
    s = Server("--parallel", "1", "--queue", "0", "--quiet")
    try:
        c = s.client()
        for _ in range(30):
            started = threading.Event()

            def long():
                stream = c.completions.create(model=MODEL_ID, prompt="Tim", max_tokens=120, temperature=0,
                                              logit_bias={"2": -100}, stream=True)
                for _ in stream:
                    started.set()
            t = threading.Thread(target=long)
            t.start()
            assert started.wait(60)
            status, headers, body = s.request("POST", "/v1/completions", {"model": MODEL_ID, "prompt": "x",
                                                                          "max_tokens": 1})
            t.join()
            if status == 200:
                continue
            status, e, headers = error_of((status, headers, body))
            assert status == 503 and headers.get("Retry-After") == "1"
            assert e["type"] == "server_error" and e["code"] == "server_busy"
            c.close()  # an idle keep-alive connection would hold up the server's shutdown
            return
        pytest.fail("30 probes sent while a long request held the only slot all got 200: no 503 for a full queue")
    finally:
        s.stop()
