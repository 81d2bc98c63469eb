// The one way the CLI reads stdin: `secrets set --stdin`, `runpod rotate-keys --store-secret --stdin`
// and `db migrate --database-url-stdin` all come here, each with its own words for a terminal and a
// size limit.

export interface StdinOptions {
  /** Default: process.stdin. */
  stream?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Refuse a terminal (what is typed would be echoed): the error to throw. */
  onTerminal?: () => Error;
  /** Stop reading past this many bytes, with onTooLarge's error. */
  maxBytes?: number;
  onTooLarge?: (maxBytes: number) => Error;
}

/** All of stdin as UTF-8 text. */
export async function readStdinText(options: StdinOptions = {}): Promise<string> {
  const stream = options.stream ?? process.stdin;
  if (stream.isTTY && options.onTerminal) throw options.onTerminal();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (options.maxBytes !== undefined && size > options.maxBytes) throw options.onTooLarge?.(options.maxBytes) ?? new Error(`stdin is over ${options.maxBytes} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
