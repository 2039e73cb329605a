// The Jinja2 subset, feature by feature; expected strings are what jinja2 3.1 prints with
// Hugging Face's settings (trim_blocks, lstrip_blocks).
#include <catch2/catch.hpp>

#include "jinja_test_util.h"

using floe::testing::Render;

TEST_CASE("jinja: literals, operators and Python printing", "[chat]") {
  CHECK(
      Render("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7 / 2 }}|{{ 2 ** 10 }}") ==
      "7|3|-4|2|3.5|1024");
  CHECK(Render("{{ 'a' ~ 1 ~ none ~ true }}|{{ 'ab' + 'cd' }}|{{ 'ab' * 3 }}") ==
        "a1NoneTrue|abcd|ababab");
  CHECK(Render("{{ [1, 'x', none, false] }}|{{ {'a': 1, 'b': [2.5]} }}|{{ 1.0 }}|{{ 1e20 }}") ==
        "[1, 'x', None, False]|{'a': 1, 'b': [2.5]}|1.0|1e+20");
  CHECK(Render("{{ \"it's\" }}|{{ [\"it's\"] }}|{{ 'a\\nb' }}") == "it's|[\"it's\"]|a\nb");
  CHECK(Render("{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' < 'b' }}{{ [1,2] < [1,3] }}{{ 1 < 2 < 3 }}") ==
        "TrueTrueTrueTrueTrue");
  CHECK(Render("{{ 'b' in 'abc' }}{{ 2 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}") ==
        "TrueTrueTrueTrue");
  CHECK(Render("{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ not '' }}|{{ 'a' if false else 'b' }}|{{ 'a' if "
               "false }}") == "x|y|True|b|");
}

TEST_CASE("jinja: tuples print as Python's", "[chat]") {
  CHECK(
      Render(
          "{{ (1, 'a') }}|{{ (1,) }}|{{ () }}|{{ {'k': 1}|items|list }}|{{ (1, 2) == [1, 2] }}") ==
      "(1, 'a')|(1,)|()|[('k', 1)]|False");
}

TEST_CASE("jinja: slicing, indexing and Unicode", "[chat]") {
  CHECK(Render("{{ 'hello'[::-1] }}|{{ [1,2,3,4][1:3] }}|{{ 'héllo'[1] }}|{{ [1,2,3][-1] }}") ==
        "olleh|[2, 3]|é|3");
  CHECK(Render("{{ '日本語'|length }}|{{ '日本語'[1:] }}|{{ 'Grüß'|upper }}") == "3|本語|GRÜß");
  CHECK(Render("{{ messages[0].content }}{{ messages[0]['role'] }}",
               R"([{"role":"user","content":"hi"}])") == "hiuser");
}

