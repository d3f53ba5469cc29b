"""Requests generated from the server's own /openapi.json by schemathesis, valid and invalid ones:
no 5xx, every response conforms to the document (status, content type, schema), and the server is
still healthy afterwards. Bounded (a few examples per operation) and derandomized, so a run is
repeatable and short."""
import json

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import MODEL_ID

EXAMPLES_PER_MODE = 15


def with_served_model(case):
    """Most generated bodies name a random model (a 404 that stops at the first check); naming the
    served one instead lets them reach parsing, the prompt template and generation."""
    if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
        case.body["model"] = MODEL_ID
    return case


def test_api_conforms_to_its_openapi_document(server):
    headers = {"Authorization": "Bearer " + server.api_key}
    schema = schemathesis.openapi.from_url(server.base + "/openapi.json", headers=headers, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES_PER_MODE, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode).map(with_served_model))
            def check(case):
                # A schema-valid body may still be refused with a documented 400: a prompt plus
                # max_tokens beyond the context is not expressible in the schema.
                case.call_and_validate(base_url=server.base, headers=headers, timeout=60,
                                       excluded_checks=[positive_data_acceptance])
            try:
                check()
            except Unsatisfiable:
                # An operation without parameters or body (GET /health) has no invalid input to make.
                assert mode == GenerationMode.NEGATIVE

    status, _, body = server.request("GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = server.request("POST", "/v1/completions",
                                     {"model": MODEL_ID, "prompt": "Tim", "max_tokens": 4, "temperature": 0})
    assert status == 200 and json.loads(body)["choices"][0]["finish_reason"] in ("length", "stop")
