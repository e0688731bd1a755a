#!/usr/bin/env python3
"""Renders chat templates the way Hugging Face transformers' `apply_chat_template` does.

This is the reference the Rust renderer (`wrapper_template::render`) is checked
against, byte for byte. It needs jinja2 only (see `requirements.txt` beside it); the
engine is set up as transformers sets it up (`utils/chat_template_utils.py`,
`_compile_jinja_template` and `render_jinja_template`):

* `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` with the
  `loopcontrols` extension (transformers' `{% generation %}` tracker extension only
  matters for assistant masks, not for the text, and is left out);
* `raise_exception(message)` raising `jinja2.exceptions.TemplateError(message)`;
* `strftime_now(format)`: here a fixed clock (the conversations file's `now`), so
  the outputs are reproducible; the Rust tests pass the same instant;
* the `tojson` filter replaced by `json.dumps(x, ensure_ascii=False, indent=None,
  separators=None, sort_keys=False)` (jinja2's own escapes HTML characters);
* `render(messages=..., tools=..., documents=None, add_generation_prompt=...,
  **special_tokens)`: `tools` is `None` when there are none, as in transformers.

Usage:
    render_reference.py --templates DIR --tokens FILE --conversations FILE --out DIR

`--tokens` is a JSON object keyed by template file name whose values hold
`special_tokens` (the shape of `sources.json` in the shared templates folder); a
template missing from it gets no special tokens. Every `*.jinja` file of DIR is
rendered on every case of the conversations file, and `OUT/<template stem>.json` gets
`{case name: rendered text, or {"error": message, "raised": bool}}`, where `raised`
says the template called `raise_exception`.
"""

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class RaisedByTemplate(TemplateError):
    """What `raise_exception` raises (a TemplateError, as in transformers)."""


def environment(now):
    """The jinja2 environment transformers compiles chat templates in."""

    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            x,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_case(template, case, special_tokens):
    try:
        return template.render(
            messages=case["messages"],
            tools=case["tools"],
            documents=None,
            add_generation_prompt=case["add_generation_prompt"],
            **special_tokens,
        )
    except RaisedByTemplate as error:
        return {"error": str(error), "raised": True}
    except Exception as error:  # jinja2 and Python errors alike: the case errors.
        return {"error": f"{type(error).__name__}: {error}", "raised": False}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", required=True, type=Path)
    parser.add_argument("--tokens", required=True, type=Path)
    parser.add_argument("--conversations", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    conversations = json.loads(args.conversations.read_text(encoding="utf-8"))
    tokens = json.loads(args.tokens.read_text(encoding="utf-8"))
    now = datetime.fromisoformat(conversations["now"])
    env = environment(now)
    args.out.mkdir(parents=True, exist_ok=True)

    templates = sorted(args.templates.glob("*.jinja"))
    if not templates:
        sys.exit(f"no *.jinja file in {args.templates}")
    for path in templates:
        # newline="" keeps the file's line ends; jinja2 turns each into "\n" itself.
        with open(path, encoding="utf-8", newline="") as file:
            source = file.read()
        entry = tokens.get(path.name)
        special_tokens = entry.get("special_tokens", {}) if isinstance(entry, dict) else {}
        try:
            template = env.from_string(source)
        except jinja2.TemplateSyntaxError as error:
            results = {"__compile__": {"error": f"line {error.lineno}: {error.message}", "raised": False}}
        else:
            results = {
                case["name"]: render_case(template, case, special_tokens)
                for case in conversations["cases"]
            }
        out = args.out / f"{path.stem}.json"
        out.write_text(
            json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{path.name}: {len(results)} cases -> {out}")


if __name__ == "__main__":
    main()
