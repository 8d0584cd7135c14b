// The official @anthropic-ai/sdk against the gateway's Anthropic Messages API: messages.create (not streamed and
// streamed), the messages.stream helper, messages.countTokens, and a call with a bad key, which must surface as the
// SDK's AuthenticationError (the gateway answers its errors on /v1/messages in Anthropic's shape). Prints one JSON line:
// {"ok": true, "text": ..., "streamedText": ..., "events": [...], "badKey": "AuthenticationError", ...}
// or {"ok": false, "step": ..., "status": ..., "error": ...}.
// Usage: node sdk-messages.mjs <baseURL (the gateway, without /v1)> <apiKey> <model>
import Anthropic, { AuthenticationError } from "@anthropic-ai/sdk";
import { report } from "./report.mjs";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const messages = [{ role: "user", content: "Say something" }];
const textOf = (message) => message.content.filter((b) => b.type === "text").map((b) => b.text).join("");
const out = { ok: false };
let step = "messages.create";
try {
  const message = await client.messages.create({ model, max_tokens: 5, system: "Be brief.", messages });
  out.type = message.type;
  out.role = message.role;
  out.text = textOf(message);
  out.stopReason = message.stop_reason;
  out.usage = message.usage;
  step = "messages.create (stream)";
  const stream = await client.messages.create({ model, max_tokens: 5, stream: true, system: "Be brief.", messages });
  out.events = [];
  let deltas = "";
  for await (const event of stream) {
    out.events.push(event.type);
    if (event.type === "content_block_delta" && event.delta.type === "text_delta") deltas += event.delta.text;
    if (event.type === "message_delta") out.streamedUsage = event.usage;
  }
  out.streamedText = deltas;
  step = "messages.stream";
  out.finalText = textOf(await client.messages.stream({ model, max_tokens: 3, messages }).finalMessage());
  step = "messages.countTokens";
  out.counted = (await client.messages.countTokens({ model, system: "Be brief.", messages })).input_tokens;
  step = "messages.create (bad key)";
  try {
    await new Anthropic({ baseURL, apiKey: "sk-not-a-key", maxRetries: 0 }).messages.create({ model, max_tokens: 5, messages });
    out.badKey = "accepted";
  } catch (e) {
    out.badKey = e instanceof AuthenticationError ? "AuthenticationError" : String(e?.constructor?.name);
    out.badKeyStatus = e.status ?? null;
    out.badKeyType = e.error?.error?.type ?? null;
  }
  out.ok = true;
  report(out);
} catch (e) {
  report(out, e, step);
}
