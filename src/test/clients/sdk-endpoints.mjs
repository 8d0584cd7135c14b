// The official openai SDK against the gateway on the newer endpoints: models.retrieve (the model the key may use, and
// one that does not exist), responses.create (not streamed and streamed), responses.retrieve and responses.delete of
// the response created (then retrieve again: 404). Prints one JSON line:
// {"ok": true, "retrieved": ..., "missingStatus": 404, "text": ..., "streamedText": ..., "events": [...],
//  "retrievedId": ..., "retrievedText": ..., "deleted": true, "afterDeleteStatus": 404, ...}
// or {"ok": false, "step": ..., "status": ..., "error": ...}.
// Usage: node sdk-endpoints.mjs <baseURL> <apiKey> <model>
import OpenAI from "openai";
import { report } from "./report.mjs";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const out = { ok: false };
let step = "models.retrieve";
try {
  const retrieved = await client.models.retrieve(model);
  out.retrieved = retrieved.id;
  step = "models.retrieve (missing)";
  try {
    await client.models.retrieve("no-such-model");
    out.missingStatus = 200;
  } catch (e) {
    out.missingStatus = e.status ?? null;
    out.missingCode = e.code ?? null;
  }
  step = "responses.create";
  const response = await client.responses.create({ model, input: "Say something", max_output_tokens: 5 });
  out.id = response.id;
  out.status = response.status;
  out.text = response.output_text;
  out.usage = response.usage;
  step = "responses.retrieve";
  const stored = await client.responses.retrieve(response.id);
  out.retrievedId = stored.id;
  out.retrievedText = stored.output_text;
  step = "responses.delete";
  await client.responses.delete(response.id);
  out.deleted = true;
  step = "responses.retrieve (deleted)";
  try {
    await client.responses.retrieve(response.id);
    out.afterDeleteStatus = 200;
  } catch (e) {
    out.afterDeleteStatus = e.status ?? null;
  }
  step = "responses.create (stream)";
  const stream = await client.responses.create({ model, input: "Say something", max_output_tokens: 5, stream: true });
  out.events = [];
  let deltas = "";
  for await (const event of stream) {
    out.events.push(event.type);
    if (event.type === "response.output_text.delta") deltas += event.delta;
    if (event.type === "response.completed") out.completedText = event.response.output_text
      ?? event.response.output?.[0]?.content?.[0]?.text;
  }
  out.streamedText = deltas;
  out.ok = true;
  report(out);
} catch (e) {
  report(out, e, step);
}
