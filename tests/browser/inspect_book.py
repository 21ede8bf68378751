"""Open every page of the built book in Debian's chromium, as a reader would, and measure it.

`inspect(html_dir)` serves the HTML on 127.0.0.1, opens each page at desktop (1400 px) and phone
(390 px) width with Playwright driving /usr/bin/chromium (never a downloaded browser), and returns
one record per page and width: console and script errors, requests to other hosts, images that
fail or lack a meaningful alt text, broken internal links and anchors, sidebar toggles and answer
dropdowns that do not open, code blocks and tables that scroll sideways, page weight (raw and
gzip, as a host would serve it) and axe-core's serious and critical violations.

`tests/browser/test_book_in_browser.py` asserts on these records; run this file directly to print
them for any build: `python tests/browser/inspect_book.py _build/html`.
"""

from __future__ import annotations

import functools
import gzip
import html.parser
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

CHROMIUM = "/usr/bin/chromium"
LAUNCH_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WIDTHS = {"desktop": 1400, "phone": 390}
HEIGHT = {"desktop": 900, "phone": 844}
# Pages Sphinx writes for its own machinery rather than for reading.
NOT_READING_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
# Where a code block or table would scroll sideways.
SCROLLERS = (
    "div.highlight pre, div.cell_output pre, div.output pre, table, .pst-scrollable-table-container, "
    "div.cell_output .output.text_html"
)


def find_chromium() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per file would drown the test output
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A page closed while a file was still being sent is the browser's right, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `root` on 127.0.0.1 (a free port) in a daemon thread; returns (server, base URL)."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _anchors(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


@functools.lru_cache(maxsize=None)
def _file_weight(path: Path) -> tuple[int, int]:
    """Raw and gzip (level 6) bytes of a file the server sends as it is."""
    body = path.read_bytes()
    return len(body), len(gzip.compress(body, 6))


def served_file(root: Path, base: str, url: str) -> Path | None:
    """The file under `root` that our server sent for `url`, or None (not ours, not a file)."""
    if not url.startswith(base):
        return None
    target = root / unquote(urlsplit(url).path.lstrip("/"))
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() and root in target.resolve().parents else None


def reading_pages(root: Path) -> list[str]:
    """Every HTML page of the build, relative to `root`, the book's own pages first."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        pages.append(rel)
    return sorted(pages, key=lambda rel: (rel in NOT_READING_PAGES, rel))


def meaningful_alt(alt: str | None) -> bool:
    """An alt text says what the image shows: a few words, not a file name or path."""
    if alt is None:
        return False
    alt = alt.strip()
    if len(alt) < 12 or len(alt.split()) < 3:
        return False
    return not re.search(r"\.(png|jpe?g|svg|gif|webp)\b|_images/|/", alt, re.IGNORECASE)


def broken_links(root: Path, rel: str, hrefs: list[str], base: str) -> list[str]:
    """Internal links of page `rel` whose file or anchor does not exist in the build."""
    broken = []
    page_url = urljoin(base, rel)
    for href in hrefs:
        url = urlsplit(urljoin(page_url, href))
        if url.scheme not in ("http", "https") or f"{url.scheme}://{url.netloc}/" != base:
            continue
        target = root / unquote(url.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(href)
        elif url.fragment and target.suffix == ".html" and unquote(url.fragment) not in _anchors(target):
            broken.append(href)
    return broken


OVERFLOW_JS = """(selector) => {
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('.bd-sidebar-primary, .bd-sidebar-secondary, .toggle-hidden, details:not([open])')) continue;
    if (el.offsetParent === null) continue;
    if (el.scrollWidth > el.clientWidth + 2) {
      const text = (el.innerText || '').split('\\n').reduce((a, b) => a.length >= b.length ? a : b, '');
      found.push({tag: el.tagName.toLowerCase(), scroll: el.scrollWidth, width: el.clientWidth,
                  longest: text.slice(0, 120)});
    }
  }
  return found;
}"""

IMAGES_JS = """() => Array.from(document.querySelectorAll('.bd-article img, article img, main img')).map(img => ({
  src: img.getAttribute('src'), alt: img.getAttribute('alt'),
  loaded: img.complete && img.naturalWidth > 0,
  width: img.getBoundingClientRect().width,
  column: (img.closest('.bd-article, article, main') || document.body).getBoundingClientRect().width,
}))"""

VISIBLE_JS = """(selector) => {
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (r.width > 50 && r.height > 50 && r.right > 0 && r.left < window.innerWidth
        && s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity || '1') > 0.1) return true;
  }
  return false;
}"""


def _wait_visible(page, panel: str, visible: bool, timeout_ms: int = 5000) -> bool:
    """Wait (up to `timeout_ms`) until `panel`'s visibility is `visible`; return what it is then.
    A fixed pause is not enough: on a slow or busy machine the slide-in takes longer."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(s) => ({VISIBLE_JS})(s) === {str(visible).lower()}",
                               arg=panel, timeout=timeout_ms)
    except PlaywrightTimeout:
        pass
    return page.evaluate(VISIBLE_JS, panel)


