"""The newest official OpenAI Python SDK (3.x, pinned in requirements-openai-sdk.txt)
against `chat-completion-proxy serve` on a real llama.cpp server and model. The
environment is described in common.py."""

import json
import unittest

import openai
from openai.lib.streaming.chat import FunctionToolCallArgumentsDoneEvent

import common
from common import CALL_TOKENS, MODEL, SEED, TEXT_TOKENS


class OpenAISdk3Test(unittest.TestCase):
    def setUp(self):
        self.client = openai.OpenAI(
            base_url=common.URL, api_key=common.KEY, max_retries=0, timeout=300
        )

    def create(self, messages, **kwargs):
        kwargs.setdefault("max_completion_tokens", CALL_TOKENS)
        return self.client.chat.completions.create(
            model=MODEL, messages=messages, temperature=0, seed=SEED, **kwargs
        )

    def ask_weather(self, **kwargs):
        return self.create(
            [{"role": "user", "content": common.WEATHER_QUESTION}],
            tools=common.tools(),
            **kwargs,
        )

    def assert_text(self, completion):
        choice = completion.choices[0]
        self.assertIn(choice.finish_reason, ("stop", "length"))
        self.assertIsNone(choice.message.tool_calls)
        self.assertIsNone(choice.message.function_call)
        self.assertIsInstance(choice.message.content, str)
        self.assertTrue(choice.message.content.strip(), completion)
        return choice.message.content

    def assert_tool_call(self, completion, name=None):
        choice = completion.choices[0]
        self.assertEqual(choice.finish_reason, "tool_calls", completion)
        self.assertTrue(choice.message.tool_calls, completion)
        for call in choice.message.tool_calls:
            self.assertEqual(call.type, "function")
            self.assertTrue(call.id.startswith("call_"), call.id)
            common.check_call(self, call.function.name, call.function.arguments)
            if name is not None:
                self.assertEqual(call.function.name, name)
        return choice.message.tool_calls[0]

    # --- plain chat --------------------------------------------------------------

    def test_plain_chat_without_tools_or_system_message(self):
        completion = self.create(
            [{"role": "user", "content": "Say hello."}], max_completion_tokens=TEXT_TOKENS
        )
        self.assert_text(completion)
        self.assertEqual(completion.object, "chat.completion")
        self.assertEqual(completion.model, MODEL)
        self.assertEqual(completion.choices[0].message.role, "assistant")
        self.assertIsNone(completion.choices[0].message.refusal)
        self.assertIsNone(completion.choices[0].logprobs)
        self.assertLessEqual(completion.usage.completion_tokens, TEXT_TOKENS)
        self.assertEqual(
            completion.usage.total_tokens,
            completion.usage.prompt_tokens + completion.usage.completion_tokens,
        )

    def test_a_developer_message_is_taken_as_the_system_message(self):
        completion = self.create(
            [
                {"role": "developer", "content": "You are a terse assistant."},
                {"role": "user", "content": "Say hello."},
            ],
            max_completion_tokens=TEXT_TOKENS,
        )
        self.assert_text(completion)

    def test_a_small_max_completion_tokens_ends_with_length(self):
        completion = self.create(
            [{"role": "user", "content": "Write a long story about a dragon."}],
            max_completion_tokens=3,
        )
        choice = completion.choices[0]
        self.assertEqual(choice.finish_reason, "length")
        self.assertTrue(choice.message.content, completion)
        self.assertLessEqual(completion.usage.completion_tokens, 3)

    # --- tool_choice, every form --------------------------------------------------

    def test_tool_choice_auto_answers_with_an_offered_call_or_text(self):
        completion = self.ask_weather(tool_choice="auto")
        if completion.choices[0].message.tool_calls:
            self.assert_tool_call(completion)
        else:
            self.assert_text(completion)

    def test_tool_choice_none_answers_with_text(self):
        completion = self.ask_weather(tool_choice="none", max_completion_tokens=TEXT_TOKENS)
        self.assert_text(completion)

    def test_tool_choice_required_answers_with_a_call(self):
        self.assert_tool_call(self.ask_weather(tool_choice="required"))

    def test_a_named_tool_choice_calls_that_function(self):
        completion = self.ask_weather(
            tool_choice={"type": "function", "function": {"name": common.NAMED}}
        )
        self.assert_tool_call(completion, name=common.NAMED)

    def test_a_named_tool_choice_that_was_not_offered_is_a_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            self.ask_weather(
                tool_choice={"type": "function", "function": {"name": "launch_rocket"}}
            )
        self.assertIn("launch_rocket", raised.exception.message)

    # --- streaming -----------------------------------------------------------------

    def test_streamed_text_reassembles_and_ends_with_usage(self):
        stream = self.create(
            [{"role": "user", "content": "Say hello."}],
            max_completion_tokens=TEXT_TOKENS,
            stream=True,
            stream_options={"include_usage": True},
        )
        roles, text, finish, usage = [], "", None, None
        for chunk in stream:
            self.assertEqual(chunk.object, "chat.completion.chunk")
            usage = chunk.usage or usage
            for choice in chunk.choices:
                if choice.delta.role:
                    roles.append(choice.delta.role)
                text += choice.delta.content or ""
                self.assertFalse(choice.delta.tool_calls)
                finish = choice.finish_reason or finish
        self.assertEqual(roles, ["assistant"])
        self.assertTrue(text.strip())
        self.assertIn(finish, ("stop", "length"))
        self.assertGreater(usage.completion_tokens, 0)

    def test_the_stream_helper_parses_a_streamed_tool_call(self):
        tool = openai.pydantic_function_tool(
            common.GetWeather, name="get_weather", description="Get the weather."
        )
        with self.client.chat.completions.stream(
            model=MODEL,
            messages=[{"role": "user", "content": common.WEATHER_QUESTION}],
            tools=[tool],
            tool_choice="required",
            max_completion_tokens=CALL_TOKENS,
            temperature=0,
            seed=SEED,
        ) as stream:
            done = [
                event
                for event in stream
                if isinstance(event, FunctionToolCallArgumentsDoneEvent)
            ]
            final = stream.get_final_completion()
        self.assertEqual(len(done), 1, done)
        self.assertEqual(done[0].name, "get_weather")
        # The helper validated the streamed arguments into the tool's Pydantic model.
        self.assertIsInstance(done[0].parsed_arguments, common.GetWeather)
        call = final.choices[0].message.tool_calls[0]
        self.assertEqual(call.function.parsed_arguments, done[0].parsed_arguments)
        self.assertEqual(final.choices[0].finish_reason, "tool_calls")

    # --- a second agent turn ---------------------------------------------------------

    def second_turn(self, **kwargs):
        return self.create(
            [
                {"role": "developer", "content": "You are a weather assistant."},
                {"role": "user", "content": common.WEATHER_QUESTION},
                {"role": "assistant", "content": None, "tool_calls": [common.AGENT_CALL]},
                {"role": "tool", "tool_call_id": common.CALL_ID, "content": common.TOOL_RESULT},
            ],
            tools=common.tools(),
            **kwargs,
        )

    def test_a_second_agent_turn_with_the_tool_result_gets_an_answer(self):
        completion = self.second_turn(tool_choice="none", max_completion_tokens=TEXT_TOKENS)
        self.assert_text(completion)

    # --- errors ---------------------------------------------------------------------

    def test_an_unsupported_field_is_a_bad_request_naming_it(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            self.create([{"role": "user", "content": "hi"}], logprobs=True)
        self.assertIn("logprobs", raised.exception.message)
        self.assertEqual(raised.exception.status_code, 400)

    def test_an_unknown_argument_is_a_bad_request_naming_it(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            self.create([{"role": "user", "content": "hi"}], extra_body={"frobnicate": 1})
        self.assertIn("frobnicate", raised.exception.message)

    def test_a_wrong_key_is_an_authentication_error(self):
        client = openai.OpenAI(base_url=common.URL, api_key="wrong-key", max_retries=0)
        with self.assertRaises(openai.AuthenticationError) as raised:
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}]
            )
        self.assertEqual(raised.exception.status_code, 401)

    def test_a_context_overflow_is_a_bad_request_with_its_code(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            self.create([{"role": "user", "content": common.overflowing_text()}])
        self.assertEqual(raised.exception.code, "context_length_exceeded")
        common.overflow_sentence(self, raised.exception.message)


class OpenAISdk3ResponseFormatTest(unittest.TestCase):
    """`response_format`: the content is JSON (`json_object`) or validates against the
    schema (`json_schema`, and the SDK's `parse()` with a Pydantic model)."""

    def setUp(self):
        self.client = openai.OpenAI(
            base_url=common.URL, api_key=common.KEY, max_retries=0, timeout=300
        )
        self.messages = [
            {"role": "developer", "content": "Answer in JSON."},
            {"role": "user", "content": "Name a city and its country."},
        ]

    def test_parse_with_a_pydantic_model_gives_a_parsed_instance(self):
        completion = self.client.chat.completions.parse(
            model=MODEL,
            messages=self.messages,
            response_format=common.City,
            max_completion_tokens=CALL_TOKENS,
            temperature=0,
            seed=SEED,
        )
        message = completion.choices[0].message
        self.assertIsInstance(message.parsed, common.City)
        self.assertEqual(common.City.model_validate_json(message.content), message.parsed)
        self.assertEqual(completion.choices[0].finish_reason, "stop")

    def test_a_json_schema_response_format_validates(self):
        completion = self.client.chat.completions.create(
            model=MODEL,
            messages=self.messages,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": common.City.model_json_schema()},
            },
            max_completion_tokens=CALL_TOKENS,
            temperature=0,
            seed=SEED,
        )
        common.City.model_validate_json(completion.choices[0].message.content)

    def test_json_object_mode_answers_one_json_object(self):
        completion = self.client.chat.completions.create(
            model=MODEL,
            messages=self.messages,
            response_format={"type": "json_object"},
            max_completion_tokens=CALL_TOKENS,
            temperature=0,
            seed=SEED,
        )
        self.assertIsInstance(json.loads(completion.choices[0].message.content), dict)


if __name__ == "__main__":
    unittest.main(verbosity=2)
