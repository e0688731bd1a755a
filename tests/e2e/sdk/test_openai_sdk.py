"""The official OpenAI Python SDK against `chat-completion-proxy serve`, which runs on a
real llama.cpp server and model. Run by `cargo xtask e2e` with:

- CCP_PROXY_URL: the proxy's base URL (http://127.0.0.1:PORT/v1)
- CCP_PROXY_KEY: the API key the proxy was started with
- CCP_PROXY_MODEL: the public model name it serves
- CCP_FIXTURES: the reference-prompts.json fixture file (for the MemGPT conversation)
"""

import json
import os
import unittest

import openai


def first_turn():
    with open(os.environ["CCP_FIXTURES"], encoding="utf-8") as handle:
        cases = json.load(handle)["prompts"]
    case = next(case for case in cases if case["case"] == "first_turn")
    return case["messages"], case["functions"]


class OpenAISdkTest(unittest.TestCase):
    def setUp(self):
        self.client = openai.OpenAI(
            base_url=os.environ["CCP_PROXY_URL"],
            api_key=os.environ["CCP_PROXY_KEY"],
            max_retries=0,
            timeout=600,
        )
        self.model = os.environ["CCP_PROXY_MODEL"]
        self.messages, self.functions = first_turn()
        self.names = {function["name"] for function in self.functions}

    def create(self, **kwargs):
        return self.client.chat.completions.create(
            model=self.model,
            messages=self.messages,
            temperature=0,
            seed=42,
            extra_body={"first_message": True},
            **kwargs,
        )

    def test_tools_come_back_as_sdk_parsed_tool_calls(self):
        tools = [{"type": "function", "function": f} for f in self.functions]
        completion = self.create(tools=tools)
        choice = completion.choices[0]
        self.assertEqual(choice.finish_reason, "tool_calls")
        call = choice.message.tool_calls[0]
        self.assertTrue(call.id.startswith("call_"))
        self.assertEqual(call.type, "function")
        self.assertIn(call.function.name, self.names)
        self.assertIsInstance(json.loads(call.function.arguments), dict)
        self.assertIsNone(choice.message.function_call)
        self.assertIsNone(choice.logprobs)
        self.assertIsNone(choice.message.refusal)
        self.assertTrue(completion.system_fingerprint.startswith("fp_ccp_"))
        self.assertGreater(completion.usage.prompt_tokens, 0)
        self.assertEqual(
            completion.usage.total_tokens,
            completion.usage.prompt_tokens + completion.usage.completion_tokens,
        )

    def test_legacy_functions_get_function_call(self):
        completion = self.create(functions=self.functions)
        choice = completion.choices[0]
        self.assertEqual(choice.finish_reason, "function_call")
        self.assertIn(choice.message.function_call.name, self.names)
        self.assertIsInstance(json.loads(choice.message.function_call.arguments), dict)
        # As from OpenAI: one form of the call, or a client handling both runs it twice.
        self.assertIsNone(choice.message.tool_calls)

    def test_streaming_chunks_reassemble_into_the_tool_call(self):
        tools = [{"type": "function", "function": f} for f in self.functions]
        stream = self.create(tools=tools, stream=True, stream_options={"include_usage": True})
        name, arguments, finish, usage, roles, contents = "", "", None, None, [], []
        for chunk in stream:
            self.assertEqual(chunk.object, "chat.completion.chunk")
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.delta.role:
                    roles.append(choice.delta.role)
                if choice.delta.content:
                    contents.append(choice.delta.content)
                for call in choice.delta.tool_calls or []:
                    self.assertEqual(call.index, 0)
                    name += call.function.name or ""
                    arguments += call.function.arguments or ""
                finish = choice.finish_reason or finish
        self.assertEqual(roles, ["assistant"])
        # The inner thoughts stream token by token from llama.cpp.
        print(f"streamed content pieces: {contents!r}")
        self.assertGreater(len(contents), 1, contents)
        self.assertIn(name, self.names)
        self.assertIsInstance(json.loads(arguments), dict)
        self.assertEqual(finish, "tool_calls")
        self.assertIsNotNone(usage)
        self.assertGreater(usage.total_tokens, 0)

    def test_context_overflow_is_a_bad_request_with_its_code(self):
        long_text = "memory " * 6000
        messages = self.messages + [{"role": "user", "content": long_text}]
        with self.assertRaises(openai.BadRequestError) as raised:
            self.client.chat.completions.create(model=self.model, messages=messages)
        self.assertEqual(raised.exception.code, "context_length_exceeded")
        # OpenAI's sentence, by which LiteLLM raises ContextWindowExceededError.
        message = raised.exception.body["message"]
        self.assertTrue(
            message.startswith("This model's maximum context length is "), message
        )
        self.assertIn("Please reduce the length of the messages.", message)
        self.assertIn("(request id req_", message)

    def test_a_bad_key_is_an_authentication_error(self):
        client = openai.OpenAI(
            base_url=os.environ["CCP_PROXY_URL"], api_key="wrong-key", max_retries=0
        )
        with self.assertRaises(openai.AuthenticationError):
            client.chat.completions.create(model=self.model, messages=self.messages)

    def test_an_unknown_model_name_is_served_by_the_only_model_and_echoed(self):
        tools = [{"type": "function", "function": f} for f in self.functions]
        reply = self.client.chat.completions.create(
            model="gpt-4o",
            messages=self.messages,
            tools=tools,
            temperature=0,
            seed=42,
            extra_body={"first_message": True},
        )
        self.assertEqual(reply.model, "gpt-4o")
        self.assertIn(reply.choices[0].message.tool_calls[0].function.name, self.names)

    def test_an_unknown_model_is_not_found_when_retrieved(self):
        with self.assertRaises(openai.NotFoundError) as raised:
            self.client.models.retrieve("no-such-model")
        self.assertIn(self.model, str(raised.exception))

    def test_models_lists_and_retrieves_the_served_model(self):
        ids = [model.id for model in self.client.models.list()]
        self.assertIn(self.model, ids)
        self.assertEqual(self.client.models.retrieve(self.model).id, self.model)


if __name__ == "__main__":
    unittest.main(verbosity=2)
