"""`chapbook serve`: the web edition on localhost, rebuilt whenever the book, the templates or the
styles change, and reloaded in the browser. A broken save shows its error in the page; the server
keeps running. With `--pdf`, the print edition too, at /pdf: laid out again after each rebuild of
the page (which shows first), and reloaded in its frame when done.

The live-reload script exists only in what this server sends: built files carry no script.
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import watchfiles

from chapbook.build import build
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError, BookErrors
from chapbook.options import BuildOptions
from chapbook.resources import styles_dir, templates_dir
from chapbook.templating import environment

# The page asks for the version ten times a second (a local request of a few bytes), so a
# rebuild shows within a tenth of a second of being done.
RELOAD = ("<script>(function(){let seen=null;async function poll(){try{const r=await fetch("
          "'/__version',{cache:'no-store'});const v=await r.text();if(seen!==null&&v!==seen)"
          "location.reload();seen=v;}catch(e){}setTimeout(poll,100);}poll();})();</script>")


class BuiltBook(NamedTuple):
    """What the PDF preview needs of the book the last page was built from."""

    slug: str
    title: str
    language: str


STOP_GRACE_S = 10  # how long the print edition's build has to stop when the server stops


class Preview:
    """The current page (the book, or the error that stops it) and a version that changes with
    every rebuild."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        # The preview is a real build of the web edition, kept (with its cache, so a rebuild
        # parses only the changed essays) in a folder of its own that lives as long as the server.
        self.folder = tempfile.TemporaryDirectory(prefix="chapbook-serve-")
        self.lock = threading.Lock()
        self.version = 0
        self.page = ""
        self.pdf: bytes | None = None  # the print edition last built (kept when a save breaks it)
        self.pdf_version = 0
        self.pdf_wanted = False  # `serve --pdf`: /pdf shows the print edition, or why it cannot
        self.pdf_title = ("", "en")  # the book's title and language, for the page around it
        self.built: BuiltBook | None = None  # the book of the last page, if it built
        self.error: str | None = None  # why the last rebuild did not build, as a build says it

    def rebuild(self, changed: list[Path] | None = None) -> Diagnostics:
        """Build the page again after the `changed` files (None: anything); its findings, as a
        build would print them. The compiled templates are kept unless a template changed:
        compiling them again took most of a rebuild of the bundled book."""
        diagnostics = Diagnostics()
        self.error = None
        try:
            templates = templates_dir()
            if changed is None or any(path.is_relative_to(templates) for path in changed):
                environment.cache_clear()
            options = BuildOptions(self.manifest, Path(self.folder.name), ("html",))
            built = build(options, diagnostics)
            page = built.outputs["html"].read_text("utf-8")
            self.built = BuiltBook(built.book.slug, built.book.meta.title,
                                   built.book.meta.language)
        except (BookError, BookErrors) as error:
            self.built, self.error = None, str(error)
            page = environment().get_template("html/preview-error.html.j2").render(
                message=self.error)
        except Exception as error:  # a bug must not stop the preview either
            self.built, self.error = None, f"chapbook failed: {error!r}"
            page = environment().get_template("html/preview-error.html.j2").render(
                message=self.error)
        with self.lock:
            self.page = page
            self.version += 1
        return diagnostics

    def rebuild_pdf(self) -> list[str]:
        """Lay the print edition out again with `chapbook build pdf` in a process of its own (a
        server's threads and forked layout workers do not mix), into this preview's folder: it
        lays the book out on every core, and takes from the per-piece cache every piece the save
        left as it was. Returns what that build printed (its findings, or why it failed); a
        book that does not build keeps the last PDF."""
        if self.built is None:  # the page says why
            return []
        # -P: the installed chapbook, never a chapbook.py in the folder the server runs in
        command = [sys.executable, "-P", "-m", "chapbook", "build", "pdf", "--quiet", "--book",
                   str(self.manifest), "--out", self.folder.name]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as process:
            try:
                _, stderr = process.communicate()
            except BaseException:  # the server stopped: the build stops as after Ctrl-C,
                process.terminate()  # tidying what it made (SIGKILL would leave it)
                try:
                    process.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                raise
        said = stderr.splitlines()
        if process.returncode != 0:
            return said
        try:
            pdf = (Path(self.folder.name) / f"{self.built.slug}.pdf").read_bytes()
        except OSError:
            return said
        with self.lock:
            self.pdf, self.pdf_version = pdf, self.pdf_version + 1
            self.pdf_title = (self.built.title, self.built.language)
        return said

    def pdf_page(self) -> str:
        """The page that shows the print edition in a frame and reloads it when it changes."""
        title, language = self.pdf_title
        return environment().get_template("html/preview-pdf.html.j2").render(
            title=title, language=language, version=self.pdf_version,
            waiting=self.pdf is None, error=self.error)

    def watched(self) -> list[Path]:
        return [self.manifest.parent.resolve(), templates_dir(), styles_dir()]


MISDIRECTED = b"421 Misdirected Request: chapbook serve answers only to localhost\n"


