// The official OpenAI Node SDK (pinned in package.json / package-lock.json) against
// `chat-completion-proxy serve` on a real llama.cpp server and model, with node's own
// test runner. `cargo xtask e2e` (or `cargo xtask e2e-clients`) installs the packages
// into a cached folder, points NODE_PATH at it and sets:
//
// - CCP_PROXY_URL: the proxy's base URL (http://127.0.0.1:PORT/v1)
// - CCP_PROXY_KEY: the API key the proxy was started with
// - CCP_PROXY_MODEL: the public model name it serves
//
// The model is SmolLM2-135M on two CPU cores behind the `chatml-grammar` wrapper: short
// prompts, low token limits, temperature 0 and a seed; the assertions are on the
// contract (shape, finish reasons, calls to offered functions with arguments valid for
// their schema), never on wording.

'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');

const OpenAI = require('openai');
const { zodFunction, zodResponseFormat } = require('openai/helpers/zod');
const { z } = require('zod');

const MODEL = process.env.CCP_PROXY_MODEL;
const SEED = 42;
const CALL_TOKENS = 96;
const TEXT_TOKENS = 24;

const client = new OpenAI({
  baseURL: process.env.CCP_PROXY_URL,
  apiKey: process.env.CCP_PROXY_KEY,
  maxRetries: 0,
  timeout: 300_000,
});

// The offered functions, each with the Zod schema that validates its arguments.
const GetWeather = z.object({
  city: z.string().describe('The city, e.g. Paris'),
  unit: z.enum(['celsius', 'fahrenheit']).describe('The temperature unit'),
});
const GetTime = z.object({ city: z.string().describe('The city, e.g. Paris') });
// Each has short arguments only: a forced free-text argument (a send_message(message))
// can ramble past the token limit on this model, and a call cut there ends with
// finish_reason "length".
const FUNCTIONS = { get_weather: GetWeather, get_time: GetTime };
const DESCRIPTIONS = {
  get_weather: 'Get the current weather in a city.',
  get_time: 'Get the current local time in a city.',
};
// What the named tool_choice test names: not the function the weather question calls for.
const NAMED = 'get_time';

function tools() {
  return Object.entries(FUNCTIONS).map(([name, schema]) => ({
    type: 'function',
    function: { name, description: DESCRIPTIONS[name], parameters: z.toJSONSchema(schema) },
  }));
}

const WEATHER = [{ role: 'user', content: 'What is the weather in Paris?' }];
const HELLO = [{ role: 'user', content: 'Say hello.' }];

function create(messages, extra = {}) {
  return client.chat.completions.create({
    model: MODEL,
    messages,
    temperature: 0,
    seed: SEED,
    max_completion_tokens: CALL_TOKENS,
    ...extra,
  });
}

function checkCall(name, args) {
  assert.ok(name in FUNCTIONS, `a call to ${name}, which was not offered`);
  return FUNCTIONS[name].parse(typeof args === 'string' ? JSON.parse(args) : args);
}

function assertText(completion) {
  const [choice] = completion.choices;
  assert.ok(['stop', 'length'].includes(choice.finish_reason), JSON.stringify(completion));
  assert.equal(choice.message.tool_calls ?? undefined, undefined);
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.trim().length > 0, JSON.stringify(completion));
  return choice.message.content;
}

function assertToolCall(completion, name) {
  const [choice] = completion.choices;
  assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(completion));
  assert.ok(choice.message.tool_calls?.length > 0, JSON.stringify(completion));
  for (const call of choice.message.tool_calls) {
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_/);
    checkCall(call.function.name, call.function.arguments);
    if (name !== undefined) assert.equal(call.function.name, name);
  }
  return choice.message.tool_calls[0];
}

async function rejectsWith(promise, ErrorClass) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ErrorClass, `${error} is not a ${ErrorClass.name}`);
    return error;
  }
  assert.fail(`no ${ErrorClass.name} was raised`);
}

// --- plain chat -------------------------------------------------------------------

