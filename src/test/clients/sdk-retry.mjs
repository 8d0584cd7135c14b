// The official openai SDK against the gateway: one chat completion with the SDK's built-in retries. Prints one JSON
// line: {"ok": true, "content": ..., "ms": ...} or {"ok": false, "status": ..., "error": ...}.
// Usage: node sdk-retry.mjs <baseURL> <apiKey> <model> [maxRetries]
import OpenAI from "openai";

const [baseURL, apiKey, model, retries] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: Number(retries ?? 3), timeout: 20_000 });
const started = Date.now();
try {
  const completion = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "hello" }],
    max_tokens: 4,
  });
  console.log(JSON.stringify({ ok: true, content: completion.choices[0].message.content, ms: Date.now() - started }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, status: e.status ?? null, error: String(e.message ?? e), ms: Date.now() - started }));
}
