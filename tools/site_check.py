"""Open every page of the built course website in a real browser: ``make site-test``.

The site (``artifacts/site/``, built by ``make site``) is served on 127.0.0.1 and Debian's
``chromium`` is driven headless through Playwright (no browser download), as ``make e2e``
does. Every HTML page is opened, and the check fails on

* a broken internal link: an ``href`` or ``src`` within the site (pages, downloads,
  stylesheets, scripts, fonts) that names no file of the site, or an anchor (``#...``)
  that names no element of the page it points to;
* a missing image: an ``<img>`` that did not load (``naturalWidth`` 0);
* unrendered maths: raw TeX (``$...$``, ``\\frac``, ``\\(``) left in the page's visible text
  outside code, or a maths element that MathJax did not typeset;
* a console error, an uncaught exception, a request that failed or answered 4xx/5xx, or
  any request to another host (a CDN): the site must work with no internet.

It also searches the site (``search.html?q=...`` must list results) and saves two
screenshots under ``artifacts/site-screenshots/``: the home page, and a lesson at a figure
with maths beside it.

``--self-test`` plants a broken link, a missing image, raw maths and a script from a CDN in
a copy of one page and requires the check to report each of them: the proof that it can fail.

Exit status: 0 when every page passed, 1 when one failed, 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import posixpath
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_lab import CHROMIUM_ARGS, find_chromium  # noqa: E402  (the same browser as make e2e)

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "artifacts" / "site"
SHOTS = ROOT / "artifacts" / "site-screenshots"
SEARCH_WORD = "autograd"
# what the self-test plants; each kind must be reported
PLANTED = {
    "broken-link": '<a href="no-such-page-planted.html">a link to nowhere</a>',
    "missing-image": '<img src="_images/no-such-image-planted.png" alt="planted">',
    "raw-maths": "<span>the loss is $-\\frac{1}{N}\\sum_i \\log p_i$ here</span>",
    "external-request": '<script src="https://cdn.example.invalid/planted.js"></script>',
}
# raw TeX in visible text: $...$ (no space just inside), $$, \( \[ or a common command
_RAW_TEX = re.compile(
    r"\$\$|\$[^\s$][^$\n]{0,200}?(?<!\s)\$|\\[(\[]|\\(?:frac|sum|sqrt|log|ln|mathbf|mathrm|partial|nabla|cdot|times|approx|hat|sigma|theta)\b"
)

# JavaScript run in each page once it has loaded: waits for MathJax and the images, then
# returns what the checks need.
PAGE_STATE_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.race([
    Promise.all(images.map(img => img.complete ? null : new Promise(r => { img.onload = img.onerror = r; }))),
    new Promise(r => setTimeout(r, 10000)),
  ]);
  const urls = [];
  for (const el of document.querySelectorAll('a[href], link[href]')) urls.push(el.getAttribute('href'));
  for (const el of document.querySelectorAll('img[src], script[src], source[src], iframe[src]')) urls.push(el.getAttribute('src'));
  const ids = Array.from(document.querySelectorAll('[id]')).map(el => el.id)
    .concat(Array.from(document.querySelectorAll('a[name]')).map(el => el.getAttribute('name')));
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER', 'NOSCRIPT', 'KBD', 'SAMP']);
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let el = node.parentElement, hidden = false;
    for (; el; el = el.parentElement) if (skip.has(el.tagName)) { hidden = true; break; }
    if (!hidden) parts.push(node.textContent);
  }
  const maths = Array.from(document.querySelectorAll('.math'));
  return {
    urls: urls,
    ids: ids,
    images: images.map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0})),
    text: parts.join(' '),
    maths: maths.length,
    typeset: maths.filter(el => el.querySelector('mjx-container')).length,
    rendered: document.querySelectorAll('mjx-container').length,
  };
}
"""

# a figure with rendered maths within a screen of it, scrolled into view; false when none
SCROLL_TO_FIGURE_JS = """
() => {
  const maths = Array.from(document.querySelectorAll('article mjx-container, main mjx-container'));
  for (const img of document.querySelectorAll('article img, main img')) {
    const box = img.getBoundingClientRect();
    if (box.height < 100) continue;
    const near = maths.find(m => Math.abs(m.getBoundingClientRect().top - box.top) < 700);
    if (!near) continue;
    const top = Math.min(box.top, near.getBoundingClientRect().top) + window.scrollY - 40;
    window.scrollTo(0, top);
    return true;
  }
  return false;
}
"""


@dataclass(frozen=True)
class Problem:
    """One failure found on one page: ``kind`` (``broken-link``, ``missing-image``, ...) and details."""

    page: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


