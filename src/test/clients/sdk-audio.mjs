// The official openai SDK against the gateway's audio endpoints: audio.transcriptions.create (json, verbose_json and
// streamed) and audio.translations.create, each with a file made from a generated Buffer (toFile). The SDK puts the
// file before the model in the form. Prints one JSON line:
// {"ok": true, "text": ..., "seconds": ..., "verboseText": ..., "streamed": ..., "translation": ...}
// or {"ok": false, "step": ..., "status": ..., "error": ...}.
// Usage: node sdk-audio.mjs <baseURL> <apiKey> <model> <fileBytes>
import OpenAI, { toFile } from "openai";
import { report } from "./report.mjs";

const [baseURL, apiKey, model, size] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const audio = Buffer.alloc(Number(size));
for (let i = 0; i < audio.length; i++) audio[i] = (i * 131) & 0xff;
const out = { ok: false };
let step = "audio.transcriptions.create";
try {
  const transcription = await client.audio.transcriptions.create({ file: await toFile(audio, "speech.wav"), model });
  out.text = transcription.text;
  out.seconds = transcription.usage?.seconds ?? null;
  step = "audio.transcriptions.create (verbose_json)";
  const verbose = await client.audio.transcriptions.create({
    file: await toFile(audio, "speech.wav"), model, response_format: "verbose_json", language: "en",
  });
  out.verboseText = verbose.text;
  out.segments = verbose.segments?.length ?? null;
  step = "audio.transcriptions.create (stream)";
  const stream = await client.audio.transcriptions.create({ file: await toFile(audio, "speech.wav"), model, stream: true });
  let streamed = "";
  for await (const event of stream) streamed += event.choices?.[0]?.delta?.content ?? event.delta ?? "";
  out.streamed = streamed;
  step = "audio.translations.create";
  const translation = await client.audio.translations.create({ file: await toFile(audio, "speech.wav"), model });
  out.translation = translation.text;
  out.ok = true;
  report(out);
} catch (e) {
  report(out, e, step);
}
