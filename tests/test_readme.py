"""The README's custom model runs as written and learns."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code(heading: str) -> str:
    text = README.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"expected one python block under {heading!r}"
    return blocks[0]


def test_custom_model_example_trains(capsys):
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(_section_code("## Write your own VAE"), str(README), "exec"), namespace)
    history = namespace["result"].history
    assert history[-1]["val_elbo"] > history[0]["val_elbo"] + 5
    assert "validation ELBO" in capsys.readouterr().out
    # The example is a real composition of the library's boxes.
    model = namespace["model"]
    assert type(model.decoder_head).__name__ == "PoissonHead"