test('plain chat without tools or a system message', async () => {
  const completion = await create(HELLO, { max_completion_tokens: TEXT_TOKENS });
  assertText(completion);
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, MODEL);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.refusal, null);
  assert.equal(completion.choices[0].logprobs, null);
  const { usage } = completion;
  assert.ok(usage.completion_tokens <= TEXT_TOKENS);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
});

test('a developer message is taken as the system message', async () => {
  const completion = await create(
    [{ role: 'developer', content: 'You are a terse assistant.' }, ...HELLO],
    { max_completion_tokens: TEXT_TOKENS },
  );
  assertText(completion);
});

test('a small max_completion_tokens ends with length', async () => {
  const completion = await create(
    [{ role: 'user', content: 'Write a long story about a dragon.' }],
    { max_completion_tokens: 3 },
  );
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.ok(completion.choices[0].message.content);
  assert.ok(completion.usage.completion_tokens <= 3);
});

// --- tool_choice, every form ---------------------------------------------------------

test('tool_choice auto answers with an offered call or text', async () => {
  const completion = await create(WEATHER, { tools: tools(), tool_choice: 'auto' });
  if (completion.choices[0].message.tool_calls?.length) assertToolCall(completion);
  else assertText(completion);
});

test('tool_choice none answers with text', async () => {
  const completion = await create(WEATHER, {
    tools: tools(),
    tool_choice: 'none',
    max_completion_tokens: TEXT_TOKENS,
  });
  assertText(completion);
});

test('tool_choice required answers with a call', async () => {
  assertToolCall(await create(WEATHER, { tools: tools(), tool_choice: 'required' }));
});

test('a named tool_choice calls that function', async () => {
  const completion = await create(WEATHER, {
    tools: tools(),
    tool_choice: { type: 'function', function: { name: NAMED } },
  });
  assertToolCall(completion, NAMED);
});

// --- streaming ------------------------------------------------------------------------

test('streamed text reassembles and ends with usage', async () => {
  const stream = await create(HELLO, {
    max_completion_tokens: TEXT_TOKENS,
    stream: true,
    stream_options: { include_usage: true },
  });
  const roles = [];
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    usage = chunk.usage ?? usage;
    for (const choice of chunk.choices) {
      if (choice.delta.role) roles.push(choice.delta.role);
      text += choice.delta.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
  }
  assert.deepEqual(roles, ['assistant']);
  assert.ok(text.trim().length > 0);
  assert.ok(['stop', 'length'].includes(finish));
  assert.ok(usage.completion_tokens > 0);
});

test('the stream helper gives the text and the final completion', async () => {
  const stream = client.chat.completions.stream({
    model: MODEL,
    messages: HELLO,
    max_completion_tokens: TEXT_TOKENS,
    temperature: 0,
    seed: SEED,
  });
  const deltas = [];
  stream.on('content.delta', ({ delta }) => deltas.push(delta));
  const final = await stream.finalChatCompletion();
  assert.ok(deltas.length > 0);
  assert.equal(deltas.join(''), final.choices[0].message.content);
  assert.ok(final.choices[0].message.content.trim().length > 0);
});

