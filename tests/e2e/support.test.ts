// The harness's own parts without a gateway (seconds): the fake model's wire format and script language,
// and the net guard preload.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseDirectives, withBatchId } from "./support/fake-model-script.mjs";
import { startFakeModel, type FakeModel } from "./support/fake-model.mjs";
import { isLoopback, readNetGuardLog } from "./support/net-guard.mjs";

let fake: FakeModel;
beforeAll(async () => { fake = await startFakeModel(); });
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const user = (content: string) => ({ role: "user", content });
const post = (body: object, signal?: AbortSignal) =>
  fetch(`${fake.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ stream: true, ...body }), signal });

/** Parses an SSE body into its JSON chunks (and checks it ends with [DONE]). */
async function sse(res: Response) {
  const lines = (await res.text()).split("\n\n").filter(Boolean).map((l) => l.replace(/^data: /, ""));
  expect(lines.at(-1)).toBe("[DONE]");
  const chunks = lines.slice(0, -1).map((l) => JSON.parse(l));
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  const args = chunks.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? "").join("");
  const name = chunks.find((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.name)?.choices[0].delta.tool_calls[0].function.name;
  return { chunks, text, name, args, finish: chunks.at(-2).choices[0].finish_reason, usage: chunks.at(-1).usage };
}

describe("fake model", () => {
  it("streams text with role delta, finish_reason and usage", async () => {
    const r = await sse(await post({ model: "mid", messages: [user("hello [[reply:HI THERE]]")] }));
    expect(r.chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(r).toMatchObject({ text: "HI THERE", finish: "stop" });
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
    expect(r.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("fires the k-th tool directive after k-1 tool turns, skipping the internal-context message", async () => {
    const text = 'go [[tool:parallel_spawn {"tasks":[{"task":"x [[reply:CHILD]]"}]}]] [[tool:poll_until_complete {"batchId":"b1"}]] [[reply:END]]';
    const ctx = user("<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> stuff");
    const call = (id: string, name: string) => ({ role: "assistant", content: "", tool_calls: [{ id, type: "function", function: { name, arguments: "{}" } }] });
    const first = await sse(await post({ model: "parent", messages: [user(text), ctx] }));
    expect(first).toMatchObject({ name: "parallel_spawn", finish: "tool_calls" });
    expect(JSON.parse(first.args)).toEqual({ tasks: [{ task: "x [[reply:CHILD]]" }] });
    const turn2 = [user(text), call("c1", "parallel_spawn"), { role: "tool", tool_call_id: "c1", content: "ok" }, ctx];
    expect((await sse(await post({ model: "parent", messages: turn2 }))).name).toBe("poll_until_complete");
    const turn3 = [...turn2, call("c2", "poll_until_complete"), { role: "tool", tool_call_id: "c2", content: "done" }];
    expect((await sse(await post({ model: "parent", messages: turn3 }))).text).toBe("END");
    expect(fake.requests().map((q) => q.reply.kind)).toEqual(["tool", "tool", "text"]);
    expect(fake.requests()[2].lastTool).toEqual({ name: "poll_until_complete", text: "done" });
  });

  it("a concurrency limit answers 429 above N open requests on one model, and counts peak and 429s", async () => {
    fake.limit("cheap", 2);
    const slow = (m: string) => post({ model: m, messages: [user("x [[delay:300]] [[reply:OK]]")] });
    const answers = await Promise.all([slow("cheap"), slow("cheap"), slow("cheap"), slow("cheap"), slow("mid"), slow("mid")]);
    expect(answers.map((r) => r.status).slice(0, 4).sort()).toEqual([200, 200, 429, 429]);
    expect(answers.slice(4).map((r) => r.status)).toEqual([200, 200]); // mid is not limited
    const refused = answers.find((r) => r.status === 429)!;
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    await Promise.all(answers.filter((r) => r !== refused).map((r) => r.text()));
    expect((await post({ model: "cheap", messages: [user("z [[reply:OK]]")] })).status).toBe(200); // the two ended
    expect(fake.limitStats()).toEqual([{ model: "cheap", maxOpen: 2, peakOpen: 2, rejected: 2, served: 3 }]);
    expect(fake.requests((q) => q.reply.why === "limit").map((q) => q.reply.status)).toEqual([429, 429]);
  });

  it("parses model-scoped directives and leaves nested ones inside tool JSON alone", () => {
    const ds = parseDirectives('[[error@cheap:400]] [[tool:t {"a":"[[hang]] \\"}"}]] [[invalid-json@fake/mid]] [[empty]]');
    expect(ds.map((d) => [d.name, d.model ?? null])).toEqual([["error", "cheap"], ["tool", null], ["invalid-json", "fake/mid"], ["empty", null]]);
    expect(ds[1].tool).toEqual({ name: "t", args: { a: '[[hang]] "}' } });
  });

  it("answers per model: scripted rules with times, then directives", async () => {
    fake.script({ model: "fake/cheap", match: "topic", invalidJson: true, times: 1 });
    fake.script("strong", { reply: "STRONG" });
    const msg = [user("topic [[error@mid:400]] [[reply:OK]]")];
    expect((await sse(await post({ model: "cheap", messages: msg }))).text).toBe('{"result": "truncated, not json');
    expect((await sse(await post({ model: "cheap", messages: msg }))).text).toBe("OK");
    expect((await post({ model: "mid", messages: msg })).status).toBe(400);
    expect((await sse(await post({ model: "strong", messages: msg }))).text).toBe("STRONG");
    expect((await sse(await post({ model: "cheap", messages: [user("[[empty]]")] }))).text).toBe("");
    const rules = await fetch(`${fake.origin}/__script`, { method: "POST", body: JSON.stringify([{ model: "mid", reply: "VIA-HTTP", times: 1 }]) });
    expect(rules.status).toBe(200);
    expect((await sse(await post({ model: "mid", messages: msg }))).text).toBe("VIA-HTTP");
    const log = await (await fetch(`${fake.origin}/__requests`)).json();
    expect(log.map((q: any) => q.reply.kind)).toEqual(["text", "text", "error", "text", "empty", "text"]);
  });

  it("logs an aborted delay or hang as aborted", async () => {
    for (const directive of ["[[delay:5000]]", "[[hang]]"]) {
      const ctl = new AbortController();
      const pending = post({ model: "cheap", messages: [user(directive)] }, ctl.signal).catch((e) => e);
      await fake.waitFor((log) => log.some((q) => q.lastUser === directive));
      ctl.abort();
      const [entry] = await fake.waitFor((log) => log.some((q) => q.lastUser === directive && q.aborted));
      expect(entry.endedAt).not.toBeNull();
      await pending;
    }
    expect(fake.requests().map((q) => q.reply.kind)).toEqual(["text:aborted", "hang:aborted"]);
  });
});

describe("net guard", () => {
  const guard = fileURLToPath(new URL("./support/net-guard.mjs", import.meta.url));

  it("classifies loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopback(h), h).toBe(true);
    for (const h of ["10.0.0.1", "0.0.0.0", "example.com", "8.8.8.8", "::ffff:8.8.8.8"]) expect(isLoopback(h), h).toBe(false);
  });

  it("refuses and logs DNS, TCP and UDP to elsewhere, and lets loopback through", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pa-netguard-"));
    const log = join(dir, "net-guard.log");
    const script = `
      const dns = await import("node:dns");
      const out = [];
      await dns.promises.lookup("example.com").catch((e) => out.push(e.code));
      await fetch("http://93.184.215.14/").catch((e) => out.push(e.cause?.code));
      (await import("node:dgram")).createSocket("udp4").send("x", 53, "8.8.8.8", (e) => { out.push(e?.code); });
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch("${fake.origin}/__health");
      out.push(res.status);
      console.log(JSON.stringify(out));
      process.exit(0);`;
    // Async: the fake model answering the loopback probe lives in this process.
    const r = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, NODE_OPTIONS: `--import ${guard}`, NET_GUARD_LOG: log }, encoding: "utf8", timeout: 20_000,
    });
    expect(JSON.parse(r.stdout)).toEqual(["ENOTFOUND", "ECONNREFUSED", "ECONNREFUSED", 200]);
    expect(readNetGuardLog(log).map((e) => `${e.kind} ${e.target}`)).toEqual(["dns example.com", "tcp 93.184.215.14:80", "udp 8.8.8.8"]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("fake model: $batchId in tool directives", () => {
  it("becomes the newest batch id seen in this turn's tool results", () => {
    const tool = { name: "poll_until_complete", args: { batchId: "$batchId", timeoutSeconds: 5 } };
    const texts = ["Batch pa-abc123-0123abcd: not complete yet", "Batch pa-def456-89abcdef: complete"];
    expect(withBatchId(tool, texts).args).toEqual({ batchId: "pa-def456-89abcdef", timeoutSeconds: 5 });
    expect(withBatchId(tool, []).args.batchId).toBe("no-batch-id-seen");
    const plain = { name: "x", args: { a: 1 } };
    expect(withBatchId(plain, texts)).toBe(plain);
  });
});
