"""The addon's copy of pipelock v2.3.0's default DLP patterns (bot_bottle_addon/dlp.py, which
the model lane's redaction classes are built on) and the pipelock test double's copy
(tests/pipelock_double/pipelock_double.py) say the same: the addon must not import the double,
so each holds its own list, and this keeps the two in step (name, regex, severity, validator).
"""

import importlib.util

from conftest import REPO

from bot_bottle_addon.dlp import PIPELOCK_DEFAULT_DLP_PATTERNS
from bot_bottle_addon.model_lane.patterns import CLASSES, LEFT_OUT


def _double():
    path = REPO / "tests" / "pipelock_double" / "pipelock_double.py"
    spec = importlib.util.spec_from_file_location("pipelock_double_in_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the double runs only under `__main__`
    return module


def _by_name(rows):
    out = {}
    for name, regex, severity, validator in rows:
        # pipelock's core floor repeats default patterns; a repeat must agree with the first
        assert out.setdefault(name, (regex, severity, validator)) == (regex, severity, validator), name
    return out


def test_the_addon_and_the_double_hold_the_same_default_patterns():
    double = _double()
    theirs = _by_name((n, rx, sev, val) for n, rx, sev, val, _line in
                      double.DEFAULT_DLP_PATTERNS + double.CORE_DLP_PATTERNS)
    ours = _by_name((n, rx, sev, val) for _line, n, rx, sev, val in PIPELOCK_DEFAULT_DLP_PATTERNS)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        assert ours[name] == theirs[name], name


def test_every_critical_and_high_pattern_has_a_redaction_class_on_the_model_lane():
    names = {n for _line, n, _rx, _sev, _val in PIPELOCK_DEFAULT_DLP_PATTERNS}
    assert set(CLASSES) == names - LEFT_OUT
    assert all(sev in ("low", "medium") for _l, n, _rx, sev, _v in PIPELOCK_DEFAULT_DLP_PATTERNS if n in LEFT_OUT)