test('the stream helper parses a streamed tool call with zodFunction', async () => {
  const stream = client.chat.completions.stream({
    model: MODEL,
    messages: WEATHER,
    tools: [zodFunction({ name: 'get_weather', parameters: GetWeather })],
    tool_choice: 'required',
    max_completion_tokens: CALL_TOKENS,
    temperature: 0,
    seed: SEED,
  });
  const done = [];
  stream.on('tool_calls.function.arguments.done', (event) => done.push(event));
  const final = await stream.finalChatCompletion();
  assert.equal(done.length, 1);
  assert.equal(done[0].name, 'get_weather');
  // The helper validated the streamed arguments with the tool's Zod schema.
  GetWeather.parse(done[0].parsed_arguments);
  const [call] = final.choices[0].message.tool_calls;
  assert.deepEqual(call.function.parsed_arguments, done[0].parsed_arguments);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

// --- a second agent turn ------------------------------------------------------------------

const CALL = {
  id: 'call_weather_1',
  type: 'function',
  function: { name: 'get_weather', arguments: JSON.stringify({ city: 'Paris', unit: 'celsius' }) },
};

test('a second agent turn with the tool result gets an answer', async () => {
  const completion = await create(
    [
      { role: 'developer', content: 'You are a weather assistant.' },
      ...WEATHER,
      { role: 'assistant', content: null, tool_calls: [CALL] },
      { role: 'tool', tool_call_id: CALL.id, content: JSON.stringify({ temperature: 18 }) },
    ],
    { tools: tools(), tool_choice: 'none', max_completion_tokens: TEXT_TOKENS },
  );
  assertText(completion);
});

test('runTools runs the agent loop: a call, its result sent back, a second completion', async () => {
  const calls = [];
  const runner = client.chat.completions.runTools({
    model: MODEL,
    messages: WEATHER,
    tools: [
      zodFunction({
        name: 'get_weather',
        parameters: GetWeather,
        function: (args) => {
          calls.push(args);
          return { temperature: 18, sky: 'sunny' };
        },
      }),
    ],
    max_completion_tokens: CALL_TOKENS,
    temperature: 0,
    seed: SEED,
  }, { maxChatCompletions: 2 });
  await runner.done();
  const completions = runner.allChatCompletions();
  assert.equal(completions.length, 2);
  assert.ok(calls.length >= 1);
  for (const args of calls) GetWeather.parse(args);
  assert.ok(runner.messages.some((message) => message.role === 'tool'));
  const last = completions[1];
  if (last.choices[0].message.tool_calls?.length) assertToolCall(last, 'get_weather');
  else assertText(last);
});

// --- errors ---------------------------------------------------------------------------

test('an unsupported field is a BadRequestError naming it', async () => {
  const error = await rejectsWith(create(HELLO, { logprobs: true }), OpenAI.BadRequestError);
  assert.equal(error.status, 400);
  assert.match(error.message, /logprobs/);
});

test('an unknown argument is a BadRequestError naming it', async () => {
  const error = await rejectsWith(create(HELLO, { frobnicate: 1 }), OpenAI.BadRequestError);
  assert.match(error.message, /frobnicate/);
});

test('a wrong key is an AuthenticationError', async () => {
  const wrong = new OpenAI({ baseURL: process.env.CCP_PROXY_URL, apiKey: 'wrong-key', maxRetries: 0 });
  const error = await rejectsWith(
    wrong.chat.completions.create({ model: MODEL, messages: HELLO }),
    OpenAI.AuthenticationError,
  );
  assert.equal(error.status, 401);
});

test('a context overflow is a BadRequestError with its code', async () => {
  const error = await rejectsWith(
    create([{ role: 'user', content: 'memory '.repeat(6000) }]),
    OpenAI.BadRequestError,
  );
  assert.equal(error.code, 'context_length_exceeded');
  assert.match(
    error.message,
    /This model's maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens\./,
  );
});

// --- response_format ----------------------------------------------------------------------

const City = z.object({ name: z.string(), country: z.string() });
const JSON_MESSAGES = [
  { role: 'developer', content: 'Answer in JSON.' },
  { role: 'user', content: 'Name a city and its country.' },
];

test('response_format: parse() with zodResponseFormat gives a parsed object', async () => {
  const completion = await client.chat.completions.parse({
    model: MODEL,
    messages: JSON_MESSAGES,
    response_format: zodResponseFormat(City, 'city'),
    max_completion_tokens: CALL_TOKENS,
    temperature: 0,
    seed: SEED,
  });
  const { message } = completion.choices[0];
  assert.deepEqual(City.parse(message.parsed), message.parsed);
  assert.deepEqual(JSON.parse(message.content), message.parsed);
  assert.equal(completion.choices[0].finish_reason, 'stop');
});

test('response_format: a plain json_schema validates', async () => {
  const completion = await create(JSON_MESSAGES, {
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'city', schema: z.toJSONSchema(City) },
    },
  });
  City.parse(JSON.parse(completion.choices[0].message.content));
});

test('response_format: json_object answers one JSON object', async () => {
  const completion = await create(JSON_MESSAGES, { response_format: { type: 'json_object' } });
  const value = JSON.parse(completion.choices[0].message.content);
  assert.equal(typeof value, 'object');
  assert.ok(value !== null && !Array.isArray(value));
});
