#!/usr/bin/python3
"""A webhook receiver for the test suite (t/lib/ScaiSend/Receiver.pm runs it).

Listens on 127.0.0.1:<port>, records every request as one JSON line in the
log file (method, path, headers in order, body as base64, the status it
answers, and the Standard Webhooks verdict of its own verifier), and
answers as the script file says.  The script is JSON, read again on every
request: a list of answers, the n-th request since the script last changed
gets the n-th, the last one repeats:

    [{"status": 500}, {"status": 200}]            500 then 200 for ever
    [{"status": 200, "delay": 3}]                 every answer after 3 s
    [{"drop": true}, {"status": 204}]             close without answering, then 204
    [{"status": 200, "body": "x" * 100000}]       a large answer body

Bounded: it exits after --lifetime seconds, and as soon as the process
--parent is gone.  The verifier shares nothing with the module's code: the
scheme as its specification describes it, with Python's hmac and base64.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300     # seconds either side of now, as the reference libraries


def verify(secret, headers, body, now):
    """'ok', or why the request does not verify (Standard Webhooks, v1)."""
    if not secret.startswith('whsec_'):
        return 'the secret is not whsec_...'
    b64 = secret[len('whsec_'):]
    try:
        key = base64.b64decode(b64 + '=' * (-len(b64) % 4), validate=True)
    except ValueError:
        return 'the secret is not base64'
    msg_id = headers.get('webhook-id')
    ts = headers.get('webhook-timestamp')
    sigs = headers.get('webhook-signature')
    if not msg_id or not ts or not sigs:
        return 'missing webhook-id, webhook-timestamp or webhook-signature'
    if not ts.isdigit():
        return 'webhook-timestamp is not whole seconds'
    if int(ts) < now - TOLERANCE:
        return 'webhook-timestamp too old'
    if int(ts) > now + TOLERANCE:
        return 'webhook-timestamp too new'
    signed = msg_id.encode() + b'.' + ts.encode() + b'.' + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for sig in sigs.split(' '):
        version, _, value = sig.partition(',')
        if version == 'v1' and hmac.compare_digest(value.encode(), want):
            return 'ok'
    return 'no matching v1 signature'


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.count = 0          # requests since the script last changed
        self.total = 0
        self.script_text = None
        self.secret = None
        if args.secret_file:
            with open(args.secret_file) as f:
                self.secret = f.read().strip()

    def next_answer(self):
        with self.lock:
            try:
                with open(self.args.script) as f:
                    text = f.read()
            except OSError:
                text = '[{"status": 200}]'
            if text != self.script_text:
                self.script_text, self.count = text, 0
            try:
                script = json.loads(text)
            except ValueError:
                script = [{'status': 599, 'body': 'bad script'}]
            answer = script[min(self.count, len(script) - 1)] if script else {}
            self.count += 1
            self.total += 1
            return self.total, answer

    def record(self, entry):
        with self.lock:
            with open(self.args.log, 'a') as f:
                f.write(json.dumps(entry) + '\n')
                f.flush()
                os.fsync(f.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'scaisend-test-receiver/1'

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = self.headers.get('Content-Length')
        if n is not None and n.isdigit():
            return self.rfile.read(int(n))
        return b''

    def handle_any(self):
        st = self.server.state
        t0 = time.time()
        body = self.read_body()
        n, answer = st.next_answer()
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {
            'n': n, 'time': t0, 'method': self.command, 'path': self.path,
            'headers': [[k, v] for k, v in self.headers.items()],
            'body_b64': base64.b64encode(body).decode(),
            'answer': answer.get('status', 0 if answer.get('drop') else 200),
        }
        if st.secret is not None:
            entry['verify'] = verify(st.secret, headers, body, int(t0))
        st.record(entry)
        if answer.get('delay'):
            time.sleep(float(answer['delay']))
        if answer.get('drop'):
            self.close_connection = True
            return
        out = answer.get('body', '').encode()
        self.send_response(int(answer.get('status', 200)))
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(out)))
        for k, v in answer.get('headers', {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(out)
        except OSError:
            pass    # the client gave up (a read limit, a timeout)

    do_POST = do_GET = do_PUT = do_DELETE = handle_any


def watchdog(args):
    end = time.time() + args.lifetime
    while time.time() < end:
        if args.parent:
            try:
                os.kill(args.parent, 0)
            except OSError:
                break
        time.sleep(0.25)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--script', required=True)
    ap.add_argument('--ready', required=True)
    ap.add_argument('--secret-file')
    ap.add_argument('--lifetime', type=float, default=600)
    ap.add_argument('--parent', type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    threading.Thread(target=watchdog, args=(args,), daemon=True).start()
    with open(args.ready, 'w') as f:
        f.write(str(os.getpid()) + '\n')
    server.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
