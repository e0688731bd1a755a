#!/usr/bin/env python3
"""Writes `conversations.json` beside this script: the cases every chat template is
rendered on, by the reference (`render_reference.py`) and by the Rust renderer.

Each conversation comes from the project's fixture conversations
(`tests/fixtures/reference-prompts.json`: MemGPT conversations with `functions`) or is
written here (assistant `tool_calls` with `tool` turns, strict user/assistant
alternation, legacy function calls). Each case holds the OpenAI form
(`openai.messages`, `openai.functions`) and the form templates get (`messages`,
`tools`), converted as `wrapper_template::messages::{template_messages,
template_tools}` convert them; the Rust tests check that the two conversions agree.

Run from anywhere: `python3 build_conversations.py` (standard library only).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
FIXTURES = ROOT / "tests/fixtures/reference-prompts.json"

# The instant `strftime_now` reads in every check (a single-digit day, an afternoon hour).
NOW = "2024-09-05T14:07:03"

FIXTURE_CASES = ["first_turn", "multi_turn", "inner_only", "unicode", "plain_user"]

WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Zürich."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}
CLOCK = {"name": "get_time", "description": "The time now, in a time zone."}

WRITTEN = {
    # Assistant tool calls (two, one with a 9-character id as Mistral wants), tool
    # turns answering them, non-ASCII arguments and results.
    "tool_turns": {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer in English."},
            {"role": "user", "content": "Wie ist das Wetter in Zürich und in 東京?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call9abcd", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\", \"unit\": \"celsius\"}"}},
                    {"id": "call9efgh", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"東京\"}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call9abcd", "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"sonnig ☀\"}"},
            {"role": "tool", "tool_call_id": "call9efgh", "content": "{\"temperature\": 28, \"sky\": \"cloudy\"}"},
            {"role": "assistant", "content": "Zürich: 21.5 °C, sunny. 東京: 28 °C, cloudy."},
            {"role": "user", "content": "Thanks! And <b>what time</b> is it there & here?"},
        ],
        "functions": [WEATHER, CLOCK],
    },
    # Strict user/assistant alternation (what the strictest templates accept), with
    # a content-parts user turn and non-ASCII text.
    "alternating": {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Bonjour ! Ça va ?"}, {"type": "text", "text": "Réponds en une ligne."}]},
            {"role": "assistant", "content": "Oui, ça va très bien — merci !"},
            {"role": "user", "content": "  Et toi, qu'en penses-tu ?  "},
        ],
        "functions": [WEATHER],
    },
    # A call answered by a tool turn with no name, one legacy function_call, and a
    # `function` turn. (Arguments that are not a JSON object are refused before a
    # template sees them: `template_messages` names the field.)
    "legacy_calls": {
        "messages": [
            {"role": "user", "content": "Call it with something odd."},
            {"role": "assistant", "content": "Trying.", "tool_calls": [{"id": "call_odd", "type": "function", "function": {"name": "get_time", "arguments": "{\"zone\": \"UTC\"}"}}]},
            {"role": "tool", "tool_call_id": "call_odd", "content": "12:07"},
            {"role": "assistant", "content": None, "function_call": {"name": "get_time", "arguments": "{\"zone\": \"Europe/Paris\", \"utc\": false, \"offset\": null}"}},
            {"role": "function", "name": "get_time", "content": "14:07"},
        ],
        "functions": [CLOCK, WEATHER],
    },
}


def text_of(content):
    # No content (an assistant turn with calls) is the empty string, as
    # `template_messages` gives it: templates trim or iterate it, which None breaks.
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part.get("type") == "text")


def arguments_of(text):
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def call_of(function, call_id):
    call = {} if not call_id else {"id": call_id}
    call["type"] = "function"
    call["function"] = {"name": function["name"], "arguments": arguments_of(function.get("arguments") or "")}
    return call


def template_message(message):
    """`template_messages` for one message."""
    role = {"function": "tool", "developer": "system"}.get(message["role"], message["role"])
    out = {"role": role, "content": text_of(message.get("content"))}
    if message.get("name") is not None:
        out["name"] = message["name"]
    if message.get("function_call"):
        out["tool_calls"] = [call_of(message["function_call"], None)]
    elif message.get("tool_calls"):
        out["tool_calls"] = [call_of(call["function"], call.get("id")) for call in message["tool_calls"]]
    if message.get("tool_call_id") is not None:
        out["tool_call_id"] = message["tool_call_id"]
    return out


def template_tool(function):
    """`template_tools` for one function."""
    inner = {"name": function["name"]}
    for key in ("description", "parameters"):
        if function.get(key) is not None:
            inner[key] = function[key]
    return {"type": "function", "function": inner}


def case(name, conversation, tools, add_generation_prompt):
    return {
        "name": name,
        "openai": {"messages": conversation["messages"], "functions": conversation["functions"]},
        "messages": [template_message(m) for m in conversation["messages"]],
        "tools": [template_tool(f) for f in conversation["functions"]] if tools else None,
        "add_generation_prompt": add_generation_prompt,
    }


def main():
    fixtures = json.loads(FIXTURES.read_text(encoding="utf-8"))
    conversations = {}
    for entry in fixtures["prompts"]:
        if entry["case"] in FIXTURE_CASES and entry["case"] not in conversations:
            conversations[entry["case"]] = {"messages": entry["messages"], "functions": entry["functions"]}
    missing = [name for name in FIXTURE_CASES if name not in conversations]
    if missing:
        raise SystemExit(f"{FIXTURES} has no case {', '.join(missing)}")
    conversations.update(WRITTEN)

    cases = []
    for name, conversation in conversations.items():
        cases.append(case(name, conversation, tools=False, add_generation_prompt=True))
        cases.append(case(f"{name}+tools", conversation, tools=True, add_generation_prompt=True))
    for name in ["first_turn", "alternating", "tool_turns"]:
        cases.append(case(f"{name}+nogen", conversations[name], tools=False, add_generation_prompt=False))
    cases.append(case("tool_turns+tools+nogen", conversations["tool_turns"], tools=True, add_generation_prompt=False))

    out = {
        "about": "Generated by build_conversations.py from tests/fixtures/reference-prompts.json and the conversations written there; do not edit by hand.",
        "now": NOW,
        "cases": cases,
    }
    (HERE / "conversations.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases -> {HERE / 'conversations.json'}")


if __name__ == "__main__":
    main()
