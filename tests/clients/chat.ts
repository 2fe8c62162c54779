// The TypeScript snippet of docs/clients.md: the official `openai` package, fully typed.
// Pins need no extra body field (which the SDK's types refuse): a pinned model name
// ("llama3@mini") or the X-Jarvis-Node header. Run: JARVIS_GATEWAY_URL=... JARVIS_API_KEY=...
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";

const baseURL = process.env.JARVIS_GATEWAY_URL ?? "http://gateway:4000/v1";
const apiKey = process.env.JARVIS_API_KEY ?? "";
const client = new OpenAI({ baseURL, apiKey });

// Pinned by name: served by node "mini" or refused with a 400 naming the nodes that can.
const pinned = await client.chat.completions
  .create({ model: "llama3@mini", messages: [{ role: "user", content: "hi" }] })
  .withResponse();
console.log(JSON.stringify({
  pinned: pinned.data.choices[0]?.message.content,
  servedBy: pinned.response.headers.get("x-litellm-model-id"),
}));

// Pinned by header, for a whole client.
const gpu = new OpenAI({ baseURL, apiKey, defaultHeaders: { "X-Jarvis-Node": "gpu-2" } });
const byHeader = await gpu.chat.completions.create({
  model: "chat",
  messages: [{ role: "user", content: "hi" }],
});
console.log(JSON.stringify({ byHeader: byHeader.choices[0]?.message.content }));

// An agent's two steps: the model calls a tool, the tool's result goes back, the model answers.
const tools: ChatCompletionTool[] = [{
  type: "function",
  function: {
    name: "where_am_i",
    description: "Which node the model runs on.",
    parameters: { type: "object", properties: { node: { type: "string" } } },
  },
}];
const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "where do you run?" }];
const first = await client.chat.completions.create({ model: "qwen-coder", messages, tools });
const call = first.choices[0]?.message.tool_calls?.[0];
if (call === undefined || call.type !== "function") throw new Error("expected a tool call");
messages.push(first.choices[0]!.message);
messages.push({ role: "tool", tool_call_id: call.id, content: `arguments were ${call.function.arguments}` });
const second = await client.chat.completions.create({ model: "qwen-coder", messages, tools });
console.log(JSON.stringify({ agent: second.choices[0]?.message.content }));

// What a model picker sees.
const models = await client.models.list();
console.log(JSON.stringify({ models: models.data.map((model) => model.id) }));