def _local_hosts(address: tuple[str, int]) -> frozenset[str]:
    """The Host values that name this server: the loopback names and the bound address, bare or
    with the port it listens on, in lower case."""
    bound, port = address[0], address[1]
    names = {"localhost", "127.0.0.1", "[::1]", f"[{bound}]" if ":" in bound else bound}
    return frozenset(names | {f"{name}:{port}" for name in names})


def _handler(preview: Preview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def parse_request(self) -> bool:
            # Checked here, before any do_* method, so no path and no method serves anything
            # to a request meant for another name: a page elsewhere can point its own name at
            # 127.0.0.1 (DNS rebinding) and would then read the preview as same-origin.
            if not super().parse_request():
                return False
            hosts = self.headers.get_all("Host") or []
            address = self.server.server_address
            # one Host, naming us; none or two (which one would a proxy honour?) is refused
            if len(hosts) == 1 and hosts[0].strip().lower() in _local_hosts(
                    (str(address[0]), int(address[1]))):
                return True
            self.close_connection = True
            self.send_response(HTTPStatus.MISDIRECTED_REQUEST)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(MISDIRECTED)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(MISDIRECTED)
            return False

        def do_GET(self) -> None:
            with preview.lock:
                version, page = str(preview.version), preview.page
                pdf, pdf_version = preview.pdf, str(preview.pdf_version)
            path = self.path.split("?", 1)[0]
            if path == "/__version":
                body, kind = version.encode(), "text/plain"
            elif path in ("/", "/index.html") or self.path.startswith("/#"):
                body, kind = page.replace("</body>", RELOAD + "</body>").encode(), "text/html"
            elif path == "/__pdf-version" and preview.pdf_wanted:
                body, kind = pdf_version.encode(), "text/plain"
            elif path == "/pdf" and preview.pdf_wanted:
                body, kind = preview.pdf_page().encode(), "text/html"
            elif path == "/book.pdf" and pdf is not None:
                body, kind = pdf, "application/pdf"
            else:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind if kind == "application/pdf"
                             else f"{kind}; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the terminal shows rebuilds, not requests

    return Handler


def _listen(preview: Preview, port: int) -> ThreadingHTTPServer:
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), _handler(preview))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise BookError(f"port {port} is in use by another program",
                            hint=f"choose another with --port, e.g. --port {port + 1}") from err
        raise BookError(f"cannot serve on port {port}: {err.strerror or err}",
                        hint="choose another with --port, e.g. --port 8001") from err


def serve(manifest: Path, port: int, stop: threading.Event | None = None,
          announce: Callable[[str], object] = print, pdf: bool = False) -> None:
    """Serve until stopped (with `pdf`, the print edition too). A missing manifest or a port in
    use is a BookError before anything is served; after each build, its findings are announced
    as a build prints them."""
    if not Path(manifest).is_file():
        raise BookError(f"there is no manifest at '{manifest}'", hint="pass the book's "
                        "manifest with --book, e.g. --book book/book.yml")
    preview = Preview(manifest)
    preview.pdf_wanted = pdf
    server = _listen(preview, port)
    thread: threading.Thread | None = None
    stopped = _stop_on_signals()
    try:
        findings = preview.rebuild()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        announce(f"chapbook: serving {manifest} at http://127.0.0.1:{server.server_port}/ "
                 "(Ctrl-C stops)")
        if preview.error:
            announce(f"chapbook: the book does not build; the page shows why:\n{preview.error}")
        for finding in findings.findings:
            announce(str(finding))
        if pdf:
            _rebuild_pdf(preview, server.server_port, announce)
        stop = stop or threading.Event()
        for changes in watchfiles.watch(*preview.watched(), stop_event=stop,
                                        debounce=50, step=20):
            paths = sorted({Path(path).resolve() for _, path in changes})
            names = sorted({path.name for path in paths})
            findings = preview.rebuild(paths)
            announce(f"chapbook: the book does not build after {', '.join(names)[:80]}; the "
                     "page shows why, and the last good PDF is kept:\n" + preview.error
                     if preview.error else f"chapbook: rebuilt after {', '.join(names)[:80]}")
            for finding in findings.findings:
                announce(str(finding))
            if pdf:
                _rebuild_pdf(preview, server.server_port, announce)
    finally:
        if thread is not None:
            server.shutdown()  # waits for serve_forever, so only once it runs
        server.server_close()
        preview.folder.cleanup()
        for number, handler in stopped.items():
            signal.signal(number, handler)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP (a service manager, a closed terminal) stop the server as Ctrl-C
    does: its print edition's build is stopped with it (subprocess.run kills it on the way
    out) and its folder removed, instead of the server dying at once and the build running
    on. Only in the main thread, where Python delivers signals; the previous handlers are
    returned, to be put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    return {number: signal.signal(number, interrupt)
            for number in (signal.SIGTERM, signal.SIGHUP)}


def _rebuild_pdf(preview: Preview, port: int, announce: Callable[[str], object]) -> None:
    before = preview.pdf_version
    said = preview.rebuild_pdf()
    if preview.pdf_version != before:
        announce(f"chapbook: print edition laid out at http://127.0.0.1:{port}/pdf")
    elif said:
        announce("chapbook: the print edition did not build; the last one stays")
    for line in said:
        announce(line)
