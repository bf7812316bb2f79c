"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, standard library only.

Chromium reads commands from its fd 3 and writes answers and events to its fd 4, each message a
JSON object ended by a NUL byte. One reader thread files answers by id and keeps events in order,
so the test can wait on either with a deadline.
"""
import base64
import json
import os
import subprocess
import threading
import time


class CdpError(Exception):
    pass


class Chromium:
    def __init__(self, binary, profile_dir, log_path, extra_flags=()):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--password-store=basic", "--use-mock-keychain",
                 "--remote-debugging-pipe", "--user-data-dir=" + profile_dir, "--window-size=1280,900",
                 *extra_flags, "about:blank"]
        # The shell puts the two pipe ends on fds 3 and 4, where Chromium expects them.
        script = 'exec "$0" "$@" 3<&%d 4>&%d' % (to_chrome_r, from_chrome_w)
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(["sh", "-c", script, binary, *flags], pass_fds=(to_chrome_r, from_chrome_w),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._answers = {}
        self.events = []
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._cond:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._cond.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        message = {"id": mid, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._answers:
                left = deadline - time.monotonic()
                if self._closed:
                    raise CdpError("Chromium exited while waiting for " + method)
                if left <= 0:
                    raise CdpError("no answer to %s within %ss" % (method, timeout))
                self._cond.wait(left)
            answer = self._answers.pop(mid)
        if "error" in answer:
            raise CdpError("%s: %s" % (method, answer["error"].get("message")))
        return answer.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except CdpError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        self._log.close()


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(domain + ".enable")

    def send(self, method, params=None, timeout=30):
        return self.browser.send(method, params, self.session, timeout)

    def evaluate(self, expression, timeout=30):
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError("JavaScript error in %r: %s" % (expression[:80], text))
        return result["result"].get("value")

    def wait_for(self, expression, timeout=20, what=None):
        """Polls until the expression is truthy; a page that is navigating counts as not yet."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except CdpError as e:
                last = e
            if time.monotonic() > deadline:
                raise CdpError("timed out after %ss waiting for %s%s" % (timeout, what or expression,
                                                                        " (last error: %s)" % last if last else ""))
            time.sleep(0.05)  # poll interval

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def type_into(self, selector, text):
        """Focuses an input, clears it and types the text as keyboard input would."""
        self.evaluate("(() => { const e = document.querySelector(%s); e.focus(); e.select(); return true; })()"
                      % json.dumps(selector))
        self.send("Input.insertText", {"text": text})