def site_pages(site: Path) -> list[str]:
    """Every HTML page of ``site`` (paths relative to it, POSIX), the home page first.

    Raises ``ValueError`` when ``site`` holds no ``index.html`` (not built yet).
    """
    if not (site / "index.html").is_file():
        raise ValueError(f"no site at {site}: build it with `make site`")
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(site).parts[:-1])
    )
    pages.remove("index.html")
    return ["index.html", *pages]


def internal_target(url: str, page: str, origin: str) -> tuple[str, str] | None:
    """Where the link ``url`` found on ``page`` (site-relative) leads within the site.

    Returns ``(path, fragment)``: the site-relative file (``index.html`` for a folder) and the
    anchor (``""`` when none); ``None`` for a link that leaves the site (another host,
    ``mailto:``, ``javascript:``, ``data:``). ``origin`` is the server's ``http://host:port``.
    Raises ``ValueError`` for an empty ``url``.
    """
    if url is None or not url.strip():
        raise ValueError(f"{page}: an empty link (href or src with no address)")
    absolute = urllib.parse.urljoin(f"{origin}/{page}", url.strip())
    parsed = urllib.parse.urlsplit(absolute)
    if parsed.scheme not in ("http", "https") or f"{parsed.scheme}://{parsed.netloc}" != origin:
        return None
    path = posixpath.normpath(urllib.parse.unquote(parsed.path)).lstrip("/")
    if path in ("", "."):
        path = "index.html"
    elif parsed.path.endswith("/"):
        path = f"{path}/index.html"
    return path, parsed.fragment


