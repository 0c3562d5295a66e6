// Keeps secrets out of what we store and report. Children's outputs and host error texts are
// untrusted: a child that ran `env`, or a provider error echoing its request, could carry a key.
// Values of secret-looking environment variables and common key shapes are replaced before any
// text reaches the ledger, a progress line or a tool result.

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE|AUTH/i;
/** Shapes of provider keys and bearer tokens, whatever variable they came from. */
const KEY_SHAPES = [/\bsk-[A-Za-z0-9_-]{16,}/g, /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/g, /\b(?:xox[abpr]|gh[pousr])-?[A-Za-z0-9_-]{16,}/g];
const MIN_SECRET_CHARS = 8;

export type Redactor = (text: string) => string;

export function createRedactor(env: Record<string, string | undefined> = process.env): Redactor {
  const secrets = Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === "string" && value.length >= MIN_SECRET_CHARS)
    .map(([name, value]) => ({ name, value: value! }))
    .sort((a, b) => b.value.length - a.value.length); // longest first: a value may contain another
  return (text) => {
    let out = text;
    for (const { name, value } of secrets) if (out.includes(value)) out = out.split(value).join(`[redacted:${name}]`);
    for (const shape of KEY_SHAPES) out = out.replace(shape, "[redacted:key]");
    return out;
  };
}