CLOSE_SIDEBARS_JS = """() => {
  for (const id of ['pst-primary-sidebar-checkbox', 'pst-secondary-sidebar-checkbox']) {
    const box = document.getElementById(id);
    if (box && box.checked) { box.checked = false; box.dispatchEvent(new Event('change')); }
  }
}"""


def _toggle(page, button: str, panel: str) -> dict:
    """Click the first visible `button`; return whether `panel` was visible before and after.
    Afterwards the page is put back as it opened (Escape, then the theme's checkboxes), so
    the next check is not blocked by an open sidebar's overlay."""
    from playwright.sync_api import Error as PlaywrightError

    buttons = [b for b in page.query_selector_all(button) if b.is_visible()]
    if not buttons:
        return {"button": False}
    before = page.evaluate(VISIBLE_JS, panel)
    try:
        buttons[0].click(timeout=10_000)
    except PlaywrightError as exc:  # e.g. another panel's overlay is in the way
        page.evaluate(CLOSE_SIDEBARS_JS)
        return {"button": True, "before": before, "after": before,
                "error": str(exc).splitlines()[0]}
    after = _wait_visible(page, panel, not before)
    _settle(page)
    if after != before:
        page.keyboard.press("Escape")
        page.evaluate(CLOSE_SIDEBARS_JS)  # a phone's drawer, if Escape left it open
        if _wait_visible(page, panel, before, timeout_ms=2000) != before:
            buttons[0].click(force=True)  # a desktop's collapsed column comes back by a click
    page.evaluate(CLOSE_SIDEBARS_JS)  # whatever the checks saw, no drawer stays open
    _wait_visible(page, panel, before, timeout_ms=3000)
    _settle(page)
    return {"button": True, "before": before, "after": after}


DROPDOWN_OPEN_JS = """el => !el.classList.contains('toggle-hidden') && Array.from(el.children)
  .filter(c => !c.classList.contains('admonition-title'))
  .some(c => c.getBoundingClientRect().height > 0)"""


def _dropdowns(page) -> dict:
    """Open every answer dropdown (sphinx-togglebutton admonitions, <details>); count failures."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    opened = failed = 0
    for box in page.query_selector_all(".admonition.dropdown, details"):
        if box.evaluate("el => el.tagName") == "DETAILS":
            box.query_selector("summary").click()
            ok = box.evaluate("el => el.open")
        else:
            title = box.query_selector(".admonition-title, button.toggle-button")
            if title is None:
                failed += 1
                continue
            title.scroll_into_view_if_needed()
            title.click()
            try:
                page.wait_for_function(DROPDOWN_OPEN_JS, arg=box, timeout=3000)
            except PlaywrightTimeout:
                pass
            ok = box.evaluate(DROPDOWN_OPEN_JS)
        opened += bool(ok)
        failed += not ok
    return {"opened": opened, "failed": failed}


READY_JS = """async () => {
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  await document.fonts.ready;
  await frames();
}"""


def _ready(page, timeout_ms: int = 15_000) -> None:
    """After `load`: wait until MathJax (loaded with `defer`) has typeset the page and its
    fonts have arrived, rather than a fixed pause that is too long here and short on CI."""
    page.wait_for_function(
        "() => !window.MathJax || !document.querySelector('script[src*=mathjax]')"
        " || !!(window.MathJax.startup && window.MathJax.startup.promise)",
        timeout=timeout_ms)
    page.evaluate(READY_JS)


def _network_quiet(page, in_flight: set, quiet_ms: int = 150, timeout_ms: int = 5000) -> None:
    """Wait until no request of the page has been in flight for `quiet_ms` (the browser asks
    for the favicon around `load`): what the page weighs is then all counted."""
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        if in_flight:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_ms / 1000:
            return
        page.wait_for_timeout(25)


def _settle(page, timeout_ms: int = 5000) -> None:
    """Wait until the opened dropdowns' and toggled sidebars' transitions have finished: axe
    measures colours as they are, and a half-faded panel is not what a reader ends up seeing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    frames = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    page.evaluate(frames)  # a transition just triggered has started and is listed
    try:
        page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running')",
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:  # an endless animation: measure the page as it is
        pass
    page.evaluate(frames)  # the final frame is painted


