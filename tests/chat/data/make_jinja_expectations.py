"""Regenerates ../jinja2_expectations.h from jinja_cases.txt (templates separated by "\n===\n").

Usage: python3 -m venv /tmp/jinja-venv && /tmp/jinja-venv/bin/pip install jinja2==3.1.6
       /tmp/jinja-venv/bin/python tests/chat/data/make_jinja_expectations.py
The environment is transformers' (chat_template_utils._compile_jinja_template).
"""
import json
import os

from jinja2.sandbox import ImmutableSandboxedEnvironment

here = os.path.dirname(os.path.abspath(__file__))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
ctx = dict(xs=[3, 1, 2], d={"b": 1, "a": [1, 2]}, s="  Hello World  ")
out = [
    "// Expected strings produced by Python jinja2 3.1.6 with transformers' environment settings",
    "// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols), tojson =",
    '// json.dumps(ensure_ascii=False, indent)), context xs=[3,1,2], d={"b":1,"a":[1,2]}, s="  Hello World  ".',
    "// Regenerate with tests/chat/data/make_jinja_expectations.py.",
    "#pragma once", "", "struct JinjaCase {", "  const char* source;", "  const char* expected;", "};", "",
    "inline const JinjaCase kJinja2Cases[] = {",
]
for src in open(os.path.join(here, "jinja_cases.txt")).read().split("\n===\n"):
    expected = env.from_string(src).render(**ctx)
    out.append('    {R"J(%s)J",\n     R"J(%s)J"},' % (src, expected))
out.append("};")
open(os.path.join(here, "..", "jinja2_expectations.h"), "w").write("\n".join(out) + "\n")
