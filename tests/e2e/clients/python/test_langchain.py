"""LangChain's ChatOpenAI (langchain-openai, pinned in requirements-langchain.txt)
against `chat-completion-proxy serve` on a real llama.cpp server and model. The
environment is described in common.py."""

import json
import unittest

import openai
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

import common
from common import CALL_TOKENS, MODEL, SEED, TEXT_TOKENS


def chat(max_tokens=CALL_TOKENS, api_key=common.KEY):
    # langchain-openai 1.x sends `max_tokens` as `max_completion_tokens`.
    return ChatOpenAI(
        model=MODEL,
        base_url=common.URL,
        api_key=api_key,
        temperature=0,
        seed=SEED,
        max_tokens=max_tokens,
        max_retries=0,
        timeout=300,
    )


TOOLS = [common.GetWeather, common.GetTime]


class LangChainTest(unittest.TestCase):
    def assert_text(self, message):
        self.assertIsInstance(message, AIMessage)
        self.assertEqual(message.tool_calls, [])
        self.assertIsInstance(message.content, str)
        self.assertTrue(message.content.strip(), message)
        self.assertIn(message.response_metadata["finish_reason"], ("stop", "length"))

    def assert_tool_call(self, message, name=None):
        self.assertIsInstance(message, AIMessage)
        self.assertTrue(message.tool_calls, message)
        self.assertEqual(message.invalid_tool_calls, [])
        for call in message.tool_calls:
            common.check_call(self, call["name"], call["args"])
            self.assertTrue(call["id"].startswith("call_"), call)
            if name is not None:
                self.assertEqual(call["name"], name)
        self.assertEqual(message.response_metadata["finish_reason"], "tool_calls")
        return message.tool_calls[0]

    # --- plain chat --------------------------------------------------------------------

    def test_invoke_hi_without_a_system_message(self):
        message = chat(TEXT_TOKENS).invoke("hi")
        self.assert_text(message)
        usage = message.usage_metadata
        self.assertGreater(usage["input_tokens"], 0)
        self.assertLessEqual(usage["output_tokens"], TEXT_TOKENS)
        self.assertEqual(usage["total_tokens"], usage["input_tokens"] + usage["output_tokens"])
        self.assertEqual(message.response_metadata["model_name"], MODEL)

    def test_a_developer_message(self):
        message = chat(TEXT_TOKENS).invoke(
            [("developer", "You are a terse assistant."), ("human", "Say hello.")]
        )
        self.assert_text(message)

    def test_a_small_token_limit_ends_with_length(self):
        message = chat(3).invoke("Write a long story about a dragon.")
        self.assertEqual(message.response_metadata["finish_reason"], "length")
        self.assertTrue(message.content)
        self.assertLessEqual(message.usage_metadata["output_tokens"], 3)

    # --- bind_tools with every tool_choice, and structured output by function call ------

    def test_bind_tools_auto_answers_with_an_offered_call_or_text(self):
        message = chat().bind_tools(TOOLS, tool_choice="auto").invoke(common.WEATHER_QUESTION)
        if message.tool_calls:
            self.assert_tool_call(message)
        else:
            self.assert_text(message)

    def test_bind_tools_none_answers_with_text(self):
        message = chat(TEXT_TOKENS).bind_tools(TOOLS, tool_choice="none").invoke(
            common.WEATHER_QUESTION
        )
        self.assert_text(message)

    def test_bind_tools_required_answers_with_a_call(self):
        message = chat().bind_tools(TOOLS, tool_choice="required").invoke(
            common.WEATHER_QUESTION
        )
        self.assert_tool_call(message)

    def test_bind_tools_with_a_named_function_calls_it(self):
        message = chat().bind_tools(TOOLS, tool_choice=common.NAMED).invoke(
            common.WEATHER_QUESTION
        )
        self.assert_tool_call(message, name=common.NAMED)

    def test_with_structured_output_by_function_calling(self):
        weather = chat().with_structured_output(common.GetWeather, method="function_calling")
        self.assertIsInstance(weather.invoke(common.WEATHER_QUESTION), common.GetWeather)

    # --- streaming ------------------------------------------------------------------------

    def test_streamed_text_reassembles(self):
        chunks = list(chat(TEXT_TOKENS).stream("Say hello."))
        self.assertGreater(len(chunks), 1)
        message = chunks[0]
        for chunk in chunks[1:]:
            message += chunk
        self.assertIsInstance(message, AIMessageChunk)
        self.assertTrue(message.content.strip())
        self.assertEqual(message.tool_call_chunks, [])
        self.assertIn(message.response_metadata["finish_reason"], ("stop", "length"))

    def test_a_streamed_tool_call_reassembles(self):
        llm = chat().bind_tools(TOOLS, tool_choice="get_weather")
        message = None
        for chunk in llm.stream(common.WEATHER_QUESTION):
            message = chunk if message is None else message + chunk
        self.assertEqual(len(message.tool_calls), 1, message)
        call = message.tool_calls[0]
        self.assertEqual(call["name"], "get_weather")
        common.check_call(self, call["name"], call["args"])
        self.assertEqual(message.response_metadata["finish_reason"], "tool_calls")

    # --- a second agent turn ---------------------------------------------------------------

    def second_turn(self):
        call = {
            "name": common.AGENT_CALL["function"]["name"],
            "args": json.loads(common.AGENT_CALL["function"]["arguments"]),
            "id": common.CALL_ID,
            "type": "tool_call",
        }
        return [
            HumanMessage(common.WEATHER_QUESTION),
            AIMessage("", tool_calls=[call]),
            ToolMessage(common.TOOL_RESULT, tool_call_id=common.CALL_ID),
        ]

    def test_a_second_agent_turn_with_the_tool_result_gets_an_answer(self):
        # The tools are offered again, as an agent loop does: a call or a text answer.
        message = chat().bind_tools(TOOLS).invoke(self.second_turn())
        if message.tool_calls:
            self.assert_tool_call(message)
        else:
            self.assert_text(message)

    # --- errors ------------------------------------------------------------------------------

    def test_an_unsupported_field_is_a_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            chat().bind(logprobs=True).invoke("hi")
        self.assertIn("logprobs", raised.exception.message)

    def test_an_unknown_argument_is_a_bad_request(self):
        with self.assertRaises(openai.BadRequestError) as raised:
            chat().bind(extra_body={"frobnicate": 1}).invoke("hi")
        self.assertIn("frobnicate", raised.exception.message)

    def test_a_wrong_key_is_an_authentication_error(self):
        with self.assertRaises(openai.AuthenticationError):
            chat(api_key="wrong-key").invoke("hi")

    def test_a_context_overflow_is_a_bad_request_with_its_code(self):
        # As from OpenAI itself: langchain-openai 1.7 recognises an overflow (its
        # ContextOverflowError) by "context_length_exceeded" in the exception's text,
        # which the OpenAI SDK 3.x no longer puts there (it keeps only the message, and
        # OpenAI's message is the sentence checked below), so it raises its
        # OpenAIInvalidRequestError, a BadRequestError with the code.
        with self.assertRaises(openai.BadRequestError) as raised:
            chat().invoke(common.overflowing_text())
        self.assertEqual(raised.exception.code, "context_length_exceeded")
        common.overflow_sentence(self, raised.exception.message)


class LangChainResponseFormatTest(unittest.TestCase):
    """`with_structured_output` by `response_format` (json_schema, LangChain's default
    method, and json_mode)."""

    PROMPT = [("developer", "Answer in JSON."), ("human", "Name a city and its country.")]

    def test_with_structured_output_by_json_schema(self):
        city = chat().with_structured_output(
            common.City, method="json_schema", include_raw=True
        )
        answer = city.invoke(self.PROMPT)
        self.assertIsNone(answer["parsing_error"])
        self.assertIsInstance(answer["parsed"], common.City)
        self.assertEqual(
            common.City.model_validate_json(answer["raw"].content), answer["parsed"]
        )

    def test_with_structured_output_by_json_mode(self):
        city = chat().with_structured_output(method="json_mode")
        self.assertIsInstance(city.invoke(self.PROMPT), dict)


if __name__ == "__main__":
    unittest.main(verbosity=2)
