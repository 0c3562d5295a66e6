// Bad input from the calling model. The host recognises the name "ToolInputError": through
// POST /tools/invoke it answers HTTP 400 with our message (a plain Error becomes an opaque
// 500 "tool execution failed"), and in an agent turn the model reads the message as usual.
export class ToolInputError extends Error {
  override readonly name = "ToolInputError";
  readonly status = 400;
}
