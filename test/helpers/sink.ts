// A writable stream that keeps what it is given, for tests that read a command's or a logger's output.
import { Writable } from 'node:stream';

export function textSink(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { out, text: () => text };
}
