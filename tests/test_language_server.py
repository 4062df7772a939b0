"""The language server (rmapcheck/lsp/): diagnostics, hover and
go-to-definition, spoken to as an editor does, over stdio with LSP's
Content-Length framing; and the name index and module loading under it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from rmapcheck.lsp.module_loader import analyse
from rmapcheck.lsp.name_index import NameIndex

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
TIMEOUT = 20.0


def _line_of(path: Path, start: str) -> int:
    """The 0-based line of ``path`` that starts with ``start`` (so the tests
    follow the models when they are edited)."""
    lines = path.read_text().splitlines()
    found = [i for i, line in enumerate(lines) if line.startswith(start)]
    assert len(found) == 1, f"{start!r} starts {len(found)} lines of {path}"
    return found[0]


# ---------------------------------------------------------------- an LSP client


class Client:
    """Just enough of an editor: requests wait for their response, and
    notifications from the server are kept to be waited for."""

    def __init__(self, cwd: Path, stderr: IO[bytes]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "rmapcheck.lsp"], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr)
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.inbox.put(json.loads(body))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None) -> None:
        self.send({"method": method, "params": params})

    def _take(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("the language server did not answer in time")
        try:
            return self.inbox.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError("the language server did not answer in time") from None

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._take(deadline)
            if message.get("id") == self.next_id and "method" not in message:
                assert "error" not in message, message["error"]
                return message.get("result")
            if "id" in message and "method" in message:  # a request of the server's
                self.send({"id": message["id"], "result": None})
            else:
                self.notifications.append(message)

    def wait_for(self, method: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The params of the first notification ``method`` that ``match``es
        (one that came earlier included); it is used up."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for note in self.notifications:
                if note.get("method") == method and match(note["params"]):
                    self.notifications.remove(note)
                    return note["params"]  # type: ignore[no-any-return]
            message = self._take(deadline)
            if "id" in message and "method" in message:
                self.send({"id": message["id"], "result": None})
            elif "method" in message:
                self.notifications.append(message)

    def diagnostics(self, uri: str, version: int | None) -> list[dict[str, Any]]:
        params = self.wait_for("textDocument/publishDiagnostics",
                               lambda p: p["uri"] == uri and p.get("version") == version)
        return params["diagnostics"]  # type: ignore[no-any-return]

    def open(self, uri: str, text: str, version: int = 1) -> list[dict[str, Any]]:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "rmapspec", "version": version, "text": text}})
        return self.diagnostics(uri, version)

    def change(self, uri: str, text: str, version: int) -> list[dict[str, Any]]:
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": text}]})
        return self.diagnostics(uri, version)

    def at(self, uri: str, line: int, character: int) -> dict[str, Any]:
        return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    pytest.importorskip("pygls", reason="the language server needs the lsp extra (pygls)")
    log = tmp_path_factory.mktemp("lsp") / "server.log"
    with log.open("wb") as stderr:
        lsp = Client(ROOT, stderr)
        try:
            result = lsp.request("initialize", {"processId": None, "rootUri": ROOT.as_uri(),
                                                "capabilities": {}})
            capabilities = result["capabilities"]
            assert capabilities["hoverProvider"] and capabilities["definitionProvider"]
            lsp.notify("initialized", {})
            yield lsp
            assert lsp.request("shutdown", None) is None
            lsp.notify("exit", None)
            assert lsp.proc.wait(timeout=TIMEOUT) == 0
        finally:
            if lsp.proc.poll() is None:
                lsp.proc.kill()
                lsp.proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


TYPE_ERROR = """model switch
var on: Bool "the switch is on"
action flip() { on := 1 }
invariant either: on or not on
"""


def test_diagnostics_as_you_type(client: Client, tmp_path: Path) -> None:
    uri = (tmp_path / "switch.spec").as_uri()  # never saved: the buffer is what is checked
    [problem] = client.open(uri, TYPE_ERROR)
    assert problem["message"] == "expected Bool, found Int"
    assert problem["range"] == {"start": {"line": 2, "character": 22},
                                "end": {"line": 2, "character": 23}}
    assert problem["severity"] == 1 and problem["source"] == "rmapcheck"

    fixed = TYPE_ERROR.replace(":= 1", ":= not on")
    assert client.change(uri, fixed, 2) == []

    [problem] = client.change(uri, fixed.replace("on or", "onn or"), 3)
    assert problem["message"] == "unknown name 'onn'\nnote: did you mean 'on'?"
    assert problem["range"]["start"] == {"line": 3, "character": 18}

    [problem] = client.change(uri, TYPE_ERROR.replace(":= 1", "= 1"), 4)
    assert problem["range"]["start"] == {"line": 2, "character": 19}
    assert "':='" in problem["message"]

    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri, None) == []


def test_positions_count_utf16_units(client: Client, tmp_path: Path) -> None:
    # LSP counts columns in UTF-16 units unless agreed otherwise: 😀 is two.
    uri = (tmp_path / "emoji.spec").as_uri()
    text = 'model emoji\nvar on: Bool\naction flip() "😀" { on := 1 }\n'
    [problem] = client.open(uri, text)
    column = len('action flip() "😀" { on := ') + 1
    assert problem["range"] == {"start": {"line": 2, "character": column},
                                "end": {"line": 2, "character": column + 1}}
    hover = client.request("textDocument/hover", client.at(uri, 2, column - 5))
    assert hover["contents"]["value"].startswith("```rmapspec\nvar on: Bool\n```")
    assert hover["range"]["start"] == {"line": 2, "character": column - 6}
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_positions_in_utf8_when_the_client_asks(tmp_path: Path) -> None:
    pytest.importorskip("pygls", reason="the language server needs the lsp extra (pygls)")
    with (tmp_path / "server.log").open("wb") as stderr:
        lsp = Client(ROOT, stderr)
        try:
            result = lsp.request("initialize", {
                "processId": None, "rootUri": None,
                "capabilities": {"general": {"positionEncodings": ["utf-8"]}}})
            assert result["capabilities"]["positionEncoding"] == "utf-8"
            lsp.notify("initialized", {})
            uri = (tmp_path / "emoji.spec").as_uri()
            text = 'model emoji\nvar on: Bool\naction flip() "😀" { on := 1 }\n'
            [problem] = lsp.open(uri, text)
            column = len('action flip() "😀" { on := '.encode())
            assert problem["range"]["start"] == {"line": 2, "character": column}
            hover = lsp.request("textDocument/hover", lsp.at(uri, 2, column - 5))
            assert hover["range"]["start"] == {"line": 2, "character": column - 6}
            assert lsp.request("shutdown", None) is None
            lsp.notify("exit", None)
            assert lsp.proc.wait(timeout=TIMEOUT) == 0
        finally:
            if lsp.proc.poll() is None:
                lsp.proc.kill()
                lsp.proc.wait()


def test_names_resolve_while_the_buffer_does_not_parse(client: Client, tmp_path: Path) -> None:
    uri = (tmp_path / "halfway.spec").as_uri()
    text = "model halfway\nuse vm\ndef finds(f: Frame, p: Proc, v: VPage): Bool = false\n"
    assert client.open(uri, text) == []
    [problem] = client.change(uri, text + "action typing(p: Proc) { requires alive[p] and", 2)
    assert problem["message"].startswith("the file ends too early")
    hover = client.request("textDocument/hover", client.at(uri, 3, len("action typing(p: Proc) { "
                                                                       "requires al")))
    assert "var alive: Proc -> Bool" in hover["contents"]["value"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_error_in_a_used_library_shows_on_the_use(client: Client, tmp_path: Path) -> None:
    uri = (tmp_path / "nofinds.spec").as_uri()
    [problem] = client.open(uri, "model nofinds\nuse vm\n")
    finds = _line_of(MODELS / "vm.spec", "hook def finds(")
    assert problem["message"].startswith(
        f"models/vm.spec:{finds + 1}:1: hook def 'finds' has no definition")
    assert problem["range"] == {"start": {"line": 1, "character": 0},
                                "end": {"line": 1, "character": 6}}
    [related] = problem["relatedInformation"]
    assert related["location"]["uri"] == (MODELS / "vm.spec").as_uri()
    assert related["location"]["range"]["start"] == {"line": finds, "character": 0}


def test_an_unsaved_library_edit_rechecks_its_designs(client: Client) -> None:
    design = (MODELS / "anonmm.spec").as_uri()
    library = (MODELS / "vm.spec").as_uri()
    text = (MODELS / "vm.spec").read_text()
    assert client.open(design, (MODELS / "anonmm.spec").read_text()) == []
    assert client.open(library, text) == []  # a library is checked, not refused
    assert client.diagnostics(design, 1) == []  # and the designs on it again

    broken = text.replace("init { alive[0] := true }", "init { alive[0] := 7 }")
    assert broken != text
    [problem] = client.change(library, broken, 2)
    assert problem["message"] == "expected Bool, found Int"
    assert problem["range"]["start"]["line"] == _line_of(MODELS / "vm.spec", "init {")
    [problem] = client.diagnostics(design, 1)
    assert problem["message"].startswith("models/vm.spec:")
    assert problem["range"]["start"]["line"] == _line_of(MODELS / "anonmm.spec", "use vm")

    # A library that does not parse: the design points into it all the same.
    init = _line_of(MODELS / "vm.spec", "init {")
    equals = {"line": init, "character": len("init { alive[0] ")}
    [problem] = client.change(library, broken.replace(":= 7", "= 7"), 3)
    assert problem["range"]["start"] == equals
    [problem] = client.diagnostics(design, 1)
    assert problem["message"].startswith(f"models/vm.spec:{init + 1}:{equals['character'] + 1}:")
    assert problem["range"]["start"]["line"] == _line_of(MODELS / "anonmm.spec", "use vm")
    [related] = problem["relatedInformation"]
    assert related["location"]["range"]["start"] == equals

    assert client.change(library, text, 4) == []
    assert client.diagnostics(design, 1) == []
    client.notify("textDocument/didClose", {"textDocument": {"uri": library}})
    client.notify("textDocument/didClose", {"textDocument": {"uri": design}})


def test_hover_shows_a_library_hook_and_its_doc(client: Client) -> None:
    path = MODELS / "anonmm.spec"
    uri = path.as_uri()
    assert client.open(uri, path.read_text()) == []
    line = _line_of(path, "proc on_fault(")
    hover = client.request("textDocument/hover", client.at(uri, line, len("proc on_")))
    text = hover["contents"]["value"]
    assert "hook proc on_fault(p: Proc, v: VPage, f: Frame)" in text
    assert "a fresh anonymous page f is now mapped at v" in text
    assert f"proc at `models/anonmm.spec:{line + 1}`" in text
    assert hover["range"] == {"start": {"line": line, "character": 5},
                              "end": {"line": line, "character": 13}}

    # A state variable of the library, and a field a design added to its record.
    line = _line_of(path, "  alive[p] and page[f].mapping == family[p] and v ==")
    hover = client.request("textDocument/hover", client.at(uri, line, 3))
    assert "var alive: Proc -> Bool" in hover["contents"]["value"]
    assert "the mm exists" in hover["contents"]["value"]
    hover = client.request("textDocument/hover",
                           client.at(uri, line, len("  alive[p] and page[f].m")))
    assert "Page.mapping: Proc?" in hover["contents"]["value"]

    # Nothing in a comment, a string or a keyword.
    doc_line = _line_of(path, "Expected:")
    assert client.request("textDocument/hover", client.at(uri, doc_line, 2)) is None
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_hover_shows_an_override_with_what_it_overrides(client: Client, tmp_path: Path) -> None:
    uri = (tmp_path / "three.spec").as_uri()
    text = ("model three\nuse vm\noverride const PROCS = 3 \"a grandchild\"\n"
            "def finds(f: Frame, p: Proc, v: VPage): Bool = false\n"
            "invariant few: (count p: Proc. alive[p]) <= PROCS\n")
    assert client.open(uri, text) == []
    hover = client.request("textDocument/hover", client.at(uri, 4, len(text.splitlines()[4]) - 1))
    code, doc, places = hover["contents"]["value"].split("\n\n")
    first, override = code.splitlines()[1:-1]
    assert first.startswith("const PROCS = ") and override == "override const PROCS = 3"
    assert doc == _quoted_doc(MODELS / "vm.spec", "const PROCS = ")  # the library's words
    assert places.endswith(f"override const at `{tmp_path / 'three.spec'}:3`")
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def _quoted_doc(path: Path, start: str) -> str:
    line = path.read_text().splitlines()[_line_of(path, start)]
    return line.split('"')[1]


def test_definition_goes_into_the_library(client: Client) -> None:
    path = MODELS / "anon_vma.spec"
    uri = path.as_uri()
    assert client.open(uri, path.read_text()) == []
    line = _line_of(path, "  let a = vma_at(p, v)")
    [location] = client.request("textDocument/definition",
                                client.at(uri, line, len("  let a = vma")))
    assert location["uri"] == (MODELS / "vm.spec").as_uri()
    vma_at = _line_of(MODELS / "vm.spec", "def vma_at(")
    assert location["range"] == {"start": {"line": vma_at, "character": 4},
                                 "end": {"line": vma_at, "character": 10}}

    # A local: the `a` of that let, used on the next line.
    use_of_a = _line_of(path, "  anon_vma_prepare(p, a)")
    [location] = client.request("textDocument/definition",
                                client.at(uri, use_of_a, len("  anon_vma_prepare(p, ")))
    assert location == {"uri": uri, "range": {"start": {"line": line, "character": 6},
                                              "end": {"line": line, "character": 7}}}

    # A hook: the library's declaration, then the design's definition.
    hook_line = _line_of(path, "proc on_fault(")
    found = client.request("textDocument/definition", client.at(uri, hook_line, 6))
    assert [(d["uri"], d["range"]["start"]["line"]) for d in found] == [
        ((MODELS / "vm.spec").as_uri(), _line_of(MODELS / "vm.spec", "hook proc on_fault(")),
        (uri, hook_line)]

    # `use vm` goes to the library's file.
    use_line = _line_of(path, "use vm")
    [location] = client.request("textDocument/definition", client.at(uri, use_line, 5))
    assert location["uri"] == (MODELS / "vm.spec").as_uri()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


@pytest.mark.parametrize("text", [
    "",
    "model",
    "model m\naction a() { requires \"unterminated }\n",
    '"""an unterminated docstring\nmodel m\n',
    "model m\ninvariant deep: " + "(" * 3000 + "true" + ")" * 3000 + "\n",
    "model m\ninvariant long: " + " and ".join(["true"] * 3000) + "\n",
    "model m\nuse m\naction a() { }\n",
    "model m\nuse no_such_library\n",
    "\x00\xff\u2028 model é",
])
def test_no_input_kills_the_server(client: Client, tmp_path: Path, text: str) -> None:
    uri = (tmp_path / "m.spec").as_uri()
    (tmp_path / "m.spec").write_text(text)  # `use m` finds itself: a cycle
    problems = client.open(uri, text)
    assert len(problems) == 1 and problems[0]["message"]
    assert client.request("textDocument/hover", client.at(uri, 0, 0)) is None
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


