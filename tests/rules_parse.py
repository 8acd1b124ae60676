"""The rules of workflow/rules/*.smk read as text (no Snakemake): name → its script, or None."""

import re
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parents[1] / "workflow" / "rules"
SNAKEFILE = Path(__file__).resolve().parents[1] / "Snakefile"
HEAD = re.compile(r"^(?:rule|checkpoint) (\w+):", re.M)
SCRIPT = re.compile(r'^    script:\s*\n\s+"([^"]+)"', re.M)
TARGET_ONLY = {"all", "search_all"}  # rules that only name targets: no job, no script


def rule_scripts() -> dict[str, str | None]:
    out = {}
    for f in [SNAKEFILE, *sorted(RULES_DIR.glob("*.smk"))]:
        text = f.read_text()
        heads = list(HEAD.finditer(text))
        for h, nxt in zip(heads, heads[1:] + [None]):
            body = text[h.end(): nxt.start() if nxt else len(text)]
            m = SCRIPT.search(body)
            out[h.group(1)] = Path(m.group(1)).name if m else None
    return out
