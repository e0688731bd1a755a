"""LiteLLM as a client (`litellm.completion` with `openai/<model>` and `api_base`,
pinned in requirements-litellm.txt) against `chat-completion-proxy serve` on a real
llama.cpp server and model. The environment is described in common.py; `cargo xtask`
also sets LITELLM_LOCAL_MODEL_COST_MAP so that LiteLLM reads the model price list it
ships instead of fetching it."""

import json
import unittest

import litellm

import common
from common import CALL_TOKENS, SEED, TEXT_TOKENS

MODEL = f"openai/{common.MODEL}"


def complete(messages, api_key=common.KEY, **kwargs):
    kwargs.setdefault("max_completion_tokens", CALL_TOKENS)
    return litellm.completion(
        model=MODEL,
        api_base=common.URL,
        api_key=api_key,
        messages=messages,
        temperature=0,
        seed=SEED,
        max_retries=0,
        timeout=300,
        **kwargs,
    )


def ask_weather(**kwargs):
    return complete(
        [{"role": "user", "content": common.WEATHER_QUESTION}], tools=common.tools(), **kwargs
    )


HELLO = [{"role": "user", "content": "Say hello."}]


class LiteLLMTest(unittest.TestCase):
    def assert_text(self, response):
        choice = response.choices[0]
        self.assertIn(choice.finish_reason, ("stop", "length"))
        self.assertFalse(choice.message.tool_calls)
        self.assertIsInstance(choice.message.content, str)
        self.assertTrue(choice.message.content.strip(), response)

    def assert_tool_call(self, response, name=None):
        choice = response.choices[0]
        self.assertEqual(choice.finish_reason, "tool_calls", response)
        self.assertTrue(choice.message.tool_calls, response)
        for call in choice.message.tool_calls:
            common.check_call(self, call.function.name, call.function.arguments)
            self.assertTrue(call.id.startswith("call_"), call.id)
            if name is not None:
                self.assertEqual(call.function.name, name)

    # --- plain chat -------------------------------------------------------------------

    def test_plain_chat_without_tools_or_system_message(self):
        response = complete(HELLO, max_completion_tokens=TEXT_TOKENS)
        self.assert_text(response)
        self.assertEqual(response.choices[0].message.role, "assistant")
        self.assertLessEqual(response.usage.completion_tokens, TEXT_TOKENS)
        self.assertEqual(
            response.usage.total_tokens,
            response.usage.prompt_tokens + response.usage.completion_tokens,
        )

    def test_a_developer_message(self):
        response = complete(
            [{"role": "developer", "content": "You are a terse assistant."}, *HELLO],
            max_completion_tokens=TEXT_TOKENS,
        )
        self.assert_text(response)

    def test_a_small_max_completion_tokens_ends_with_length(self):
        response = complete(
            [{"role": "user", "content": "Write a long story about a dragon."}],
            max_completion_tokens=3,
        )
        self.assertEqual(response.choices[0].finish_reason, "length")
        self.assertTrue(response.choices[0].message.content)
        self.assertLessEqual(response.usage.completion_tokens, 3)

    # --- tool_choice, every form ----------------------------------------------------------

    def test_tool_choice_auto_answers_with_an_offered_call_or_text(self):
        response = ask_weather(tool_choice="auto")
        if response.choices[0].message.tool_calls:
            self.assert_tool_call(response)
        else:
            self.assert_text(response)

    def test_tool_choice_none_answers_with_text(self):
        self.assert_text(ask_weather(tool_choice="none", max_completion_tokens=TEXT_TOKENS))

    def test_tool_choice_required_answers_with_a_call(self):
        self.assert_tool_call(ask_weather(tool_choice="required"))

    def test_a_named_tool_choice_calls_that_function(self):
        response = ask_weather(
            tool_choice={"type": "function", "function": {"name": common.NAMED}}
        )
        self.assert_tool_call(response, name=common.NAMED)

    # --- streaming ------------------------------------------------------------------------

    def test_streamed_text_rebuilds_into_a_response(self):
        chunks = list(
            complete(
                HELLO,
                max_completion_tokens=TEXT_TOKENS,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        self.assertGreater(len(chunks), 1)
        response = litellm.stream_chunk_builder(chunks, messages=HELLO)
        self.assert_text(response)
        self.assertGreater(response.usage.completion_tokens, 0)

    def test_a_streamed_tool_call_rebuilds_into_a_response(self):
        messages = [{"role": "user", "content": common.WEATHER_QUESTION}]
        chunks = list(
            complete(messages, tools=common.tools(), tool_choice="required", stream=True)
        )
        response = litellm.stream_chunk_builder(chunks, messages=messages)
        self.assert_tool_call(response)

    # --- a second agent turn -----------------------------------------------------------------

    def test_a_second_agent_turn_with_the_tool_result_gets_an_answer(self):
        response = complete(
            [
                {"role": "developer", "content": "You are a weather assistant."},
                {"role": "user", "content": common.WEATHER_QUESTION},
                {"role": "assistant", "content": None, "tool_calls": [common.AGENT_CALL]},
                {"role": "tool", "tool_call_id": common.CALL_ID, "content": common.TOOL_RESULT},
            ],
            tools=common.tools(),
            tool_choice="none",
            max_completion_tokens=TEXT_TOKENS,
        )
        self.assert_text(response)

    # --- errors ----------------------------------------------------------------------------------

    def test_an_unsupported_field_is_a_bad_request(self):
        with self.assertRaises(litellm.BadRequestError) as raised:
            complete(HELLO, logprobs=True)
        self.assertIn("logprobs", str(raised.exception))
        self.assertEqual(raised.exception.status_code, 400)

    def test_an_unknown_argument_is_a_bad_request(self):
        with self.assertRaises(litellm.BadRequestError) as raised:
            complete(HELLO, extra_body={"frobnicate": 1})
        self.assertIn("frobnicate", str(raised.exception))

    def test_a_wrong_key_is_an_authentication_error(self):
        with self.assertRaises(litellm.AuthenticationError) as raised:
            complete(HELLO, api_key="wrong-key")
        self.assertEqual(raised.exception.status_code, 401)

    def test_a_context_overflow_is_a_context_window_exceeded_error(self):
        with self.assertRaises(litellm.ContextWindowExceededError) as raised:
            complete([{"role": "user", "content": common.overflowing_text()}])
        self.assertEqual(raised.exception.status_code, 400)
        common.overflow_sentence(self, str(raised.exception))


class LiteLLMResponseFormatTest(unittest.TestCase):
    """`response_format` through LiteLLM: a Pydantic model (LiteLLM sends its JSON
    schema) and JSON mode."""

    MESSAGES = [
        {"role": "developer", "content": "Answer in JSON."},
        {"role": "user", "content": "Name a city and its country."},
    ]

    def test_a_pydantic_response_format_validates(self):
        response = complete(self.MESSAGES, response_format=common.City)
        common.City.model_validate_json(response.choices[0].message.content)

    def test_json_object_mode_answers_one_json_object(self):
        response = complete(self.MESSAGES, response_format={"type": "json_object"})
        self.assertIsInstance(json.loads(response.choices[0].message.content), dict)


if __name__ == "__main__":
    unittest.main(verbosity=2)
