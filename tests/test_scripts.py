"""One rule → one script → one library entry point: every rule has a script of its own, named after it, that makes
one call into the library through infscale.cli.run_logged."""

import re
from pathlib import Path

from rules_parse import TARGET_ONLY, rule_scripts

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def test_every_rule_has_its_own_script_named_after_it():
    rules = rule_scripts()
    assert len(rules) >= 29 and TARGET_ONLY <= set(rules)
    for name, script in rules.items():
        if name in TARGET_ONLY:
            assert script is None, name
            continue
        assert script == f"{name}.py", f"rule {name} runs {script}"
        assert (SCRIPTS / script).exists(), script
    # and no script is left over from a rule that is gone (the analysis dispatcher)
    assert {p.name for p in SCRIPTS.glob("*.py")} == {s for s in rules.values() if s}


def test_each_script_makes_one_logged_call_and_no_dispatch():
    for p in SCRIPTS.glob("*.py"):
        text = p.read_text()
        assert len(re.findall(r"\brun_logged\(", text)) == 1, p.name
        assert "snakemake.rule" not in text, p.name  # no dispatch on the rule name


def test_readme_stage_table_lists_exactly_the_rules():
    readme = (SCRIPTS.parents[1] / "README.md").read_text()
    table = readme[readme.index("| stage | rule |"):].split("\n\n")[0].splitlines()[2:]
    listed = [name for row in table for name in re.findall(r"`(\w+)`", row.split("|")[2])]
    assert sorted(listed) == sorted(rule_scripts())
