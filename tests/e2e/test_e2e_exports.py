"""In a real browser: build an ONNX export from a version page, watch it live, download it, run it; another
user gets 404 for the file (issue 13's done-when). On the embedded mode and with a separate Celery worker."""

from __future__ import annotations

import re

import numpy as np
import onnxruntime
import pytest
from e2e_helpers import graph_from_template

pytestmark = pytest.mark.e2e


def test_an_onnx_export_is_built_from_the_version_page_and_downloaded(login, any_site, shot, tmp_path):
    site = any_site
    alice = login("alice", on=site)
    graph_id = graph_from_template(alice, site, "resnet18")
    alice.goto(site.url(f"/graphs/{graph_id}/versions/1/"))
    panel = alice.locator("#artifacts")
    panel.locator("[data-testid=build-onnx]").click()

    # The row appears at once and follows the build live (no reload), to its download link.
    row = alice.locator('#artifacts [data-artifact^="onnx-"]')
    row.wait_for(timeout=10_000)
    stages = set()
    link = alice.locator("[data-testid=artifact-download-onnx]")
    for _ in range(1200):
        if link.count():
            break
        text = row.inner_text() if row.count() else ""
        stages.add(re.sub(r"\s+", " ", text))
        alice.wait_for_timeout(100)
    assert link.count(), f"no download link; the row showed {stages}"
    assert any("exporting" in s or "building" in s or "checking" in s for s in stages), stages
    page_shot = shot(alice, "onnx-ready")
    # The README's (docs/screenshots/). A late message may still swap the panel for a fresh copy: settle first.
    alice.wait_for_timeout(500)
    panel.screenshot(path=str(page_shot.with_name("exports-panel.png")))
    details = row.inner_text()
    assert "max difference" in details, details

    with alice.expect_download() as caught:
        link.click()
    download = caught.value
    assert re.fullmatch(r"resnet_?18_v1\.onnx", download.suggested_filename), download.suggested_filename
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    [logits] = session.run(None, {session.get_inputs()[0].name: np.random.rand(1, 3, 224, 224).astype(np.float32)})
    assert logits.shape == (1, 1000)

    href = link.get_attribute("href")
    bob = login("bob", on=site)
    assert bob.request.get(site.url(href)).status == 404
    assert bob.request.get(site.url(f"/graphs/{graph_id}/versions/1/")).status == 404
