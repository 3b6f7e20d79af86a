#!/usr/bin/env python3
"""The search page in a real browser: headless Chromium (Debian's `chromium`), driven over the DevTools protocol.

Types a query into the box and presses Enter, as a person would, then checks the DOM: the hits and their order
(against the JSON API), the highlighted words, the total, the per-year chart, paging to page 2, a document's page,
a query error shown with its caret, and the layout at a phone's width (no sideways scrolling). Saves screenshots.

Python's standard library only (a minimal WebSocket client below): nothing to install but Chromium.

    python3 Tests/Browser/search_page.py --quarry .build/debug/quarry --data Data/sample.jsonl --out .build/browser
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames, client masking, no extensions."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools connection")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("no WebSocket upgrade: " + head.decode(errors="replace"))

    def send(self, text):
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("the browser closed the DevTools connection")
            data += chunk
        return data

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("the browser closed the DevTools connection")
            if opcode in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, chromium, profile):
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1100,1400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.receive())
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for_load(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if e.get("method") == "Page.loadEventFired":
                    del self.events[: i + 1]
                    return
            self.events.append(json.loads(self.ws.receive()))
        raise RuntimeError("the page did not load in 30 s")

    def navigate(self, url):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def evaluate_until(self, expression, expected, seconds=5):
        """The expression's value once it equals `expected`, or its last value after `seconds` (autofocus, for
        one, is applied at the next rendering step, which may come after the load event on a busy machine)."""
        deadline = time.time() + seconds
        value = self.evaluate(expression)
        while value != expected and time.time() < deadline:
            time.sleep(0.05)
            value = self.evaluate(expression)
        return value

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)


failures = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        failures.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quarry", default=".build/debug/quarry")
    ap.add_argument("--data", default="Data/sample.jsonl")
    ap.add_argument("--out", default=".build/browser")
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="quarry-browser-")
    index = os.path.join(work, "index")
    subprocess.run([args.quarry, "index", "-i", index, args.data], check=True, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([args.quarry, "serve", "-i", index, "--port", "0", "--log-level", "warning"],
                              stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
    base = f"http://127.0.0.1:{port}"
    browser = Browser(args.chromium, os.path.join(work, "profile"))
    try:
        # The empty page: a search box with focus.
        browser.navigate(base + "/")
        check(browser.evaluate_until("document.activeElement && document.activeElement.name", "q") == "q",
              "the query box has the focus")
        # Type a query and press Enter.
        browser.evaluate("document.querySelector('input[name=q]').focus()")
        browser.call("Input.insertText", text="interest rates")
        browser.events.clear()
        for kind in ("keyDown", "keyUp"):
            browser.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                         windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")
        browser.wait_for_load()
        state = browser.evaluate("""(() => ({
            search: location.search,
            ids: [...document.querySelectorAll('li.hit .id')].map(e => e.textContent),
            marks: [...document.querySelectorAll('li.hit mark')].map(e => e.textContent.toLowerCase()),
            total: document.querySelector('#total') && document.querySelector('#total').textContent,
            range: document.querySelector('#range') && document.querySelector('#range').textContent,
            bars: document.querySelectorAll('.chart .bar').length,
            next: !!document.querySelector('a[rel=next]'),
            value: document.querySelector('input[name=q]').value,
        }))()""")
        check("q=interest+rates" in state["search"], f"Enter submitted the form ({state['search']})")
        api = json.load(urllib.request.urlopen(base + "/search?q=interest+rates&limit=10&fields=id"))
        check(state["ids"] == [h["id"] for h in api["hits"]], "the hits are the API's, in its order")
        check(len(state["ids"]) == 10, f"ten hits on the first page ({len(state['ids'])})")
        check(state["total"] == str(api["total"]), f"the total is the API's ({state['total']} vs {api['total']})")
        check(len(state["marks"]) > 0 and set(state["marks"]) <= {"interest", "rates", "rate"},
              f"the query's words are highlighted ({sorted(set(state['marks']))})")
        check(state["range"] == "1–10", f"the range reads 1–10 ({state['range']})")
        check(state["bars"] > 0, f"a bar per year ({state['bars']})")
        check(state["value"] == "interest rates", "the box keeps the query")
        browser.screenshot(os.path.join(args.out, "search-page.png"))
        # Page 2.
        browser.events.clear()
        browser.evaluate("document.querySelector('a[rel=next]').click()")
        browser.wait_for_load()
        page2 = browser.evaluate("""(() => ({
            range: document.querySelector('#range').textContent,
            current: document.querySelector('[aria-current=page]').textContent,
            ids: [...document.querySelectorAll('li.hit .id')].map(e => e.textContent),
            prev: !!document.querySelector('a[rel=prev]'),
        }))()""")
        api2 = json.load(urllib.request.urlopen(base + "/search?q=interest+rates&limit=10&offset=10&fields=id"))
        check(page2["current"] == "2" and page2["range"].startswith("11–"), f"page 2 ({page2['range']})")
        check(page2["ids"] == [h["id"] for h in api2["hits"]], "page 2 holds the API's hits 11-20")
        check(page2["prev"], "page 2 links back")
        # A year bar narrows the dates.
        browser.navigate(base + "/?q=interest+rates")
        browser.events.clear()
        browser.evaluate("document.querySelector('.chart .bar').click()")
        browser.wait_for_load()
        narrowed = browser.evaluate("({search: location.search, from: document.querySelector('input[name=from]').value})")
        check("from=" in narrowed["search"] and narrowed["from"] != "", f"a bar sets the dates ({narrowed['search']})")
        # A document's page from a hit.
        browser.navigate(base + "/?q=interest+rates")
        first_id = browser.evaluate("document.querySelector('li.hit .id').textContent")
        browser.events.clear()
        browser.evaluate("document.querySelector('li.hit h2 a').click()")
        browser.wait_for_load()
        check(first_id in browser.evaluate("document.body.textContent"), "a hit links to its document")
        # A query error, with its caret.
        browser.navigate(base + "/?q=" + urllib.parse.quote('"unclosed phrase'))
        error = browser.evaluate("document.querySelector('.error') && document.querySelector('.error').textContent")
        check(error is not None and "^" in error, "a syntax error is shown with a caret")
        # A phone's width: nothing scrolls sideways.
        browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        browser.navigate(base + "/?q=bank&page=2")
        overflow = browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 0, f"no sideways scrolling at 390 px ({overflow} px over)")
        browser.screenshot(os.path.join(args.out, "search-page-phone.png"))
    finally:
        browser.close()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    check(server.returncode == 0, f"the server exits 0 on SIGTERM ({server.returncode})")
    print(f"screenshots: {args.out}/search-page.png, {args.out}/search-page-phone.png")
    if failures:
        print(f"{len(failures)} browser check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
