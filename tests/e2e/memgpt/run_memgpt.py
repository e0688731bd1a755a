"""MemGPT itself (pymemgpt 0.3.25) stepping agents through `chat-completion-proxy serve`.

Run by `cargo xtask e2e-memgpt` (and `cargo xtask e2e`) with the proxy in front of the
real llama-server and model. MemGPT is configured as a new user would point it at an
OpenAI-compatible server: its `openai` endpoint type at the proxy's `/v1`, the proxy's
API key as the OpenAI key. For each model name — `gpt-4` (MemGPT reads the inner
thoughts from `content`) and `gpt-4o-mini` (MemGPT declares `inner_thoughts` as a
required argument of every function and reads it from there) — and plain and
streamed, a new agent answers USER_TURNS user messages, one `Agent.step` each.

Every reply the proxy returns is checked as it arrives, before MemGPT reads it: one
tool call, to a function MemGPT offered, with arguments that validate against that
function's JSON Schema as MemGPT sent it (with `gpt-4o-mini`, `inner_thoughts`
included). A step that raises, or a reply that fails a check, fails the run. MemGPT's
own first-message verifier may ask again; every request is counted and reported.

Environment: CCP_PROXY_URL (…/v1), CCP_PROXY_KEY, CCP_E2E_CONTEXT_SIZE (the
llama-server's context, given to the agents as their context window), CCP_MEMGPT_HOME
(an empty folder used as HOME, so no user configuration is read or written),
CCP_TIKTOKEN_CL100K_BASE (tiktoken's cl100k_base encoding file).
"""

import json
import os
import sys
import time

HOME = os.environ["CCP_MEMGPT_HOME"]
os.environ["HOME"] = HOME
os.environ.pop("MEMGPT_CONFIG_PATH", None)
os.environ["OPENAI_API_KEY"] = os.environ["CCP_PROXY_KEY"]

# MemGPT's streamed path counts the prompt with tiktoken's cl100k_base, which tiktoken
# downloads from OpenAI: give it the copy xtask found, in the cache tiktoken reads first.
import hashlib  # noqa: E402
import shutil  # noqa: E402

TIKTOKEN_CACHE = os.path.join(HOME, "tiktoken")
os.makedirs(TIKTOKEN_CACHE, exist_ok=True)
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
shutil.copyfile(
    os.environ["CCP_TIKTOKEN_CL100K_BASE"],
    os.path.join(TIKTOKEN_CACHE, hashlib.sha1(CL100K_URL.encode()).hexdigest()),
)
os.environ["TIKTOKEN_CACHE_DIR"] = TIKTOKEN_CACHE

import jsonschema  # noqa: E402

import memgpt.llm_api.llm_api_tools as llm_api_tools  # noqa: E402
from memgpt.agent import Agent  # noqa: E402
from memgpt.client.client import create_client  # noqa: E402
from memgpt.config import MemGPTConfig  # noqa: E402
from memgpt.credentials import MemGPTCredentials  # noqa: E402
from memgpt.data_types import EmbeddingConfig, LLMConfig  # noqa: E402
from memgpt.interface import CLIInterface  # noqa: E402
from memgpt.streaming_interface import StreamingRefreshCLIInterface  # noqa: E402
from memgpt.system import package_user_message  # noqa: E402

PROXY_URL = os.environ["CCP_PROXY_URL"]
CONTEXT_WINDOW = int(os.environ["CCP_E2E_CONTEXT_SIZE"])
MODELS = ["gpt-4", "gpt-4o-mini"]
USER_TURNS = [
    "Hi! My name is Ada. What is your name?",
    "Nice to meet you. Please remember that I like tea.",
]

# --- every exchange with the proxy, checked before MemGPT reads the reply ---------

EXCHANGES = []


class CheckFailed(Exception):
    """A reply from the proxy that is not a valid call."""


def field(value, key):
    """`value[key]` or `value.key`: MemGPT's request and response models are pydantic
    models, whose nested values may also be plain dicts."""
    return value[key] if isinstance(value, dict) else getattr(value, key)