# ---------------------------------------------------------------- without a server


def test_without_pygls_the_server_says_what_to_install() -> None:
    code = ("import sys; sys.modules['pygls'] = sys.modules['lsprotocol'] = None\n"
            "from rmapcheck.lsp.__main__ import main; sys.exit(main())\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr == "rmapcheck-lsp needs pygls 2: pip install 'rmapcheck[lsp]'\n"


def _index(text: str, name: str = "t.spec") -> tuple[NameIndex, str]:
    analysis = analyse(None, name, text)
    assert analysis.problem is None, analysis.problem
    return NameIndex(analysis), text


def test_locals_follow_the_checker_scoping() -> None:
    index, text = _index("""model t
type Id = 0 .. 2
var x: Id -> Id
action a(i: Id) {
  let v = x[i]
  let v = v + 1
  x[i] := v
  requires forall i: Id. x[i] <= v
  if v > 0 { let v = 0
    x[i] := v } else { x[i] := v + 2 }
}
""")

    def kind_and_line(needle: str, skip: int = 0) -> tuple[str, int]:
        offset = text.index(needle) + skip
        found = index.lookup("t.spec", text, offset)
        assert found is not None
        [entry] = found.entries
        return entry.kind, entry.site.line

    # `v + 1` is the first let's v; `:= v` the second's
    assert kind_and_line("v + 1") == ("let", 4)
    assert kind_and_line(":= v", 3) == ("let", 5)
    assert kind_and_line("x[i] :=", 2) == ("parameter", 3)
    assert kind_and_line("x[i] <=", 2) == ("forall variable", 7)
    assert kind_and_line("Id. x", 0) == ("sort", 1)
    # a let in one branch is not seen in the other
    assert kind_and_line("x[i] := v }", 8) == ("let", 8)
    assert kind_and_line("v + 2") == ("let", 5)


def test_a_library_is_checked_with_its_hooks_left_open() -> None:
    library = ("library lib\nvar on: Bool\nhook def decide(b: Bool): Bool\n"
               "hook proc react(b: Bool) \"the design's reaction\"\n"
               "action run() { react(decide(on)) }\n")
    assert analyse(None, "lib.spec", library).problem is None
    problem = analyse(None, "lib.spec", library.replace("decide(on)", "decide(1)")).problem
    assert problem is not None and problem.message == "expected Bool, found Int"
    # the same text as a model: its hooks must be defined
    problem = analyse(None, "lib.spec", library.replace("library", "model")).problem
    assert problem is not None and "has no definition" in problem.message


def test_doc_comes_from_comments_when_there_is_no_doc_string() -> None:
    index, text = _index("model t\n# unrelated\n\n# how many\n# of them\nconst N = 2\n"
                         "var x: Bool\naction a() { requires N > 1 }\n")
    found = index.lookup("t.spec", text, text.index("N > 1"))
    assert found is not None
    assert found.entries[0].doc == "how many\nof them"
    assert found.entries[0].signature == "const N = 2"