def raw_maths(text: str) -> list[str]:
    """The pieces of raw TeX in the visible text ``text`` (each cut to 60 characters)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, not {type(text).__name__}")
    return [m.group(0)[:60] for m in _RAW_TEX.finditer(text)]


def plant_faults(html: str) -> str:
    """``html`` with every fault of ``PLANTED`` inserted at the start of its ``<body>``.

    Raises ``ValueError`` when the page has no ``<body>`` tag.
    """
    found = re.search(r"<body[^>]*>", html)
    if not found:
        raise ValueError("the page has no <body> tag to plant the faults in")
    planted = "<p>" + " ".join(PLANTED.values()) + "</p>"
    return html[: found.end()] + planted + html[found.end() :]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the signature of the base class)
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser left a page mid-download
            super().handle_error(request, client_address)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on 127.0.0.1 (a free port) in a background thread; return the server and its origin."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def check_site(site: Path, pages: list[str] | None = None, shots: Path | None = None, search: bool = True) -> tuple[list[Problem], int]:
    """Open ``pages`` (default: every page) of ``site`` in headless chromium; return the problems and the page count.

    ``shots``: a folder for the two screenshots (none taken when ``None``); ``search``: also
    check that the site's search finds ``SEARCH_WORD``.
    """
    from playwright.sync_api import sync_playwright

    pages = pages or site_pages(site)
    problems: list[Problem] = []
    visited: dict[str, set[str]] = {}
    links: list[tuple[str, str, str]] = []  # (page, path, fragment)
    server, origin = serve(site)
    host = urllib.parse.urlsplit(origin).netloc
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                current = {"page": ""}

                def route(route_obj) -> None:
                    if urllib.parse.urlsplit(route_obj.request.url).netloc == host:
                        route_obj.continue_()
                    else:  # nothing leaves this machine; a request elsewhere is a fault
                        problems.append(Problem(current["page"], "external-request", route_obj.request.url))
                        route_obj.abort()

                context.route("**/*", route)
                tab = context.new_page()

                def on_console(msg) -> None:
                    if msg.type == "error":
                        problems.append(Problem(current["page"], "console-error", msg.text[:200]))

                def on_response(response) -> None:
                    if response.status >= 400:
                        problems.append(Problem(current["page"], "failed-request", f"{response.status} {response.url}"))

                traffic = {"inflight": 0, "last": time.monotonic()}

                def on_request(request) -> None:
                    traffic["inflight"] += 1
                    traffic["last"] = time.monotonic()

                def on_done(request) -> None:
                    traffic["inflight"] = max(0, traffic["inflight"] - 1)
                    traffic["last"] = time.monotonic()

                def on_failed(request) -> None:
                    on_done(request)
                    if urllib.parse.urlsplit(request.url).netloc == host:
                        problems.append(Problem(current["page"], "failed-request", f"{request.failure} {request.url}"))

                tab.on("console", on_console)
                tab.on("pageerror", lambda err: problems.append(Problem(current["page"], "page-error", str(err)[:200])))
                tab.on("response", on_response)
                tab.on("requestfailed", on_failed)
                tab.on("request", on_request)
                tab.on("requestfinished", on_done)
                for page in pages:
                    current["page"] = page
                    try:
                        tab.goto(f"{origin}/{page}", wait_until="load", timeout=60_000)
                        state = tab.evaluate(PAGE_STATE_JS)
                    except Exception as err:  # report the page, go on with the others
                        problems.append(Problem(page, "page-load", f"{type(err).__name__}: {str(err)[:200]}"))
                        continue
                    # let late requests (fonts, lazy images) finish, so that their failures count:
                    # wait until none is in flight and none started for 0.5 s (at most 15 s)
                    deadline = time.monotonic() + 15
                    while time.monotonic() < deadline and (
                        traffic["inflight"] > 0 or time.monotonic() - traffic["last"] < 0.5
                    ):
                        tab.wait_for_timeout(100)
                    visited[page] = set(state["ids"])
                    for url in state["urls"]:
                        try:
                            target = internal_target(url, page, origin)
                        except ValueError as err:
                            problems.append(Problem(page, "broken-link", str(err)))
                            continue
                        if target:
                            links.append((page, *target))
                    for image in state["images"]:
                        if not image["ok"]:
                            problems.append(Problem(page, "missing-image", str(image["src"])))
                    for piece in raw_maths(state["text"]):
                        problems.append(Problem(page, "raw-maths", repr(piece)))
                    if state["typeset"] < state["maths"]:
                        problems.append(
                            Problem(page, "raw-maths", f"{state['maths'] - state['typeset']} of {state['maths']} maths elements not typeset")
                        )
                    if shots is not None:
                        take_screenshots(tab, page, state, shots)
                if search:
                    current["page"] = "search.html"
                    tab.goto(f"{origin}/search.html?q={SEARCH_WORD}", wait_until="load")
                    try:
                        tab.wait_for_selector("#search-results li, ul.search li", timeout=30_000)
                    except Exception:
                        problems.append(Problem("search.html", "search", f"no results for {SEARCH_WORD!r}"))
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    for page, path, fragment in links:
        if not (site / path).is_file():
            problems.append(Problem(page, "broken-link", f"{path} does not exist"))
        elif fragment and path in visited and fragment not in visited[path]:
            problems.append(Problem(page, "broken-link", f"{path}#{fragment}: no element has that id"))
    return problems, len(pages)


_taken: set[str] = set()


def take_screenshots(tab, page: str, state: dict, shots: Path) -> None:
    """Save the home page, and the first lesson page with a figure near maths, under ``shots``."""
    shots.mkdir(parents=True, exist_ok=True)
    if page == "index.html" and "home" not in _taken:
        tab.screenshot(path=str(shots / "home.png"))
        _taken.add("home")
    elif "lesson" not in _taken and re.match(r"notebooks/\d\d_", page) and state["rendered"] and tab.evaluate(SCROLL_TO_FIGURE_JS):
        time.sleep(0.3)
        tab.screenshot(path=str(shots / f"lesson-{Path(page).stem}.png"))
        _taken.add("lesson")


def self_test(site: Path) -> list[str]:
    """Plant the faults of ``PLANTED`` in a copy of one lesson page; return the kinds the check missed."""
    lesson = next((p for p in site_pages(site) if re.match(r"notebooks/\d\d_", p)), "index.html")
    with tempfile.TemporaryDirectory(prefix="course-site-selftest-") as tmp:
        copy = Path(tmp) / "site"
        shutil.copytree(site, copy)
        page = copy / lesson
        page.write_text(plant_faults(page.read_text(encoding="utf-8")), encoding="utf-8")
        problems, _ = check_site(copy, [lesson], shots=None, search=False)
    for problem in problems:
        print(f"      planted fault found: {problem}")
    found = {p.kind for p in problems if p.page == lesson}
    return [kind for kind in PLANTED if kind not in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help=f"the built site (default {SITE})")
    parser.add_argument("--self-test", action="store_true", help="also require planted faults to be reported")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        site_pages(args.site)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        problems, count = check_site(args.site, shots=SHOTS)
        missed = self_test(args.site) if args.self_test else []
    except Exception as err:
        print(f"site check set-up failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"FAIL  {problem}")
    shots = ", ".join(sorted(p.name for p in SHOTS.glob("*.png"))) if SHOTS.is_dir() else "none"
    print(f"{'ok   ' if not problems else 'FAIL '} {count} pages opened, {len(problems)} problems; screenshots in "
          f"{SHOTS.relative_to(ROOT)}: {shots}")
    if args.self_test:
        if missed:
            print(f"FAIL  self-test: the check did not report the planted {', '.join(missed)}")
        else:
            print(f"ok    self-test: the planted {', '.join(PLANTED)} were all reported")
    print(f"site check took {time.monotonic() - started:.0f} s")
    return 1 if problems or missed else 0


if __name__ == "__main__":
    sys.exit(main())