def check_reply(request, response, streamed):
    """Checks one reply against the request that asked for it; records it."""
    offered = {
        field(field(tool, "function"), "name"): field(tool, "function")
        for tool in (request.tools or [])
    }
    message = response.choices[0].message
    calls = message.tool_calls or []
    record = {
        "model": request.model,
        "streamed": streamed,
        "finish_reason": response.choices[0].finish_reason,
        "call": None,
        "problem": None,
    }
    EXCHANGES.append(record)
    if len(calls) != 1:
        record["problem"] = f"{len(calls)} tool calls (content {message.content!r})"
        raise CheckFailed(record["problem"])
    function = field(calls[0], "function")
    name = field(function, "name")
    record["call"] = name
    if name not in offered:
        record["problem"] = f"a call to {name}, which was not offered ({sorted(offered)})"
        raise CheckFailed(record["problem"])
    try:
        arguments = json.loads(field(function, "arguments"))
    except json.JSONDecodeError as error:
        record["problem"] = f"arguments are not JSON: {error}"
        raise CheckFailed(record["problem"]) from error
    try:
        jsonschema.validate(arguments, field(offered[name], "parameters"))
    except jsonschema.ValidationError as error:
        record["problem"] = f"arguments {arguments} fail {name}'s schema: {error.message}"
        raise CheckFailed(record["problem"]) from error
    # gpt-4o-mini: MemGPT declared `inner_thoughts` (and reads the thoughts from it).
    declared = (field(offered[name], "parameters") or {}).get("properties", {})
    if request.model == "gpt-4o-mini":
        if "inner_thoughts" not in declared:
            record["problem"] = f"MemGPT did not declare inner_thoughts for {name}"
            raise CheckFailed(record["problem"])
        if not isinstance(arguments.get("inner_thoughts"), str):
            record["problem"] = f"no inner_thoughts string in {arguments}"
            raise CheckFailed(record["problem"])


def checked(original, streamed):
    def call(*args, **kwargs):
        request = kwargs["chat_completion_request"]
        response = original(*args, **kwargs)
        check_reply(request, response, streamed)
        return response

    return call


llm_api_tools.openai_chat_completions_request = checked(
    llm_api_tools.openai_chat_completions_request, False
)
llm_api_tools.openai_chat_completions_process_stream = checked(
    llm_api_tools.openai_chat_completions_process_stream, True
)

# --- MemGPT set up as a new user would: the openai endpoint type at the proxy ------


def configure():
    llm = LLMConfig(
        model="gpt-4",
        model_endpoint_type="openai",
        model_endpoint=PROXY_URL,
        context_window=CONTEXT_WINDOW,
    )
    # Nothing here embeds text (no archival inserts or searches); an endpoint that is
    # never called keeps MemGPT from loading a local embedding model from a hub.
    embedding = EmbeddingConfig(
        embedding_endpoint_type="openai",
        embedding_endpoint=PROXY_URL,
        embedding_model="text-embedding-ada-002",
        embedding_dim=1536,
        embedding_chunk_size=300,
    )
    config = MemGPTConfig(default_llm_config=llm, default_embedding_config=embedding)
    config.save()
    credentials = MemGPTCredentials(openai_key=os.environ["CCP_PROXY_KEY"])
    credentials.save()
    return llm, embedding


def run_agent(client, embedding, model, stream):
    llm = LLMConfig(
        model=model,
        model_endpoint_type="openai",
        model_endpoint=PROXY_URL,
        context_window=CONTEXT_WINDOW,
    )
    name = f"e2e-{model}-{'stream' if stream else 'plain'}"
    state = client.create_agent(name=name, llm_config=llm, embedding_config=embedding)
    tools = [client.server.ms.get_tool(tool, user_id=client.user_id) for tool in state.tools]
    # What `memgpt run --stream` uses (0.3.25's StreamingCLIInterface calls its
    # CLIInterface instance and fails before any request).
    interface = StreamingRefreshCLIInterface() if stream else CLIInterface()
    agent = Agent(interface=interface, agent_state=state, tools=tools)
    failures = 0
    for turn, text in enumerate(USER_TURNS, start=1):
        before = len(EXCHANGES)
        started = time.monotonic()
        problem = None
        try:
            agent.step(user_message=package_user_message(text), stream=stream)
        except Exception as error:  # a failed step is the finding, reported below
            problem = f"{type(error).__name__}: {error}"
        seconds = time.monotonic() - started
        asked = EXCHANGES[before:]
        calls = [exchange["call"] for exchange in asked]
        if problem is None and not asked:
            problem = "the step sent no request"
        status = "ok" if problem is None else "FAILED"
        print(
            f"memgpt: {name} turn {turn}: {status} in {seconds:.1f} s, "
            f"{len(asked)} request(s), calls {calls}"
            + ("" if problem is None else f": {problem}"),
            flush=True,
        )
        if problem is not None:
            failures += 1
    return failures


def main():
    started = time.monotonic()
    _, embedding = configure()
    client = create_client()
    failures = 0
    for model in MODELS:
        for stream in (False, True):
            failures += run_agent(client, embedding, model, stream)
    steps = len(MODELS) * 2 * len(USER_TURNS)
    print(
        f"memgpt: {steps - failures}/{steps} steps ok, {len(EXCHANGES)} requests, "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