TOOLTIP_DUE_JS = """() => !document.querySelector('.tooltip.show') && Array.from(
  document.querySelectorAll('[data-bs-toggle="tooltip"]')).some(t => t.matches(':focus, :hover'))"""


def _tooltips_at_rest(page, timeout_ms: int = 1500) -> None:
    """The theme shows a button's tooltip 500 ms after the button is focused or hovered (as a
    sidebar toggle is once tapped) and removes one 100 ms after: wait for both, so axe sees a
    tooltip as the reader does, not half faded in (which it reports as low contrast)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        if page.evaluate(TOOLTIP_DUE_JS):
            page.wait_for_selector(".tooltip.show", state="attached", timeout=timeout_ms)
        page.wait_for_function("() => !document.querySelector('.tooltip:not(.show)')",
                               timeout=timeout_ms)
    except PlaywrightTimeout:  # a tooltip that never comes or never goes: measure as it is
        pass


def _axe(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    _tooltips_at_rest(page)
    _settle(page)
    results = Axe().run(page)
    violations = results.response.get("violations", [])
    return [
        {"id": v["id"], "impact": v.get("impact"), "nodes": len(v.get("nodes", [])),
         "help": v.get("help"), "target": [n.get("target") for n in v.get("nodes", [])[:3]]}
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


def inspect(root: Path, screenshots: Path | None = None, search_word: str = "LSTM",
            pages: list[str] | None = None, axe: bool = True) -> dict:
    """Measure every page at both widths; see the module docstring. Returns a JSON-able dict.

    With two or more cores the widths run side by side, each in a browser of its own (one
    Playwright per thread); the records come back in the order page by page, desktop first."""
    root = Path(root).resolve()
    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("chromium is not installed (Debian package 'chromium')")
    rels = pages or reading_pages(root)
    server, base = serve(root)
    try:
        workers = min(len(WIDTHS), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            by_width = {label: pool.submit(_in_browser, executable, _inspect_width, root, base, rels,
                                           label, axe) for label in WIDTHS}
            extras = pool.submit(_in_browser, executable, _search_and_screenshots, base, root,
                                 search_word, screenshots)
            records_by_width = {label: job.result() for label, job in by_width.items()}
            search, shots = extras.result()
    finally:
        server.shutdown()
        server.server_close()
    records = [records_by_width[label][i] for i in range(len(rels)) for label in WIDTHS]
    return {"base": base, "browser": executable, "pages": records, "search": search, "screenshots": shots}


def _in_browser(executable: str, work, *args):
    """Run `work(browser, *args)` in a chromium of its own, with this thread's Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=LAUNCH_FLAGS)
        try:
            return work(browser, *args)
        finally:
            browser.close()


def _inspect_width(browser, root: Path, base: str, rels: list[str], label: str, axe: bool) -> list[dict]:
    """Every page at one width, in order."""
    return [_inspect_page(browser, root, base, rel, label, WIDTHS[label], axe) for rel in rels]


def _search_and_screenshots(browser, base: str, root: Path, word: str, folder: Path | None) -> tuple:
    return _search(browser, base, word), (_screenshots(browser, base, root, folder) if folder else [])


