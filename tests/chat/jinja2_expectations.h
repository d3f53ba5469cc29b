// Expected strings produced by Python jinja2 3.1.6 with transformers' environment settings
// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols), tojson =
// json.dumps(ensure_ascii=False, indent)), context xs=[3,1,2], d={"b":1,"a":[1,2]}, s="  Hello World  ".
// Regenerate with tests/chat/data/make_jinja_expectations.py.
#pragma once

struct JinjaCase {
  const char* source;
  const char* expected;
};

inline const JinjaCase kJinja2Cases[] = {
    {R"J({{ 7 // 2 }},{{ -7 // 2 }},{{ -7 % 3 }},{{ 7 / 2 }},{{ 4 / 2 }},{{ 2 ** 10 }},{{ 1.0 }},{{ 1e20 }},{{ 0.1 + 0.2 }},{{ 1e-7 }})J",
     R"J(3,-4,2,3.5,2.0,1024,1.0,1e+20,0.30000000000000004,1e-07)J"},
    {R"J({{ true }},{{ false }},{{ xs }},{{ d }},{{ 'it''s' }},{{ "a\tb" }},{{ ["it's", 'x'] }})J",
     R"J(True,False,[3, 1, 2],{'b': 1, 'a': [1, 2]},its,a	b,["it's", 'x'])J"},
    {R"J({{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ "é\n\u0001\"" | tojson }}|{{ {'x': none, 'y': 1.5, 'z': true} | tojson }})J",
     R"J({"b": 1, "a": [1, 2]}|{
  "b": 1,
  "a": [
    1,
    2
  ]
}|[]|"é\n\u0001\""|{"x": null, "y": 1.5, "z": true})J"},
    {R"J(  {% if true %}
    x
  {% endif %}
  {{ 'y' }}
end
)J",
     R"J(    x
  y
end)J"},
    {R"J({% for i in xs -%}
  [{{ i }}]
{%- endfor %}
 {#- comment -#}  after {# c2 #}
done)J",
     R"J([3][1][2]after done)J"},
    {R"J({% raw %}{{ not parsed }}{% endraw %})J",
     R"J({{ not parsed }})J"},
    {R"J({{ s | trim }}|{{ s.strip() }}|{{ s.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ s.title() }}|{{ 'x' * 3 }}|{{ xs | sort }}|{{ d | dictsort }})J",
     R"J(Hello World|Hello World|['Hello', 'World']|['a', 'b', '', 'c']|['a', 'b,c']|['a,b', 'c']|  Hello World  |xxx|[1, 2, 3]|[('a', [1, 2]), ('b', 1)])J"},
    {R"J({{ (1 + 2) ~ 3 }}|{{ 'a' ~ 1 ~ 2.5 }}|{{ xs[::-1] }}|{{ 'héllo'[1:3] }}|{{ 'héllo'[-1] }}|{{ xs | join(', ') }}|{{ 'abc' | list }}|{{ xs[1:] }}|{{ xs[:-1] }})J",
     R"J(33|a12.5|[2, 1, 3]|él|o|3, 1, 2|['a', 'b', 'c']|[1, 2]|[3, 1])J"},
    {R"J({% macro f(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ f(1) }} {{ f(1, b=3) }} {{ f(a=5) }})J",
     R"J(1-2 1-3 5-2)J"},
    {R"J({% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %})J",
     R"J(<b>bold</b>)J"},
    {R"J({{ undefined_var }}|{{ d.a }}|{{ d['b'] }}|{{ d.missing is defined }}|{{ d.get('zz', 7) }}|{{ d.get('b') }})J",
     R"J(|[1, 2]|1|False|7|1)J"},
    {R"J({{ xs | map('string') | join }}|{{ [{'a':1},{'a':2}] | map(attribute='a') | list }}|{{ xs | select('odd') | list }}|{{ xs | reject('equalto', 1) | list }}|{{ [{'a':1},{'a':0}] | selectattr('a') | list }}|{{ [{'n':'x'},{'n':'y'}] | rejectattr('n', 'equalto', 'x') | list }})J",
     R"J(312|[1, 2]|[3, 1]|[3, 2]|[{'a': 1}]|[{'n': 'y'}])J"},
    {R"J({% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }})J",
     R"J(10)J"},
    {R"J({% for i in range(3) %}{% if i == 0 %}{% set x = 5 %}{% endif %}[{{ x }}]{% endfor %})J",
     R"J([5][][])J"},
    {R"J({% for k, v in d.items() %}{{ loop.index }}:{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %})J",
     R"J(1:b=1, 2:a=[1, 2])J"},
    {R"J({% for x in [] %}a{% else %}empty{% endfor %}|{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}|{% for x in xs %}{{ loop.revindex }}{{ loop.first }}{% endfor %})J",
     R"J(empty|3222|3True2False1False)J"},
    {R"J({% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %})J",
     R"J(0134)J"},
    {R"J({{ 'yes' if xs else 'no' }}|{{ 'yes' if [] else 'no' }}|{{ 1 in xs }}|{{ 5 not in xs }}|{{ 'b' in d }}|{{ 'ell' in 'hello' }}|{{ not xs }}|{{ none is none }}|{{ 3 is odd }}|{{ xs is iterable }}|{{ d is mapping }}|{{ 'x' is string }}|{{ 1 is number }}|{{ 1.5 is integer }}|{{ d is not none }})J",
     R"J(yes|no|True|True|True|True|False|True|True|True|True|True|True|False|True)J"},
    {R"J({% set block %}inner {{ 1 + 1 }}{% endset %}[{{ block }}]|{% filter upper %}shout{% endfilter %})J",
     R"J([inner 2]|SHOUT)J"},
    {R"J({{ '  x  ' | trim }}|{{ 'Hello' | upper }}|{{ 'Hello' | lower }}|{{ 'hello world' | title }}|{{ 'hello WORLD' | capitalize }}|{{ xs | first }}|{{ xs | last }}|{{ xs | length }}|{{ 'héllo' | length }}|{{ none | default('dflt') is none }}|{{ undefined_var | default('dflt') }}|{{ '' | default('dflt', true) }})J",
     R"J(x|HELLO|hello|Hello World|Hello world|3|2|3|5|True|dflt|dflt)J"},
    {R"J({{ '42' | int + 1 }}|{{ '3.5' | float }}|{{ 'x' | int }}|{{ 3.7 | int }}|{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ [3, 1, 3, 2] | unique | list }}|{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'one two  three' | wordcount }})J",
     R"J(43|3.5|0|3|3|2.57|[3, 1, 2]|a
  b

  c|  a
  b|3)J"},
    {R"J({{ 'a-b-c'.replace('-', '+') }}|{{ 'a-b-c' | replace('-', '') }}|{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ '\n\nx\n'.lstrip('\n') }}|{{ 'xx\n\n'.rstrip('\n') }}|{{ 'hello'.find('l') }}|{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|{{ 'Hello'.upper() }})J",
     R"J(a+b+c|abc|True|True|x
|xx|2|2|a-b|HELLO)J"},
    {R"J({{ '<a href="x">&' | e }}|{{ xs | tojson }}|{{ "x" | tojson }}|{{ d | items | list }}|{{ [1, [2, 3]] | tojson(indent=2) }})J",
     R"J(&lt;a href=&#34;x&#34;&gt;&amp;|[3, 1, 2]|"x"|[('b', 1), ('a', [1, 2])]|[
  1,
  [
    2,
    3
  ]
])J"},
    {R"J({%- if false %}
no
{%- elif xs | length > 2 %}
three
{%- else %}
else
{%- endif %}
)J",
     R"J(three)J"},
};
