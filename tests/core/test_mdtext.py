"""core.mdtext: text that cannot turn into markup."""

from imbcl.core.mdtext import escape


def test_brackets_before_parentheses_are_no_link():
    assert escape("effect = [a - b](rho)") == r"effect = [a - b]\(rho)"


def test_code_spans_are_left_as_written():
    assert escape("`[a](b)` and m*_s") == r"`[a](b)` and m\*\_s"
