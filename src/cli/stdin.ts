// The one way the CLI reads stdin: `secrets set --stdin`, `runpod rotate-keys --store-secret --stdin`
// and `db migrate --database-url-stdin` all come here, each with its own words for a terminal and a
// size limit. node:stream/consumers does the reading and the UTF-8 decoding (a character split across
// two chunks stays whole); the size limit stops the read as soon as it is passed.
import { text } from 'node:stream/consumers';

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
  return text(options.maxBytes === undefined ? stream : capped(stream, options.maxBytes, options.onTooLarge));
}

/** The stream's chunks until more than `maxBytes` arrived: then the read stops with onTooLarge's error. */
async function* capped(stream: AsyncIterable<unknown>, maxBytes: number, onTooLarge?: (maxBytes: number) => Error): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) throw onTooLarge?.(maxBytes) ?? new Error(`stdin is over ${maxBytes} bytes.`);
    yield buffer;
  }
}
