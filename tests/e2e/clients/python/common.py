"""What the third-party client tests share: where the proxy is, the tools they offer
and the structured answers they ask for (as Pydantic models, so a call's arguments and
a structured answer are checked against the same schema the request declared).

`cargo xtask e2e` (or `cargo xtask e2e-clients`) runs each test file with:

- CCP_PROXY_URL: the proxy's base URL (http://127.0.0.1:PORT/v1)
- CCP_PROXY_KEY: the API key the proxy was started with
- CCP_PROXY_MODEL: the public model name it serves

The model is SmolLM2-135M on two CPU cores, behind the `chatml-grammar` wrapper: the
tests keep prompts short and token limits low, use temperature 0 and a seed, and assert
on the contract (shape, finish reasons, calls to offered functions with arguments
valid for their schema), never on wording.
"""

import json
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

URL = os.environ["CCP_PROXY_URL"]
KEY = os.environ["CCP_PROXY_KEY"]
MODEL = os.environ["CCP_PROXY_MODEL"]
SEED = 42
# Enough for a grammar-constrained call (`{"function": …, "params": {…}}`) with a short
# inner monologue; small enough to keep a request to a few seconds on two cores.
CALL_TOKENS = 96
# A short plain answer.
TEXT_TOKENS = 16


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    model_config = ConfigDict(title="get_weather")
    city: str = Field(description="The city, e.g. Paris")
    unit: Literal["celsius", "fahrenheit"] = Field(description="The temperature unit")


class GetTime(BaseModel):
    """Get the current local time in a city."""

    model_config = ConfigDict(title="get_time")
    city: str = Field(description="The city, e.g. Paris")


# The offered functions by name, each with the model that validates its arguments.
# Each has short arguments only: a forced free-text argument (a `send_message(message)`)
# can ramble past the token limit on this model, and a call cut there ends with
# `finish_reason: "length"`.
FUNCTIONS = {"get_weather": GetWeather, "get_time": GetTime}
# What the named `tool_choice` tests name: not the function the weather question calls
# for.
NAMED = "get_time"


def function_schema(name):
    """The JSON Schema of the parameters of the offered function `name`."""
    schema = FUNCTIONS[name].model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    return schema


def tools():
    """The offered functions as Chat Completions `tools`."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": model.__doc__,
                "parameters": function_schema(name),
            },
        }
        for name, model in FUNCTIONS.items()
    ]


def check_call(test, name, arguments):
    """Asserts that a call names an offered function and that its arguments (a JSON
    text or an already-decoded object) validate against that function's schema;
    returns the validated arguments."""
    test.assertIn(name, FUNCTIONS, f"a call to {name!r}, which was not offered")
    if isinstance(arguments, str):
        arguments = json.loads(arguments)
    test.assertIsInstance(arguments, dict)
    return FUNCTIONS[name].model_validate(arguments)


WEATHER_QUESTION = "What is the weather in Paris?"

# The first turn of an agent that asked for the weather, as the client sends it back.
CALL_ID = "call_weather_1"
AGENT_CALL = {
    "id": CALL_ID,
    "type": "function",
    "function": {
        "name": "get_weather",
        "arguments": json.dumps({"city": "Paris", "unit": "celsius"}),
    },
}
TOOL_RESULT = json.dumps({"temperature": 18, "sky": "sunny"})


class City(BaseModel):
    """A structured answer for the `response_format` tests."""

    name: str
    country: str


def overflowing_text():
    """A user message far longer than the server's 4096-token context window."""
    return "memory " * 6000


def overflow_sentence(test, message):
    """Asserts OpenAI's context-overflow sentence (by which LiteLLM classifies it)."""
    test.assertRegex(
        message,
        r"This model's maximum context length is \d+ tokens\. "
        r"However, your messages resulted in \d+ tokens\.",
    )