TEST_CASE("jinja: for loops, loop variables, else, filters and if", "[chat]") {
  CHECK(Render(
            "{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
            "{{ loop.length }},{% endfor %}") == "10TrueFalse3,21FalseFalse3,32FalseTrue3,");
  CHECK(Render("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
  CHECK(Render("{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}") ==
        "2242");
  CHECK(Render("{% for x in [1,2,3] %}{{ loop.previtem|default('-') }}{% endfor %}") == "-12");
  CHECK(Render("{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }};{% endfor %}") ==
        "a=1;b=2;");
  CHECK(Render("{% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}") == "a1");
  CHECK(Render("{% for x in range(5) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}"
               "{% continue %}{% endif %}{{ x }}{% endfor %}") == "02");
  CHECK(Render("{% for x in undefined_thing %}x{% endfor %}ok") == "ok");
}

TEST_CASE("jinja: set, scoping and namespace", "[chat]") {
  CHECK(Render("{% set a = 1 %}{% if true %}{% set a = 2 %}{% endif %}{{ a }}") == "2");
  CHECK(Render("{% set a = 1 %}{% for x in [1] %}{% set a = 5 %}{% endfor %}{{ a }}") == "1");
  CHECK(Render("{% set ns = namespace(n=0) %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}"
               "{% endfor %}{{ ns.n }}") == "6");
  CHECK(Render("{% set a, b = [1, 2] %}{{ b }}{{ a }}") == "21");
  CHECK(Render("{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]") == "[x2]");
}

TEST_CASE("jinja: macros with defaults, keywords and recursion", "[chat]") {
  CHECK(Render("{% macro m(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=2) }}") ==
        "1-d 1-2");
  CHECK(Render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ "
               "f(3) }}") == "321");
}

TEST_CASE("jinja: filters", "[chat]") {
  CHECK(Render(
            "{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ [1,2]|join(', ') }}|{{ 'ab'|upper }}") ==
        "x|a|1, 2|AB");
  CHECK(
      Render("{{ 'hello world'|title }}|{{ 'hELLO'|capitalize }}|{{ 'aXa'|replace('a', 'b') }}") ==
      "Hello World|Hello|bXb");
  CHECK(Render("{{ [3,1]|first }}{{ [3,1]|last }}{{ x|default('d') }}{{ ''|default('e', true) }}"
               "{{ x|d('f') }}") == "31def");
  CHECK(Render("{{ 5|string + 'x' }}|{{ '42'|int + 1 }}|{{ '1.5'|float }}|{{ 'ab'|list }}") ==
        "5x|43|1.5|['a', 'b']");
  CHECK(Render("{{ [1,2,3]|length }}{{ {'a':1}|count }}{{ 'é'|length }}") == "311");
  CHECK(Render("{{ [{'r':'a'},{'r':'b'},{'x':1}]|selectattr('r', 'equalto', 'b')|list }}") ==
        "[{'r': 'b'}]");
  CHECK(Render("{{ [{'r':'a'},{'x':1}]|selectattr('r', 'defined')|map(attribute='r')|list }}") ==
        "['a']");
  CHECK(Render("{{ [{'r':1},{'r':0}]|rejectattr('r')|list }}|{{ ['A','a','b']|unique|list }}") ==
        "[{'r': 0}]|['A', 'b']");
  CHECK(Render("{{ ['a','b']|map('upper')|join }}|{{ 'a\nb'|indent(2) }}|{{ 'a\nb'|indent(2, true) "
               "}}") == "AB|a\n  b|  a\n  b");
  CHECK(Render("{{ 'x'|safe }}") == "x");
}

TEST_CASE("jinja: tojson is json.dumps(ensure_ascii=False)", "[chat]") {
  CHECK(Render("{{ {'a': [1, 2.5, none, true], 'é': 'q\"\\n'}|tojson }}") ==
        "{\"a\": [1, 2.5, null, true], \"é\": \"q\\\"\\n\"}");
  CHECK(Render("{{ {'a': [1], 'b': {}}|tojson(indent=2) }}") ==
        "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
}

TEST_CASE("jinja: tests", "[chat]") {
  CHECK(Render("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}"
               "{{ {} is mapping }}{{ [] is iterable }}{{ 1 is number }}{{ true is boolean }}") ==
        "FalseTrueTrueTrueTrueTrueTrueTrue");
  CHECK(Render("{{ 'a' is sequence }}{{ 1 is not string }}{{ 2 is equalto 2 }}{{ 2 is eq 3 }}"
               "{{ 'a' is in 'abc' }}{{ true is true }}{{ 0 is false }}") ==
        "TrueTrueTrueFalseTrueTrueFalse");
}

TEST_CASE("jinja: string and dict methods", "[chat]") {
  CHECK(Render("{{ ' a '.strip() }}|{{ 'xax'.lstrip('x') }}|{{ 'xax'.rstrip('x') }}|{{ "
               "'a,b'.split(',') }}") == "a|ax|xa|['a', 'b']");
  CHECK(Render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'a b'.title() }}"
               "{{ 'A'.lower() }}{{ 'x'.upper() }}{{ 'aa'.replace('a', 'b') }}") ==
        "TrueTrueA BaXbb");
  CHECK(Render("{{ '{} and {}'.format(1, 'x') }}|{{ ' a  b '.split() }}") == "1 and x|['a', 'b']");
  CHECK(Render("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b') }}{{ {'a': 1}.get('b', 2) }}"
               "{{ {'a': 1}.keys()|list }}{{ {'a': 1}.values()|list }}") == "1None2['a'][1]");
}

TEST_CASE("jinja: whitespace control and HF's trim_blocks / lstrip_blocks", "[chat]") {
  CHECK(Render("a  {{- 'b' -}}  c") == "abc");
  CHECK(Render("{% if true %}\nx\n{% endif %}\n") == "x\n");  // trim_blocks
  CHECK(Render("  {% if true %}x{% endif %}") == "x");        // lstrip_blocks
  CHECK(Render("  {{ 'x' }}") == "  x");                      // not before {{
  CHECK(Render("a\n  {%- if true %}b{% endif %}") == "ab");
  CHECK(Render("{# c #}\nx{# d -#}  y") == "xy");
  CHECK(Render("line\n") == "line");  // one trailing \n dropped
  CHECK(Render("a\r\nb") == "a\nb");
  CHECK(Render("  {%+ if true %}x{% endif %}") == "  x");
}

TEST_CASE("jinja: globals raise_exception-free: strftime_now, range, dict, undefined", "[chat]") {
  CHECK(Render("{{ strftime_now('%d %b %Y') }}") == "26 Jul 2024");
  CHECK(Render("{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ dict(a=1) }}") ==
        "[0, 1, 2][1, 3, 5]{'a': 1}");
  CHECK(Render("[{{ nothing }}]{{ nothing|length }}{% if not nothing %}f{% endif %}") == "[]0f");
  CHECK(Render("{{ none.x is defined }}") == "False");
}
