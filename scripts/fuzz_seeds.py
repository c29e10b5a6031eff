#!/usr/bin/env python3
"""Regenerates the committed seed corpus of the fuzz targets (fuzz/seeds/)
from the repository's own test files: graphs and the diagnostic corpus for
`parse`/`check` (both use seeds/pt), compiled plans for `plan`, small .npy files for every port
the `npy` target picks, camera scripts, and recorded LSP frames.

    python3 scripts/fuzz_seeds.py [--ptc target/debug/ptc]

Needs numpy and a built `ptc` (for `ptc compile`). Deterministic: rerunning
it rewrites the same files.
"""
import argparse
import io
import json
import pathlib
import shutil
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def put(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def pt_files():
    pats = ["graphs/**/*.pt", "tests/ui/*.pt", "tests/cli/*.pt", "tests/fixtures/*.pt"]
    return sorted({p for pat in pats for p in ROOT.glob(pat)})


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def frame(body, method=None, **kw):
    msg = {"jsonrpc": "2.0", **kw}
    if method:
        msg["method"] = method
    b = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(b) + b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptc", default=str(ROOT / "target" / "debug" / "ptc"))
    args = ap.parse_args()
    if SEEDS.exists():
        shutil.rmtree(SEEDS)

    # pt (the parse and check targets): every graph and diagnostic case.
    for p in pt_files():
        name = str(p.relative_to(ROOT)).replace("/", "__")
        put("pt", name, p.read_bytes())

    # plan: the graphs that compile, as `ptc compile` writes them.
    for p in sorted(ROOT.glob("graphs/**/*.pt")):
        out = subprocess.run(
            [args.ptc, "compile", str(p), "-o", "-"],
            cwd=ROOT, capture_output=True,
        )
        if out.returncode == 0:
            put("plan", p.stem + ".plan.yaml", out.stdout)
    put("plan", "not_a_plan.yaml", "version: 2\ngraph: g\n")

    # npy: first byte picks the port (fuzz_targets/npy.rs: 0 f32[4],
    # 1 u16[2,3], 2 vec3<f32>[2] (4 wide), 3 u8[1], 4 i32[2,1,2]; +0x80:
    # a raw file instead of .npy).
    rng = np.random.default_rng(1)
    ports = [
        (0, np.float32, (4,)),
        (1, np.uint16, (2, 3)),
        (2, np.float32, (2, 4)),
        (3, np.uint8, (1,)),
        (4, np.int32, (2, 1, 2)),
    ]
    for pick, dt, shape in ports:
        one = (rng.random(shape) * 100).astype(dt)
        stack = (rng.random((3,) + shape) * 100).astype(dt)
        put("npy", f"p{pick}_one.npy", bytes([pick]) + npy_bytes(one))
        put("npy", f"p{pick}_stack.npy", bytes([pick]) + npy_bytes(stack))
        put("npy", f"p{pick}_v2.npy", bytes([pick]) + npy_bytes(stack, (2, 0)))
        put("npy", f"p{pick}_raw", bytes([pick | 0x80]) + stack.tobytes())
    put("npy", "p0_wrong_dtype.npy", b"\x00" + npy_bytes(np.zeros(4, np.float64)))
    put("npy", "p0_fortran.npy", b"\x00" + npy_bytes(np.asfortranarray(np.zeros((2, 4), np.float32))))

    # camera_script: the default script and small variants.
    for p in sorted(ROOT.glob("graphs/scripts/*.txt")):
        put("camera_script", p.name, p.read_bytes())
    put("camera_script", "none_only.txt", "0.0 none\n")
    put("camera_script", "two.txt", "0 0.5 0.5 900 # start\n1.5 1.5 -0.5 5000\n2 none\n")

    # lsp_frame: a session as an editor sends it, and broken frames.
    graph = (ROOT / "graphs" / "saxpy2.pt").read_text()
    uri = "file:///w/graphs/saxpy2.pt"
    session = b"".join([
        frame(None, "initialize", id=1, params={"capabilities": {}}),
        frame(None, "initialized", params={}),
        frame(None, "textDocument/didOpen", params={"textDocument": {
            "uri": uri, "languageId": "ptask", "version": 1, "text": graph}}),
        frame(None, "textDocument/hover", id=2, params={
            "textDocument": {"uri": uri}, "position": {"line": 6, "character": 12}}),
        frame(None, "shutdown", id=3),
        frame(None, "exit"),
    ])
    put("lsp_frame", "session", session)
    put("lsp_frame", "bad_json", b"Content-Length: 5\r\n\r\n{oops")
    put("lsp_frame", "no_length", b"Content-Type: x\r\n\r\n{}")
    put("lsp_frame", "response", frame(None, id=7, result=None))


if __name__ == "__main__":
    main()
