#!/usr/bin/python3
"""A small SMTP sink for the test suite (Python standard library, asyncio).

Accepts every message on 127.0.0.1 and stores each one as DIR/NNNNNN.eml
(written to a temporary name, then renamed, so readers never see half a
message), with the envelope in a header line 'X-Sink-Rcpt:' prepended.
Speaks enough of RFC 5321 for libcurl: EHLO/HELO, MAIL, RCPT, DATA (with
dot-unstuffing), RSET, NOOP, QUIT. No TLS, no AUTH.

    /usr/bin/python3 tests/support/smtp_sink.py --port PORT --dir DIR [--fail-first N]

Prints 'ready <port>' on stdout once listening. --fail-first N answers the
first N DATA commands with 451 (to test the sender's retries).
"""

import argparse
import asyncio
import itertools
import os
import sys

MAX_MESSAGE = 1 << 20


class Sink:
    def __init__(self, directory, fail_first):
        self.dir = directory
        self.fail_left = fail_first
        self.counter = itertools.count(1)

    def store(self, rcpts, data):
        n = next(self.counter)
        tmp = os.path.join(self.dir, ".%06d.tmp" % n)
        path = os.path.join(self.dir, "%06d.eml" % n)
        with open(tmp, "wb") as f:
            f.write(b"X-Sink-Rcpt: " + b",".join(rcpts) + b"\r\n")
            f.write(data)
        os.rename(tmp, path)

    async def session(self, reader, writer):
        async def reply(line):
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        rcpts, mail_from = [], None
        await reply("220 safehouse-test-sink ESMTP")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line.decode("utf-8", "replace").strip()
                verb = cmd[:4].upper()
                if verb == "EHLO":
                    await reply("250-safehouse-test-sink")
                    await reply("250-8BITMIME")
                    await reply("250 SIZE %d" % MAX_MESSAGE)
                elif verb == "HELO":
                    await reply("250 safehouse-test-sink")
                elif verb == "MAIL":
                    mail_from, rcpts = cmd[10:].strip(), []
                    await reply("250 OK")
                elif verb == "RCPT":
                    addr = cmd[8:].strip().split(" ")[0].strip("<>")
                    rcpts.append(addr.encode())
                    await reply("250 OK")
                elif verb == "DATA":
                    if mail_from is None or not rcpts:
                        await reply("503 need MAIL and RCPT")
                        continue
                    await reply("354 end with <CRLF>.<CRLF>")
                    chunks = []
                    while True:
                        l2 = await reader.readline()
                        if not l2 or l2 in (b".\r\n", b".\n"):
                            break
                        if l2.startswith(b".."):
                            l2 = l2[1:]
                        chunks.append(l2)
                    if self.fail_left > 0:
                        self.fail_left -= 1
                        await reply("451 try again later")
                    else:
                        self.store(rcpts, b"".join(chunks))
                        await reply("250 OK queued")
                    mail_from, rcpts = None, []
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    await reply("250 OK")
                elif verb == "NOOP":
                    await reply("250 OK")
                elif verb == "QUIT":
                    await reply("221 bye")
                    break
                else:
                    await reply("502 not implemented")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    sink = Sink(a.dir, a.fail_first)
    server = await asyncio.start_server(sink.session, "127.0.0.1", a.port)
    print("ready %d" % a.port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