def _inspect_page(browser, root: Path, base: str, rel: str, label: str, width: int, axe: bool) -> dict:
    context = browser.new_context(viewport={"width": width, "height": HEIGHT[label]},
                                  is_mobile=label == "phone", has_touch=label == "phone")
    page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    failed: list[str] = []
    raw = gz = 0
    in_flight: set = set()

    def on_request(request):
        in_flight.add(request)
        if not request.url.startswith(base) and not request.url.startswith(("data:", "blob:", "about:")):
            foreign.append(request.url)

    def on_response(response):
        nonlocal raw, gz
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")
        # A file our server sent (status 200) is weighed on disk: the same bytes, without
        # a round trip to the browser per response (which cost seconds per page).
        served = served_file(root, base, response.url) if response.status == 200 else None
        if served is not None:
            size, packed = _file_weight(served)
        else:
            try:
                body = response.body()
            except Exception:  # redirects and aborted requests have no body
                return
            size, packed = len(body), len(gzip.compress(body, 6))
        raw += size
        gz += packed

    # Nothing leaves the machine: requests to other hosts are recorded and refused.
    page.route(re.compile(r"^(?!" + re.escape(base) + r"|data:|blob:).*"), lambda route: route.abort())
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
    page.on("request", on_request)
    page.on("response", on_response)
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))

    page.goto(base + rel, wait_until="load")
    _ready(page)  # MathJax typesets after load
    _network_quiet(page, in_flight)
    record = {"page": rel, "width": label, "errors": errors, "foreign_requests": foreign,
              "failed_requests": failed, "raw_bytes": raw, "gzip_bytes": gz}

    images = page.evaluate(IMAGES_JS)
    record["images"] = len(images)
    record["images_not_loaded"] = [i["src"] for i in images if not i["loaded"]]
    record["images_bad_alt"] = [f"{i['src']}: {i['alt']!r}" for i in images if not meaningful_alt(i["alt"])]
    record["images_wider_than_column"] = [i["src"] for i in images if i["width"] > i["column"] + 1]
    record["raw_math"] = page.evaluate(
        "() => document.querySelectorAll('.math:not(:has(mjx-container))').length")
    record["math"] = page.evaluate("() => document.querySelectorAll('.math').length")
    record["overflowing"] = page.evaluate(OVERFLOW_JS, SCROLLERS)
    record["page_scrolls_sideways"] = page.evaluate(
        "() => document.documentElement.scrollWidth > window.innerWidth + 1")
    if label == "desktop":
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))")
        landed = urlsplit(page.url).path.lstrip("/") or "index.html"  # index.html redirects
        record["broken_links"] = broken_links(root, landed, hrefs, base)
    record["primary_toggle"] = _toggle(page, ".primary-toggle", ".bd-sidebar-primary")
    record["secondary_toggle"] = _toggle(page, ".secondary-toggle", ".bd-sidebar-secondary, .bd-toc, .page-toc")
    record["dropdowns"] = _dropdowns(page)
    # axe-core fetches the style sheets itself (and asks for one at a wrong path): what a
    # reader's browser did is recorded before it runs.
    record["errors"], record["failed_requests"] = list(errors), list(failed)
    record["axe"] = _axe(page) if axe else None
    context.close()
    return record


def _search(browser, base: str, word: str) -> dict:
    """Search the book for `word` from its search page; return the hits' titles."""
    page = browser.new_page()
    page.route(re.compile(r"^(?!" + re.escape(base) + r"|data:).*"), lambda route: route.abort())
    page.goto(f"{base}search.html?q={word}", wait_until="load")
    try:  # the hits are listed one by one; the summary line is written when all are
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results p.search-summary');"
            " return !!s && s.innerText.trim() !== ''; }", timeout=15_000)
    except Exception:
        pass
    hits = page.evaluate(
        "() => Array.from(document.querySelectorAll('#search-results ul.search li a'), a => a.getAttribute('href'))")
    page.close()
    return {"word": word, "hits": hits}


def _screenshots(browser, base: str, root: Path, folder: Path) -> list[str]:
    """The introduction on a phone and the longest chapter on a desktop, as PNG files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chapters = sorted((root / "chapters").glob("*.html"), key=lambda p: p.stat().st_size)
    shots = [("intro.html", "phone")]
    if chapters:
        shots.append((chapters[-1].relative_to(root).as_posix(), "desktop"))
    saved = []
    for rel, label in shots:
        context = browser.new_context(viewport={"width": WIDTHS[label], "height": HEIGHT[label]})
        page = context.new_page()
        page.route(re.compile(r"^(?!" + re.escape(base) + r"|data:).*"), lambda route: route.abort())
        page.goto(base + rel, wait_until="load")
        _ready(page)
        out = folder / f"{Path(rel).stem}-{label}.png"
        page.screenshot(path=str(out))
        saved.append(str(out))
        context.close()
    return saved


def table(report: dict) -> str:
    """One line per page and width: the figures the issue asks to record."""
    lines = [f"{'page':46} {'width':7} {'errors':>6} {'foreign':>7} {'raw KB':>7} {'gzip KB':>7} "
             f"{'overflow':>8} {'badalt':>6} {'rawmath':>7} {'axe':>3} {'toggles':>8}"]
    for r in report["pages"]:
        toggles = "".join(
            "-" if not r[k].get("button") else ("ok" if r[k]["after"] != r[k]["before"] else "NO")
            for k in ("primary_toggle", "secondary_toggle"))
        lines.append(
            f"{r['page']:46} {r['width']:7} {len(r['errors']):6} {len(r['foreign_requests']):7} "
            f"{r['raw_bytes'] / 1024:7.0f} {r['gzip_bytes'] / 1024:7.0f} {len(r['overflowing']):8} "
            f"{len(r['images_bad_alt']):6} {r['raw_math']:7} {len(r['axe'] or []):3} {toggles:>8}")
    lines.append(f"search {report['search']['word']!r}: {len(report['search']['hits'])} hits")
    return "\n".join(lines)


if __name__ == "__main__":
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    result = inspect(build, screenshots=build.parent / "screenshots")
    out = build.parent / "browser-report.json"
    out.write_text(json.dumps(result, indent=1))
    print(table(result))
    print(f"details: {out}")
