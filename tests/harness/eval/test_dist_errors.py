"""An error on one rank stops every rank: the failing rank re-raises its own, the others name it."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch.distributed as torch_dist
import torch.multiprocessing as mp

from harness.eval.dist import Dist


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch_dist.init_process_group("gloo", rank=rank, world_size=2)
    d = Dist(rank, 2, rank)
    seen = []
    for error in (None, RuntimeError("boom") if rank == 0 else None, ValueError("item 7: bad") if rank == 1 else None):
        try:
            d.check(error)
            seen.append(None)
        except Exception as e:
            seen.append([type(e).__name__, str(e)])
    Path(out, f"{rank}.json").write_text(json.dumps(seen))
    torch_dist.destroy_process_group()


def test_check_stops_every_rank_with_the_failing_ranks_message(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"{r}.json").read_text()) for r in (0, 1))
    assert r0[0] is None and r1[0] is None  # nobody failed: nobody raises
    assert r0[1] == ["RuntimeError", "boom"] and r1[1] == ["RankFailed", "rank 0 failed (RuntimeError): boom"]
    assert r1[2] == ["ValueError", "item 7: bad"]
    assert r0[2] == ["InvalidInput", "rank 1 failed (ValueError): item 7: bad"]  # a user error: one line in the CLI
