"""A small paper-like set of run records (two VLMs, three methods) with hand-checkable numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.report.fixtures import hm_samples, mc_samples, pattern, vizwiz_samples, write_run

HM_LABELS = [1, 1, 0, 0, 1, 0]
HM_ZS = [0.6, 0.4, 0.5, 0.3, 0.7, 0.8]  # AUROC 5/9, acc 3/6
HM_LORSU = [0.9, 0.8, 0.2, 0.1, 0.7, 0.3]  # AUROC 1, acc 1
VIZ_ANSWERS = [["yes"] * 2 + ["no"] * 8] * 5  # "yes" scores 0.6 (official VQA accuracy), "no" scores 1
VIZ_CHOICES = [["yes", "no"]] * 5


def paper_run_set(root: Path) -> dict[str, Path]:
    """llava: zero-shot / lorsu / ft; minigptv2: zero-shot / lorsu. Accuracies in the comments."""
    runs = {
        "llava-zs": write_run(
            root,
            "llava-zs",
            {
                "vsr": mc_samples("vsr", pattern(50, 30)),  # 60
                "vizwiz": vizwiz_samples(VIZ_ANSWERS, VIZ_CHOICES, [0] * 5),  # 60
                "hm": hm_samples(HM_LABELS, HM_ZS),
                "tsi": mc_samples("tsi", pattern(50, 10)),
            },
        ),  # 20
        "llava-lorsu": write_run(
            root,
            "llava-lorsu",
            {
                "vsr": mc_samples("vsr", pattern(50, 29, offset=3)),  # 58
                "vizwiz": vizwiz_samples(VIZ_ANSWERS, VIZ_CHOICES, [1] * 5),  # 100
                "hm": hm_samples(HM_LABELS, HM_LORSU),
                "tsi": mc_samples("tsi", pattern(50, 30)),
            },
            encoder="ckpt/lorsu.pt",
            label="LoRSU",
        ),  # 60
        "llava-ft": write_run(
            root,
            "llava-ft",
            {
                "vsr": mc_samples("vsr", pattern(50, 20, offset=3)),  # 40
                "tsi": mc_samples("tsi", pattern(50, 35)),
            },
            encoder="ckpt/ft.pt",
            label="FT",
        ),  # 70
        "mgv2-zs": write_run(
            root,
            "mgv2-zs",
            {
                "vsr": mc_samples("vsr", pattern(50, 25)),  # 50
                "tsi": mc_samples("tsi", pattern(50, 15)),
            },
            vlm="minigptv2",
        ),  # 30
        "mgv2-lorsu": write_run(
            root,
            "mgv2-lorsu",
            {
                "vsr": mc_samples("vsr", pattern(50, 25, offset=1)),  # 50: ties the baseline
                "tsi": mc_samples("tsi", pattern(50, 20)),
            },
            vlm="minigptv2",
            encoder="ckpt/lorsu.pt",
            label="LoRSU",
        ),  # 40
    }
    return runs


@pytest.fixture
def paper_runs(tmp_path) -> dict[str, Path]:
    return paper_run_set(tmp_path / "runs")
